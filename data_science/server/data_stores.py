"""Everything that holds a user's data, and removing a session's or a user's data from all of it.

The deletion routes (`deletion.py`) and the retention sweep (`retention.py`) delete through these
functions, so a person's request and an expiry remove the same things, audited the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.sessions.database_session_service import DatabaseSessionService

from data_science.config import APP_NAME, Settings
from data_science.observability.audit import AuditTrail, audit_log
from data_science.runtime.jobs import job_table, jobs
from data_science.runtime.threads import run_blocking
from data_science.storage.session_store import forget_user_state
from data_science.storage.workspace import (
    Workspace,
    artifact_user_dir,
    prune_empty_dirs,
    remove_user_files,
)

USER_SCOPED_PREFIX = "user:"  # ADK artifacts that belong to the user, not to one session


@dataclass(frozen=True)
class DataStores:
    """Everything that holds a user's data."""

    settings: Settings
    sessions: DatabaseSessionService
    artifacts: BaseArtifactService

    @property
    def audit(self) -> AuditTrail:
        return audit_log(self.settings)

    @classmethod
    def of(cls, request: Request) -> DataStores:
        state = request.app.state
        return cls(state.settings, state.session_service, state.artifact_service)


async def delete_session_data(
    stores: DataStores, user_id: str, session_id: str, *, reason: str
) -> dict[str, Any]:
    """Remove a session's files, artifacts and history (in that order, so a failure half-way
    leaves the session listed and the call can be repeated). Returns what was removed."""
    # A running job, on any replica, must not write into a session being removed.
    for job in jobs.for_session(user_id, session_id):
        job.cancel.set()
    table = job_table(stores.sessions)
    if table is not None:
        await table.request_cancel(user_id, session_id)
    workspace = Workspace(stores.settings, user_id, session_id)
    files = await run_blocking(workspace.remove_all)
    keys = await stores.artifacts.list_artifact_keys(
        app_name=APP_NAME, user_id=user_id, session_id=session_id
    )
    session_keys = [key for key in keys if not key.startswith(USER_SCOPED_PREFIX)]
    for key in session_keys:
        await stores.artifacts.delete_artifact(
            app_name=APP_NAME, user_id=user_id, session_id=session_id, filename=key
        )
    await run_blocking(prune_empty_dirs, artifact_user_dir(stores.settings, APP_NAME, user_id))
    await stores.sessions.delete_session(app_name=APP_NAME, user_id=user_id, session_id=session_id)
    removed = {"session_id": session_id, "files": files, "artifacts": len(session_keys)}
    await run_blocking(
        stores.audit.record, "deletion", user_id=user_id, scope="session", reason=reason, **removed
    )
    return removed


async def delete_user_data(stores: DataStores, user_id: str, *, reason: str) -> dict[str, Any]:
    """Remove every session of the user (as above), then whatever else is kept under their id.

    Audited when anything was there to remove.
    """
    listed = await stores.sessions.list_sessions(app_name=APP_NAME, user_id=user_id)
    sessions = [
        await delete_session_data(stores, user_id, session.id, reason=reason)
        for session in listed.sessions
    ]
    # Files of sessions that no longer exist, and artifacts kept for the user across sessions.
    leftover_files = await run_blocking(remove_user_files, stores.settings, user_id)
    user_keys = await stores.artifacts.list_artifact_keys(
        app_name=APP_NAME, user_id=user_id, session_id=None
    )
    for key in user_keys:
        await stores.artifacts.delete_artifact(
            app_name=APP_NAME, user_id=user_id, session_id=None, filename=key
        )
    await run_blocking(prune_empty_dirs, artifact_user_dir(stores.settings, APP_NAME, user_id))
    await forget_user_state(stores.sessions, user_id)
    removed = {
        "sessions": len(sessions),
        "files": sum(item["files"] for item in sessions) + leftover_files,
        "artifacts": sum(item["artifacts"] for item in sessions) + len(user_keys),
    }
    if any(removed.values()):
        await run_blocking(
            stores.audit.record, "deletion", user_id=user_id, scope="user", reason=reason, **removed
        )
    return removed
