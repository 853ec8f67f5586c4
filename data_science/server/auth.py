"""Who is calling: one ASGI middleware in front of every route, so no route can be forgotten.

AUTH_MODE=none (local use) lets everything through. With AUTH_MODE=token (a bearer token from
AUTH_TOKENS) or AUTH_MODE=header (a user id a trusted proxy put in AUTH_HEADER), every request
except the probes and the chat page's own files must carry a credential (else 401), and the
credential's user is the only user a request may name: in its path (`/apps/<app>/users/<id>/…`,
`/api/users/<id>/…`), in its query (`?user_id=`, as `/run_live` takes it) or in a JSON body
(`/run`, `/run_sse`: `user_id` / `userId`, at any depth). Naming anyone else answers 403.
Routes that read the user from a form (the upload) call `request_user`, which gives the
credential's user.

The check judges what the route will use, never a second reading of it: a request with two
Content-Type or credential headers, a JSON body with a key twice (or both `user_id` and
`userId`), or a body that is neither JSON nor a form sent to a route that takes forms is
refused before any route runs, and the route receives exactly the bytes checked under exactly
one Content-Type. Every refusal is written to the audit trail, without the credential.
"""

from __future__ import annotations

import email.message
import hmac
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, params
from fastapi.routing import APIRoute
from python_multipart.multipart import parse_options_header
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_science.config import BEARER_TOKEN_PATTERN, USER_ID_PATTERN, Settings
from data_science.observability.audit import audit_log
from data_science.observability.logging import bind_request_context, get_logger
from data_science.runtime.threads import run_blocking

log = get_logger(__name__)
router = APIRouter()

PROBES = ("/healthz", "/readyz")
# Where the middleware leaves the caller's user id for the routes (an ASGI scope extension key).
USER_SCOPE_KEY = "data_science.user_id"
USER_IN_PATH = re.compile(r"^/(?:apps/[^/]+|api)/users/([^/]+)(?=/|$)")
USER_FIELDS = ("user_id", "userId")
FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# "Bearer", one space, the token (RFC 6750); the scheme in any case (RFC 9110 11.1).
BEARER_CREDENTIALS = re.compile(rb"(?i:bearer) (%b)" % BEARER_TOKEN_PATTERN.pattern.encode())
# Another scheme (`Basic …`): the caller has not sent a bearer token at all.
OTHER_SCHEME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ ")
OWS = b" \t"  # the optional whitespace around a field value (RFC 9110 5.6.3)
PARSE_IN_THREAD_BYTES = 256 * 1024


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
        self.header_name = settings.AUTH_HEADER
        self.header = settings.AUTH_HEADER.lower().encode("latin-1")
        # Compared as bytes with hmac.compare_digest: no early exit that times the match.
        self.tokens = [
            (token.encode("utf-8"), user) for token, user in settings.auth_users_by_token().items()
        ]
        self.audit = audit_log(settings)
        self._form_routes: list[APIRoute] | None = None  # found on the first request

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
            # Log lines name the caller, not the path's user.
            bind_request_context(self.settings, user_id=user)
            self._check_named_users(user, scope["path"], _query_users(scope))
            if scope["type"] == "http":
                checked = await self._check_body(user, scope, receive)
                if checked is None:  # the client went away while sending
                    return
                receive = checked
        except Refusal as refusal:
            await self._refuse(scope, receive, send, refusal, user)
            return
        scope[USER_SCOPE_KEY] = user
        await self.app(scope, receive, send)

    def _identify(self, scope: Scope) -> str:
        if self.mode == "header":
            return _proxy_user(_one_header(scope, self.header, self.header_name))
        presented = _bearer_token(_one_header(scope, b"authorization", "Authorization"))
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

    async def _check_body(self, user: str, scope: Scope, receive: Receive) -> Receive | None:
        """Judge the body exactly as the route will parse it, and hand the route only that.

        FastAPI parses a body as JSON when its (first) Content-Type is JSON, and as a form on a
        route declaring form fields; Starlette's `request.json()` parses whatever it gets. So:
        one Content-Type at most; a JSON body is parsed here and may name only the caller; a form
        goes only to a route that takes forms (which take the user from `request_user`); any
        other body is refused. The route then sees the bytes checked and one Content-Type.
        """
        content_type = _one_header(scope, b"content-type", "Content-Type")
        kind = _body_kind(content_type)
        if kind == "form" and self._takes_form(scope):
            return receive  # streamed to the route, which ignores any user id in the form
        if kind != "json":
            empty = await _body_is_empty(receive)  # reads only until the first byte
            if empty is None:
                return None
            if not empty:
                raise Refusal(415, "unsupported_media_type", self._advice(scope), "media_type")
            return replay_body(b"", receive)
        body = await _read_body(receive)
        if body is None:
            return None
        # Observability's sniffer may have bound the body's user id while it was read.
        bind_request_context(self.settings, user_id=user)
        if body:
            named = await _in_thread_if_large(_json_users, body)
            self._check_named_users(user, scope["path"], named)
        scope["headers"] = _canonical_headers(scope, content_type, len(body))
        return replay_body(body, receive)

    def _forms(self, scope: Scope) -> list[APIRoute]:
        if self._form_routes is None:  # the app's routes are all in place by its first request
            self._form_routes = form_routes(scope["app"].router.routes)
        return self._form_routes

    def _takes_form(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self._forms(scope))

    def _advice(self, scope: Scope) -> str:
        forms = sorted({route.path for route in self._forms(scope)})
        where = f" (a form only to {', '.join(forms)})" if forms else ""
        return (
            "This server reads request bodies as JSON: send one with the header "
            f"'Content-Type: application/json'{where}."
        )

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
        await run_blocking(
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
            if refusal.code == "invalid_token":
                challenge += ', error="invalid_token"'
            headers.append((b"www-authenticate", challenge.encode()))
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def form_routes(routes: Iterable[BaseRoute]) -> list[APIRoute]:
    """The routes that read a form: FastAPI's own form parameters, or a declared form body."""
    found: list[APIRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)  # an include_router()'d router
        if included is not None:
            found += form_routes(included.routes)
        elif isinstance(route, APIRoute) and _reads_form(route):
            found.append(route)
    return found


def _reads_form(route: APIRoute) -> bool:
    if route.body_field is not None and isinstance(route.body_field.field_info, params.Form):
        return True
    declared = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    return any(media in declared for media in FORM_MEDIA_TYPES)


def _one_header(scope: Scope, name: bytes, label: str) -> bytes | None:
    """The value of a header that must appear at most once; several copies answer 400.

    Servers and frameworks disagree on which copy counts (Starlette takes the first, a dict
    the last), so a request that sends two can be judged on one and served on the other.
    """
    values = [value for key, value in scope["headers"] if key.lower() == name]
    if len(values) > 1:
        raise Refusal(
            400,
            "ambiguous_request",
            f"This request has {len(values)} {label} headers; send exactly one.",
            "repeated_header",
        )
    return values[0] if values else None


def _bearer_token(credentials: bytes | None) -> bytes:
    """The token of `Authorization: Bearer <token>`, the one form accepted.

    RFC 9110 5.5: the spaces and tabs around a field value are not part of it (uvicorn strips
    the leading ones, h11 both), so they are dropped; nothing else is forgiven (two spaces, a
    tab or a no-break space inside, anything after the token).
    """
    value = (credentials or b"").strip(OWS)
    if not value or (OTHER_SCHEME.match(value) and value[:7].lower() != b"bearer "):
        raise Refusal(
            401,
            "unauthenticated",
            "Send your access token: add the header 'Authorization: Bearer <token>'.",
            "missing_token",
        )
    well_formed = BEARER_CREDENTIALS.fullmatch(value)
    if well_formed is None:
        raise Refusal(
            401,
            "invalid_token",
            "The Authorization header must be exactly 'Bearer <token>': one space, then "
            "the token as the operator gave it, with nothing else before or after.",
            "malformed_token",
        )
    return well_formed.group(1)


def _proxy_user(raw: bytes | None) -> str:
    """The user id the authenticating proxy put in its header (AUTH_MODE=header)."""
    value = (raw or b"").strip(OWS).decode("latin-1")
    if not value:
        raise Refusal(
            401,
            "unauthenticated",
            "Sign in first: this server takes the user from the authenticating proxy "
            "in front of it, and this request did not come through it.",
            "missing_header",
        )
    if not USER_ID_PATTERN.fullmatch(value):
        raise Refusal(
            401,
            "unauthenticated",
            "The proxy sent a user id this server cannot use (letters, digits and "
            ". _ @ + - only, at most 128 characters).",
            "bad_header",
        )
    return value


def _query_users(scope: Scope) -> list[str]:
    """The user ids the query names, parsed as Starlette parses it for the routes."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return [value for name, value in query if name in USER_FIELDS]


def _body_kind(content_type: bytes | None) -> str:
    """ "json", "form", "none" or "other": how FastAPI and Starlette would read the body.

    JSON is decided as FastAPI decides it (an `application/json` or `application/*+json` type,
    any case, any parameters); a form as Starlette's `request.form()` does.
    """
    if content_type is None:
        return "none"
    message = email.message.Message()
    try:
        message["content-type"] = content_type.decode("latin-1")
    except ValueError:
        return "other"
    subtype = message.get_content_subtype()
    if message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    ):
        return "json"
    media, _ = parse_options_header(content_type)
    return "form" if media.decode("latin-1") in FORM_MEDIA_TYPES else "other"


async def _body_is_empty(receive: Receive) -> bool | None:
    """Whether the request has no body (None if the client left), without reading it all."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message.get("body"):
            return False
        if not message.get("more_body", False):
            return True


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then listens to the client again."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _canonical_headers(scope: Scope, content_type: bytes | None, length: int) -> list[Any]:
    """The request's headers with one Content-Type and the length of the body replayed."""
    framing = {b"content-type", b"content-length", b"transfer-encoding"}
    headers = [
        (key.lower(), value) for key, value in scope["headers"] if key.lower() not in framing
    ]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    headers.append((b"content-length", str(length).encode()))
    return headers


async def _in_thread_if_large(check: Callable[[bytes], list[str]], body: bytes) -> list[str]:
    """Parse small bodies right here; a large one (inline attachments) off the event loop."""
    if len(body) > PARSE_IN_THREAD_BYTES:
        return await run_blocking(check, body)
    return check(body)


def _json_users(body: bytes) -> list[str]:
    """Every user id a JSON body names, at any depth, as `json.loads` (Starlette's) reads it.

    Refused: text that is not JSON, an object with a key twice (json.loads keeps the last,
    another parser the first) and an object naming both `user_id` and `userId` (pydantic
    prefers the alias) or naming a user with anything but a string.
    """
    try:
        parsed = json.loads(body, object_pairs_hook=_object_without_repeats)
    except _RepeatedKey as repeated:
        raise Refusal(400, "ambiguous_request", str(repeated), "duplicate_key") from None
    except (ValueError, RecursionError):
        raise Refusal(
            400,
            "invalid_json",
            "The request body is not valid JSON; send one JSON object (UTF-8).",
            "invalid_json",
        ) from None
    named: list[str] = []
    pending: list[Any] = [parsed]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending += value
        elif isinstance(value, dict):
            named += _users_of(value)
            pending += value.values()
    return named


def _users_of(obj: dict[str, Any]) -> list[str]:
    fields = [name for name in USER_FIELDS if name in obj]
    if len(fields) > 1:
        raise Refusal(
            400,
            "ambiguous_request",
            "The body names the user twice (user_id and userId); send one of them.",
            "duplicate_key",
        )
    if fields and not isinstance(obj[fields[0]], str):
        raise Refusal(
            400,
            "bad_request",
            f"'{fields[0]}' must be a string: your own user id.",
            "user_not_a_string",
        )
    return [obj[name] for name in fields]


class _RepeatedKey(ValueError):
    """A JSON object with the same key twice."""


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _RepeatedKey(
            "The JSON body has an object with the same key twice; send each key once."
        )
    return obj
