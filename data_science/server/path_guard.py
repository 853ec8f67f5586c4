"""Every path parameter of every route, ADK's and ours, is checked before the route runs.

ADK's routes hand their path ids straight to the artifact store, which builds folder names from
them: an id such as `..`, a NUL, a blank or 5,000 characters made it raise (ADK's
`InputValidationError`, Python's "embedded null byte", the filesystem's "File name too long")
and the client got a 500; an unknown app name created sessions under apps that do not exist.
This ASGI middleware matches the request against the app's routes as Starlette's router does
(so a route added later is covered), and checks each path parameter by its name against the
form of the ids this app makes, with a length limit. A bad one answers 4xx in the one error
shape `{"error", "message"}`, saying what a valid one looks like:

- an app name other than the one app: 404 `unknown_app`;
- ids a client may choose (user ids, session ids, artifact names): 400 `invalid_id`;
- ids only the server mints (file and job ids, artifact versions): 404, as for a well-formed id
  that names nothing, with the code the route itself uses.

It sits inside the authentication middleware, so a caller without a credential learns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from data_science.config import APP_NAME, SESSION_ID_PATTERN, USER_ID_PATTERN
from data_science.intake.validators import BIDI_AND_INVISIBLE_CHARACTERS
from data_science.observability.logging import get_logger
from data_science.server.responses import error_response
from data_science.storage.workspace import ITEM_ID

log = get_logger(__name__)


@dataclass(frozen=True)
class IdRule:
    """What a valid value of one path parameter looks like, and how a bad one is answered."""

    pattern: re.Pattern[str]
    status: int
    error: str
    looks_like: str


def _invalid(pattern: re.Pattern[str], looks_like: str) -> IdRule:
    return IdRule(pattern, 400, "invalid_id", looks_like)


# Artifact names as the tools write them (tools/base.py `artifact_filename`, chart slugs):
# ASCII letters, digits, spaces and . _ ( ) -, not starting or ending with a space or a dot,
# optionally in ADK's `user:` namespace; no folders.
ARTIFACT_NAME = re.compile(r"(?:user:)?(?![ .])[A-Za-z0-9 ._()-]{1,200}(?<![ .])")
JOB_ID = re.compile(r"[0-9a-f]{12}")  # jobs.py: uuid4().hex[:12]
CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
VERSION_ID = re.compile(r"latest|[0-9]{1,9}")

RULES: dict[str, IdRule] = {
    "app_name": IdRule(
        re.compile(re.escape(APP_NAME)),
        404,
        "unknown_app",
        f"this server runs one app, '{APP_NAME}': use paths that start /apps/{APP_NAME}/",
    ),
    "user_id": _invalid(
        USER_ID_PATTERN,
        "a user_id looks like 1-128 ASCII letters, digits and . _ @ + - (not dots alone)",
    ),
    "session_id": _invalid(
        SESSION_ID_PATTERN,
        "a session_id looks like the id creating a session returns: 1-128 ASCII letters, "
        "digits and . _ -, starting with a letter or digit",
    ),
    "artifact_name": _invalid(
        ARTIFACT_NAME,
        "an artifact_name looks like the names the chat shows, such as 'forecast_sales.png': "
        "1-200 ASCII letters, digits, spaces and . _ ( ) -, no folders, not starting or ending "
        "with a space or a dot",
    ),
    "version_id": IdRule(
        VERSION_ID,
        404,
        "unknown_version",
        "a version_id looks like 'latest' or a version number such as 0",
    ),
    "item_id": IdRule(
        re.compile(ITEM_ID.pattern.removeprefix("^").removesuffix("$")),
        404,
        "unknown_file",
        "a file's item_id looks like 'ds_' followed by 16 hex digits, as the upload returns",
    ),
    "job_id": IdRule(
        JOB_ID, 404, "unknown_job", "a job_id looks like 12 hex digits, as the job list shows"
    ),
    # Tool call ids come from ADK (`adk-` and a UUID) or from a hosted model (`call_…`).
    "call_id": IdRule(
        CALL_ID,
        404,
        "unknown_call",
        "a call_id looks like the id of a tool call in the chat's events, such as 'adk-' and a "
        "UUID: 1-128 ASCII letters, digits and . _ : -",
    ),
}
# A parameter of a route added later without a rule of its own gets the strictest common form
# (tests/test_path_guard.py fails until the route's parameters have rules).
DEFAULT_RULE = _invalid(
    SESSION_ID_PATTERN, "an id looks like 1-128 ASCII letters, digits and . _ -"
)

# Control, bidi and invisible characters: in no path this server answers (Starlette's `{name:path}`
# and the chat page's files would not even match a newline, and answer a bare 404).
UNPRINTABLE = re.compile(f"[\\x00-\\x1f\\x7f{BIDI_AND_INVISIBLE_CHARACTERS}]")


class PathGuard:
    """Refuses a request whose route's path parameters are not of the form their names need."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = refusal_for(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _refuse(scope, receive, send, *refusal)


def refusal_for(scope: Scope) -> tuple[int, str, str] | None:
    """(status, error code, message) for a request with a bad path parameter, else None."""
    matched = match_route(scope)
    if matched is not None:
        route, params = matched
        for name, value in params.items():
            rule = RULES.get(name, DEFAULT_RULE)
            if not rule.pattern.fullmatch(value):
                scope["route"] = route  # the access log and metrics name the route's template
                return (
                    rule.status,
                    rule.error,
                    f"The {name} in this path is not valid: " + (f"{rule.looks_like}."),
                )
    if UNPRINTABLE.search(scope["path"]):
        return (
            400,
            "invalid_path",
            "This path holds control, bidi or invisible characters, which no route or file here "
            "has; remove them and retry.",
        )
    return None


def match_route(scope: Scope) -> tuple[Route | WebSocketRoute, dict[str, str]] | None:
    """The route Starlette's router will pick for this request and its raw path parameters:
    the first whose path and method match, else the first whose path matches (it answers 405).
    Mounts (the chat page's files) are left to themselves."""
    path: str = scope["path"]
    partial: tuple[Route | WebSocketRoute, dict[str, str]] | None = None
    for prefix, route in leaf_routes(scope["app"].router.routes):
        if not path.startswith(prefix) or (scope["type"] == "http") != isinstance(route, Route):
            continue
        found = route.path_regex.match(path[len(prefix) :])
        if found is None:
            continue
        params = found.groupdict()
        methods = route.methods if isinstance(route, Route) else None
        if methods is None or scope.get("method") in methods:
            return route, params
        partial = partial or (route, params)
    return partial


def leaf_routes(
    routes: Iterable[BaseRoute], prefix: str = ""
) -> Iterator[tuple[str, Route | WebSocketRoute]]:
    """(prefix, route) for every route in routing order, inside included routers too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            inner = prefix + getattr(getattr(route, "include_context", None), "prefix", "")
            yield from leaf_routes(included.routes, inner)
        elif isinstance(route, Route | WebSocketRoute):
            yield prefix, route


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, error: str, message: str
) -> None:
    route = getattr(scope.get("route"), "path", None)
    log.warning("path_guard.refused", route=route, error=error, status=status)
    if scope["type"] == "websocket":
        await receive()  # the websocket.connect message
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    await error_response(status, error, message)(scope, receive, send)
