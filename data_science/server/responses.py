"""What our routes share: the one error shape, `{"error": code, "message": sentence}`.

Our routes answer with `error_response`; `install_error_shape` gives the same shape to what
FastAPI and Starlette raise on every route, ADK's included (`HTTPException`, request
validation, unknown paths and methods), which would otherwise answer `{"detail": ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

# The error code of a refusal that names none of its own, by HTTP status.
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
MAX_LISTED_PROBLEMS = 5


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A refusal in the error shape of every route of ours: a code and what would work."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def install_error_shape(app: FastAPI) -> None:
    """Answer FastAPI's and Starlette's own refusals in the one error shape."""
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _invalid_request)


async def _http_exception(_: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, HTTPException):  # registered for this type only
        raise error
    code = CODE_BY_STATUS.get(error.status_code, f"http_{error.status_code}")
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    message = {
        "Not Found": "Nothing here: check the path (the HTTP API is listed in the README).",
        "Method Not Allowed": "This path does not take this method; see the README's HTTP API.",
    }.get(detail, detail)
    return error_response(error.status_code, code, message, headers=error.headers)


async def _invalid_request(_: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError):  # registered for this type only
        raise error
    problems = [_problem(entry) for entry in error.errors()[:MAX_LISTED_PROBLEMS]]
    return error_response(
        422,
        "invalid_request",
        "The request does not have the fields this route takes: " + "; ".join(problems) + ".",
    )


def _problem(entry: dict[str, Any]) -> str:
    """One validation problem as `where: what` (the location without the `body` prefix)."""
    where = ".".join(str(part) for part in entry.get("loc", ()) if part not in ("body", "query"))
    return f"{where or 'body'}: {entry.get('msg', 'invalid')}"
