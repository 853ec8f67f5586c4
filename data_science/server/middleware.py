"""Per-request observability: a request id, log context, the HTTP duration metric, an access log.

A plain ASGI middleware (no extra task, so context variables bound by the routes stay visible to
it, and streamed answers pass through untouched). It must be the outermost middleware, so it
measures and labels everything, authentication refusals included.

- Request id: an incoming `X-Request-ID` made of 1-128 letters, digits and `._:-` is kept;
  anything else is replaced by a fresh one. The id is echoed in the response's `X-Request-ID`.
- Log context: the request id, and the session id and hashed user when the path names them
  (`.../users/{user_id}/sessions/{session_id}...`) or a JSON body does (`/run`, `/run_sse`:
  the first 64 KiB are searched as the route reads them). The upload route binds the ids of
  its form itself, and the agent-turn plugin those of the turn.
- Metric: `http_server_request_duration_seconds` by method, route template (never the concrete
  path, which holds ids) and status; requests no route matched are labelled "unmatched".
  Every request is counted, `/metrics` itself included.
- Access log: one `http.request` line with the same labels and the duration. It replaces
  uvicorn's access log, whose raw paths would carry user ids.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_science.config import Settings
from data_science.observability.logging import bind_request_context, get_logger
from data_science.observability.metrics import HTTP_SERVER_REQUEST_DURATION

log = get_logger("http")
REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
IDS_IN_PATH = re.compile(r"/users/(?P<user>[^/]+)(?:/sessions/(?P<session>[^/]+))?")
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)
UNMATCHED = "unmatched"
SNIFF_BYTES = 64 * 1024
IDS_IN_JSON = re.compile(rb'"(user_id|userId|session_id|sessionId)"\s*:\s*"([^"\\]{1,256})"')


class ObservabilityMiddleware:
    """Request id, log context, duration metric and access log for every HTTP request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(Headers(scope=scope)) or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        ids = IDS_IN_PATH.search(scope.get("path", ""))
        bind_request_context(
            self.settings,
            request_id=request_id,
            user_id=ids["user"] if ids else None,
            session_id=ids["session"] if ids else None,
        )
        status = 500  # what the client gets if the app raises before answering
        receive = _naming_ids_in_json(scope, receive, self.settings)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
            route = route_template(scope)
            HTTP_SERVER_REQUEST_DURATION.labels(
                http_request_method=method, http_route=route, http_response_status_code=status
            ).observe(seconds)
            log.info(
                "http.request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )


def _naming_ids_in_json(scope: Scope, receive: Receive, settings: Settings) -> Receive:
    """`receive`, binding the user and session ids a JSON body names as the route reads it."""
    if b"json" not in Headers(scope=scope).get("content-type", "").encode():
        return receive
    seen = bytearray()
    found: dict[str, str] = {}

    async def receive_and_look() -> Message:
        message = await receive()
        if message["type"] == "http.request" and len(seen) < SNIFF_BYTES:
            seen.extend(message.get("body", b"")[: SNIFF_BYTES - len(seen)])
            for key, value in IDS_IN_JSON.findall(seen):
                name = "user_id" if key.startswith(b"user") else "session_id"
                found.setdefault(name, value.decode("utf-8", "replace"))
            bind_request_context(settings, **found)
        return message

    return receive_and_look


def incoming_request_id(headers: Headers) -> str | None:
    """The client's request id, if it is a harmless token (it ends up in logs and headers)."""
    value = headers.get(REQUEST_ID_HEADER)
    return value if value and SANE_REQUEST_ID.fullmatch(value) else None


def route_template(scope: Scope) -> str:
    """The matched route's path template (a mount's as `/prefix/{path}`), or "unmatched"."""
    route: Any = scope.get("route") or _matched_mount(scope)
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) and template else UNMATCHED


def _matched_mount(scope: Scope) -> Mount | None:
    """FastAPI's router records a matched route in the scope, but not a matched mount (the chat
    page's static files): find the mount whose app served the request."""
    router, endpoint = scope.get("router"), scope.get("endpoint")
    for candidate in getattr(router, "routes", ()):
        if isinstance(candidate, Mount) and candidate.app is endpoint:
            return candidate
    return None
