"""Errors that carry a message meant for the person (and the model), not a stack trace."""

from __future__ import annotations


class ToolError(Exception):
    """A request a tool cannot carry out: what is wrong and what would work.

    Picklable with its code, so it survives the trip back from a worker process.
    """

    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message
