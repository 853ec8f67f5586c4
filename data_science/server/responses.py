"""What our routes share: the one error shape, `{"error": code, "message": sentence}`."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """A refusal in the error shape of every route of ours: a code and what would work."""
    return JSONResponse({"error": code, "message": message}, status_code=status)
