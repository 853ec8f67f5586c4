"""The chat as code: its notebook as a ZIP download, and the code of one step for the page.

`GET /api/users/{user_id}/sessions/{session_id}/notebook`: the notebook and its `data/` folder
(application/zip). `GET /api/users/{user_id}/sessions/{session_id}/code/{call_id}`: the code of
the step the chat page shows under that tool call. Both read the session as its user: another
user's session, or one that does not exist, is an `unknown_session`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from google.adk.sessions.session import Session
from starlette.background import BackgroundTask

from data_science.config import APP_NAME
from data_science.reproduce.code import PREAMBLE
from data_science.runtime.threads import run_blocking
from data_science.server.responses import error_response
from data_science.storage.workspace import Workspace
from data_science.tools.notebook import EXPORT_FILE, chat_code, export_chat

router = APIRouter()


async def _session(request: Request, user_id: str, session_id: str) -> Session | None:
    session: Session | None = await request.app.state.session_service.get_session(
        app_name=APP_NAME, user_id=user_id, session_id=session_id
    )
    return session


def _unknown_session() -> JSONResponse:
    return error_response(404, "unknown_session", "No such session for this user.")


@router.get("/api/users/{user_id}/sessions/{session_id}/notebook")
async def export_notebook(request: Request, user_id: str, session_id: str) -> Response:
    """The chat as a Jupyter notebook, zipped with the uploaded files it reads."""
    session = await _session(request, user_id, session_id)
    if session is None:
        return _unknown_session()
    workspace = Workspace(request.app.state.settings, user_id, session_id)
    path = await run_blocking(workspace.staging_path, EXPORT_FILE)
    try:
        await export_chat(workspace, session.events, path)
    except BaseException:
        await run_blocking(workspace.discard_staging, path)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        filename=EXPORT_FILE,
        background=BackgroundTask(workspace.discard_staging, path),
    )


@router.get("/api/users/{user_id}/sessions/{session_id}/code/{call_id}")
async def step_code(request: Request, user_id: str, session_id: str, call_id: str) -> Response:
    """The code of one step (the tool call `call_id`), named as in the exported notebook."""
    session = await _session(request, user_id, session_id)
    if session is None:
        return _unknown_session()
    workspace = Workspace(request.app.state.settings, user_id, session_id)
    cells = await chat_code(workspace, session.events)
    cell = next((cell for cell in cells if cell.call_id == call_id), None)
    if cell is None:
        return error_response(
            404,
            "unknown_call",
            "No successful step of this chat has that call id; failed steps have no code.",
        )
    shown: dict[str, Any] = {"call_id": cell.call_id, "tool": cell.tool, "preamble": PREAMBLE}
    shown.update({"code": cell.code} if cell.code else {"note": cell.note})
    return JSONResponse(shown)
