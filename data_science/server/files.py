"""`GET /api/users/{user_id}/sessions/{session_id}/files`: what a session holds, for the page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from data_science.config import APP_NAME
from data_science.runtime.threads import run_blocking
from data_science.server.responses import error_response
from data_science.storage.workspace import Workspace

router = APIRouter()


@router.get("/api/users/{user_id}/sessions/{session_id}/files")
async def list_files(request: Request, user_id: str, session_id: str) -> JSONResponse:
    """The session's uploaded and derived files, oldest first (ids, names, shapes; no paths)."""
    session = await request.app.state.session_service.get_session(
        app_name=APP_NAME, user_id=user_id, session_id=session_id
    )
    if session is None:
        return error_response(404, "unknown_session", "No such session for this user.")
    workspace = Workspace(request.app.state.settings, user_id, session_id)
    records = await run_blocking(workspace.items)
    return JSONResponse({"files": [record.public() for record in records]})
