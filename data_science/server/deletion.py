"""Deleting data: one file, a whole session, or everything a user has stored.

`DELETE /api/users/{user_id}/sessions/{session_id}/files/{item_id}` removes one file;
`DELETE /api/users/{user_id}/sessions/{session_id}` removes the session's files, its artifacts
(charts, downloads) and its history; `DELETE /api/users/{user_id}` does that for every session
of the user and removes what is left under their id. Deleted means gone from disk. Every
deletion is audited. The deleting itself is in `data_stores.py`, shared with the retention sweep.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from data_science.config import APP_NAME
from data_science.runtime.threads import run_blocking
from data_science.server.data_stores import DataStores, delete_session_data, delete_user_data
from data_science.server.responses import error_response
from data_science.storage.workspace import UnknownItem, Workspace

router = APIRouter()


async def _session_exists(stores: DataStores, user_id: str, session_id: str) -> bool:
    session = await stores.sessions.get_session(
        app_name=APP_NAME, user_id=user_id, session_id=session_id
    )
    return session is not None


def _unknown_session(session_id: str) -> JSONResponse:
    return error_response(
        404,
        "unknown_session",
        f"There is no session '{session_id}' for this user (it may be deleted already). "
        f"List yours with GET /apps/{APP_NAME}/users/<user_id>/sessions.",
    )


@router.delete("/api/users/{user_id}/sessions/{session_id}/files/{item_id}")
async def delete_file(
    request: Request, user_id: str, session_id: str, item_id: str
) -> JSONResponse:
    """Delete one uploaded or derived file of the session."""
    stores = DataStores.of(request)
    if not await _session_exists(stores, user_id, session_id):
        return _unknown_session(session_id)
    workspace = Workspace(stores.settings, user_id, session_id)
    try:
        record = await run_blocking(workspace.delete, item_id)
    except UnknownItem as error:
        return error_response(404, "unknown_file", str(error))
    await run_blocking(
        stores.audit.record,
        "deletion",
        user_id=user_id,
        scope="file",
        reason="request",
        session_id=session_id,
        item_id=record.id,
        kind=record.kind,
    )
    return JSONResponse({"deleted": {"file_id": record.id, "name": record.name}})


@router.delete("/api/users/{user_id}/sessions/{session_id}")
async def delete_session(request: Request, user_id: str, session_id: str) -> JSONResponse:
    """Delete the session: its files, artifacts and chat history."""
    stores = DataStores.of(request)
    if not await _session_exists(stores, user_id, session_id):
        return _unknown_session(session_id)
    removed = await delete_session_data(stores, user_id, session_id, reason="request")
    return JSONResponse({"deleted": removed})


@router.delete("/api/users/{user_id}")
async def delete_user(request: Request, user_id: str) -> JSONResponse:
    """Delete everything stored for the user: every session, file and artifact."""
    stores = DataStores.of(request)
    removed = await delete_user_data(stores, user_id, reason="request")
    if not any(removed.values()):
        return error_response(
            404,
            "nothing_stored",
            "Nothing is stored for this user: no sessions, files or artifacts.",
        )
    return JSONResponse({"deleted": removed})
