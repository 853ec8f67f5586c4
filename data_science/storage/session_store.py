"""The session store: ADK's `DatabaseSessionService` on SESSION_SERVICE_URI (SQLite by default).

Opened in one place so the app and `verify_production.py` get the same store, with SQLite set
to overwrite deleted rows (a deleted chat must not linger in free pages of the database file).
PostgreSQL marks deleted rows dead and reclaims them at its next (auto)vacuum.
"""

from __future__ import annotations

from typing import Any

from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.session import Session
from sqlalchemy import event, text

from data_science.config import APP_NAME, SESSION_ID_PATTERN, Settings

# ADK's table of per-user state (`user:` keys); ADK has no call that removes a user's row.
FORGET_USER_STATE = text("DELETE FROM user_states WHERE app_name = :app AND user_id = :user")


class SessionStore(DatabaseSessionService):
    """ADK's store, creating sessions only under ids every route can name (ADK takes a client's
    id from the creation body, where the path guard does not look)."""

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        if session_id is not None and not SESSION_ID_PATTERN.fullmatch(session_id):
            # ADK's route answers a ValueError with 400 and this sentence.
            raise ValueError(
                "A session_id must be 1-128 ASCII letters, digits and . _ -, starting with a "
                "letter or digit; leave it out to get a new random id."
            )
        return await super().create_session(
            app_name=app_name, user_id=user_id, state=state, session_id=session_id
        )


def open_session_store(settings: Settings) -> DatabaseSessionService:
    """The session service for this configuration (not yet connected: that happens lazily)."""
    service = SessionStore(settings.session_db_uri)
    if service.db_engine.dialect.name == "sqlite":
        event.listen(service.db_engine.sync_engine, "connect", _overwrite_deleted_content)
    return service


def _overwrite_deleted_content(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


async def forget_user_state(service: DatabaseSessionService, user_id: str) -> None:
    """Remove the user's state row, the last place the store keeps their id after sessions go."""
    await service.prepare_tables()
    async with service.db_engine.begin() as connection:
        await connection.execute(FORGET_USER_STATE, {"app": APP_NAME, "user": user_id})
