"""Who is calling: one ASGI middleware in front of every route, so no route can be forgotten.

AUTH_MODE=none (local use) lets everything through. With AUTH_MODE=token (a bearer token from
AUTH_TOKENS) or AUTH_MODE=header (a user id a trusted proxy put in AUTH_HEADER), every request
except the probes and the chat page's own files must carry a credential (else 401), and the
credential's user is the only user a request may name: in its path (`/apps/<app>/users/<id>/…`,
`/api/users/<id>/…`), in its query (`?user_id=`, as `/run_live` takes it) or in a JSON body
(`/run`, `/run_sse`: `user_id` / `userId`). Naming anyone else answers 403. Routes that read the
user from a form (the upload) call `request_user`, which gives the credential's user.
Every refusal is written to the audit trail, without the credential.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_science.config import USER_ID_PATTERN, Settings
from data_science.observability.audit import audit_log
from data_science.observability.logging import bind_request_context, get_logger

log = get_logger(__name__)
router = APIRouter()

PROBES = ("/healthz", "/readyz")
# Where the middleware leaves the caller's user id for the routes (an ASGI scope extension key).
USER_SCOPE_KEY = "data_science.user_id"
USER_IN_PATH = re.compile(r"^/(?:apps/[^/]+|api)/users/([^/]+)(?=/|$)")
USER_FIELDS = ("user_id", "userId")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def public_paths(static_dir: Path) -> frozenset[str]:
    """The probes, the chat page and its assets: what anyone may fetch without a credential."""
    files = (path for path in static_dir.rglob("*") if path.is_file())
    return frozenset(
        {*PROBES, "/", *(f"/{path.relative_to(static_dir).as_posix()}" for path in files)}
    )


def request_user(request: Request) -> str | None:
    """The authenticated caller's user id, or None when AUTH_MODE=none."""
    user = request.scope.get(USER_SCOPE_KEY)
    return user if isinstance(user, str) else None


@router.get("/api/whoami")
async def whoami(request: Request) -> dict[str, str | None]:
    """The user the credential belongs to, so the chat page knows whose sessions to open."""
    settings: Settings = request.app.state.settings
    return {"user_id": request_user(request), "auth_mode": settings.AUTH_MODE}


class Refusal(Exception):
    """A request the middleware turns away: status, error code, sentence, audit reason."""

    def __init__(self, status: int, code: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason


class AuthMiddleware:
    """Authenticates every HTTP and WebSocket request and pins it to the credential's user."""

    def __init__(self, app: ASGIApp, settings: Settings, public: frozenset[str]) -> None:
        self.app = app
        self.settings = settings
        self.mode = settings.AUTH_MODE
        self.public = public
        self.header = settings.AUTH_HEADER.lower().encode("latin-1")
        # Compared as bytes with hmac.compare_digest: no early exit that times the match.
        self.tokens = [
            (token.encode("utf-8"), user) for token, user in settings.auth_users_by_token().items()
        ]
        self.audit = audit_log(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.mode == "none" or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        user: str | None = None
        try:
            user = self._identify(scope)
            bind_request_context(
                self.settings, user_id=user
            )  # log lines name the caller, not the path's user
            self._check_named_users(user, scope["path"], _query_users(scope))
            if scope["type"] == "http" and _may_carry_json(scope):
                body = await _read_body(receive)
                if body is None:  # the client went away while sending
                    return
                self._check_named_users(user, scope["path"], _body_users(body))
                receive = _replay(body, receive)
        except Refusal as refusal:
            await self._refuse(scope, receive, send, refusal, user)
            return
        scope[USER_SCOPE_KEY] = user
        await self.app(scope, receive, send)

    def _identify(self, scope: Scope) -> str:
        headers: dict[bytes, bytes] = dict(scope["headers"])
        if self.mode == "header":
            raw = headers.get(self.header, b"").decode("latin-1").strip()
            if not raw:
                raise Refusal(
                    401,
                    "unauthenticated",
                    "Sign in first: this server takes the user from the authenticating proxy "
                    "in front of it, and this request did not come through it.",
                    "missing_header",
                )
            if not USER_ID_PATTERN.fullmatch(raw):
                raise Refusal(
                    401,
                    "unauthenticated",
                    "The proxy sent a user id this server cannot use (letters, digits and "
                    ". _ @ + - only, at most 128 characters).",
                    "bad_header",
                )
            return raw
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal(
                401,
                "unauthenticated",
                "Send your access token: add the header 'Authorization: Bearer <token>'.",
                "missing_token",
            )
        presented = token.strip().encode("utf-8")
        user: str | None = None
        for known, owner in self.tokens:
            if hmac.compare_digest(presented, known):
                user = owner
        if user is None:
            raise Refusal(
                401,
                "invalid_token",
                "This access token is not valid here; ask the operator for yours.",
                "invalid_token",
            )
        return user

    def _check_named_users(self, user: str, path: str, named: Iterable[str]) -> None:
        owner = USER_IN_PATH.match(path)
        others = {name for name in [*named, *(owner.groups() if owner else ())] if name != user}
        if others:
            raise Refusal(
                403,
                "forbidden",
                f"This request names another user. Signed in as '{user}', you can only use "
                f"your own sessions and files (paths with /users/{user}/).",
                "foreign_user",
            )

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, refusal: Refusal, user: str | None
    ) -> None:
        route = USER_IN_PATH.sub(
            lambda match: match.group(0).replace(match.group(1), "{user_id}"), scope["path"]
        )
        log.warning("auth.refused", reason=refusal.reason, status=refusal.status, route=route)
        await asyncio.to_thread(
            self.audit.record,
            "auth_failure",
            user_id=user,
            reason=refusal.reason,
            status=refusal.status,
            method=scope.get("method", "WEBSOCKET"),
            route=route,
        )
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.message})
            return
        body = json.dumps({"error": refusal.code, "message": refusal.message}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if refusal.status == 401 and self.mode == "token":
            challenge = 'Bearer realm="data-science-agent"'
            if refusal.reason == "invalid_token":
                challenge += ', error="invalid_token"'
            headers.append((b"www-authenticate", challenge.encode()))
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _query_users(scope: Scope) -> list[str]:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return [value for name in USER_FIELDS for value in query.get(name, [])]


def _may_carry_json(scope: Scope) -> bool:
    """A body FastAPI would parse as JSON (it also does so without a Content-Type)."""
    if scope.get("method") not in BODY_METHODS:
        return False
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").lower()
    return not content_type or "json" in content_type


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then listens to the client again."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _body_users(body: bytes) -> list[str]:
    """The user ids a JSON object body names at its top level (what ADK's request models read)."""
    if not body.strip():
        return []
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return []  # not JSON: the route answers 422 itself
    if not isinstance(parsed, dict):
        return []
    return [str(parsed[name]) for name in USER_FIELDS if name in parsed]
