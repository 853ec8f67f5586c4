"""A failing session store answers 503 in the one error shape, on every route (ADK's too).

The store raises only `SessionStoreUnavailable` (see `session_store.py`), which a route lets
through, or which ADK's session-creating route wraps in an `HTTPException` (a 500 carrying the
exception's text). Both become `{"error": "store_unavailable", "message": ...}` with 503, so a
client can tell "try again later" from a bug. A SQLAlchemy error raised past the guard (code that
uses the engine directly) is answered the same way and logged here. The SQL and the driver's
message only ever reach the server log.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from data_science.observability.logging import get_logger
from data_science.server.responses import error_response
from data_science.storage.session_store import SessionStoreUnavailable, describe_store_error

log = get_logger(__name__)
STORE_UNAVAILABLE = "store_unavailable"


def store_unavailable(error: Exception) -> JSONResponse:
    """The 503 for a store failure: which kind of failure, and to try again."""
    if not isinstance(error, SessionStoreUnavailable):
        error = SessionStoreUnavailable(describe_store_error(error))
    return error_response(503, STORE_UNAVAILABLE, str(error))


async def _on_store_failure(_: Request, error: Exception) -> Response:
    if not isinstance(error, SessionStoreUnavailable):  # not yet logged by the store's guard
        log.error(
            "session_store.failed",
            problem=describe_store_error(error),
            error=type(error).__name__,
            detail=str(error)[:1000],
        )
    return store_unavailable(error)


def install(app: FastAPI) -> None:
    """Register the handlers; an HTTPException not caused by the store keeps its old handler."""
    previous = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    async def on_http_exception(request: Request, error: Exception) -> Response:
        if isinstance(error.__cause__, SessionStoreUnavailable):
            return store_unavailable(error.__cause__)
        answer = previous(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(SessionStoreUnavailable, _on_store_failure)
    app.add_exception_handler(SQLAlchemyError, _on_store_failure)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
