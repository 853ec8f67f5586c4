"""The session store: ADK's `DatabaseSessionService` on SESSION_SERVICE_URI (SQLite by default).

Opened in one place so the app and `verify_production.py` get the same store, with:
- SQLite set to overwrite deleted rows (a deleted chat must not linger in free pages of the
  database file); PostgreSQL marks deleted rows dead and reclaims them at its next (auto)vacuum;
- SQL parameters (user and session ids) left out of every database error (`hide_parameters`);
- every failure of the database (SQLAlchemy's errors, a driver's, a refused connection) turned
  into `SessionStoreUnavailable`, whose text is a sentence safe to show anyone. ADK's routes put
  an exception's text into their answers (a 500's `detail`, an SSE `error` event), so the store
  must never raise one that carries SQL or a driver's message; the detail goes to the log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.adk.events.event import Event
from google.adk.sessions.base_session_service import ListSessionsResponse
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.session import Session
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError

from data_science.config import APP_NAME, SESSION_ID_PATTERN, Settings
from data_science.observability.logging import get_logger

log = get_logger(__name__)
# ADK's table of per-user state (`user:` keys); ADK has no call that removes a user's row.
FORGET_USER_STATE = text("DELETE FROM user_states WHERE app_name = :app AND user_id = :user")
DRIVER_MODULES = frozenset({"asyncpg", "aiosqlite", "sqlite3", "psycopg", "psycopg2"})
# What a failure's text says, mapped to words that name no statement, value or driver.
FAILURE_KINDS = (
    (("refused", "connect call failed"), "the connection was refused"),
    (("timeout", "timed out"), "the database did not answer in time"),
    (("not a database", "malformed", "disk image", "corrupt"), "the database file is damaged"),
    (("no such table", "does not exist", "undefinedtable"), "ADK's tables are missing"),
    (("password", "authentication"), "the database refused the credentials"),
    (("readonly", "read-only", "permission denied", "unable to open"), "it cannot be opened"),
    (("disk is full", "no space"), "the disk is full"),
    (("locked", "busy"), "the database is locked by another process"),
)


class SessionStoreUnavailable(Exception):
    """The session store failed. `str()` is safe for a response; the detail is in the log."""

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(
            f"The session store cannot be used right now ({description}). Try again in a "
            "moment; if it persists, the operator will find the cause in the server log."
        )


def is_store_error(error: BaseException) -> bool:
    """A failure of the database or its driver (not of the caller's request)."""
    if isinstance(error, SQLAlchemyError | OSError | sqlite3.Error):
        return True
    return type(error).__module__.partition(".")[0] in DRIVER_MODULES


def describe_store_error(error: BaseException) -> str:
    """What went wrong, in words that quote no statement, value or driver message."""
    if isinstance(error, SessionStoreUnavailable):
        return error.description
    if isinstance(error, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(error, TimeoutError):
        return "the database did not answer in time"
    said = f"{type(getattr(error, 'orig', None) or error).__name__} {error}".lower()
    for needles, description in FAILURE_KINDS:
        if any(needle in said for needle in needles):
            return description
    return "the database answered with an error"


@contextmanager
def guarded(operation: str) -> Iterator[None]:
    """Turn a store failure inside the block into `SessionStoreUnavailable`, logging the detail."""
    try:
        yield
    except Exception as error:
        if not is_store_error(error):
            raise
        description = describe_store_error(error)
        # The statement is logged (without its parameters, hidden by the engine), never returned.
        log.error(
            "session_store.failed",
            operation=operation,
            problem=description,
            error=type(error).__name__,
            detail=str(error)[:1000],
        )
        raise SessionStoreUnavailable(description) from None


class GuardedSessionService(DatabaseSessionService):
    """ADK's database session service whose every call fails only with `SessionStoreUnavailable`."""

    async def prepare_tables(self) -> None:
        with guarded("prepare_tables"):
            await super().prepare_tables()

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        # Only under ids every route can name: ADK takes a client's id from the creation body,
        # where the path guard does not look.
        if session_id is not None and not SESSION_ID_PATTERN.fullmatch(session_id):
            # ADK's route answers a ValueError with 400 and this sentence.
            raise ValueError(
                "A session_id must be 1-128 ASCII letters, digits and . _ -, starting with a "
                "letter or digit; leave it out to get a new random id."
            )
        with guarded("create_session"):
            return await super().create_session(
                app_name=app_name, user_id=user_id, state=state, session_id=session_id
            )

    async def get_session(self, *args: Any, **kwargs: Any) -> Session | None:
        with guarded("get_session"):
            return await super().get_session(*args, **kwargs)

    async def list_sessions(self, *args: Any, **kwargs: Any) -> ListSessionsResponse:
        with guarded("list_sessions"):
            return await super().list_sessions(*args, **kwargs)

    async def delete_session(self, *args: Any, **kwargs: Any) -> None:
        with guarded("delete_session"):
            await super().delete_session(*args, **kwargs)

    async def append_event(self, session: Session, event: Event) -> Event:
        with guarded("append_event"):
            return await super().append_event(session, event)


def open_session_store(settings: Settings) -> GuardedSessionService:
    """The session service for this configuration (not yet connected: that happens lazily)."""
    service = GuardedSessionService(settings.session_db_uri, hide_parameters=True)
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
    with guarded("forget_user_state"):
        async with service.db_engine.begin() as connection:
            await connection.execute(FORGET_USER_STATE, {"app": APP_NAME, "user": user_id})
