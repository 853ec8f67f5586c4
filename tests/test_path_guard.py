"""Hostile ids in every path parameter of every route of the real app (ADK's and ours) answer
4xx in the one error shape, create nothing and never reach the filesystem; the ids the app
itself makes still work. The router is walked, so a route added later is probed too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from data_science.config import APP_NAME, Settings
from data_science.server.app import create_app
from data_science.server.path_guard import RULES

PARAMETER = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")
# Each kind of id the attack probe sent, as it goes over the wire (percent-encoded: the server
# sees it decoded, and httpx would otherwise resolve `..` before sending).
HOSTILE = {
    "dot-dot": "%2E%2E",
    "dot": "%2E",
    "nul": "a%00b",
    "space": "%20",
    "leading-space": "%20a",
    "backslash": "a%5Cb",
    "long": "a" * 5000,
    "encoded-dot-dot": "%252e%252e",
    "control": "a%01b",
    "newline": "a%0Ab",
    "bidi": "a%E2%80%AEb",
    "zero-width": "a%E2%80%8Bb",
    "non-ascii": "%C3%A9t%C3%A9",
    "drive": "C:x",
}
# Only a `{name:path}` parameter keeps a slash inside the route; elsewhere it changes the route.
HOSTILE_PATHS = {
    "traversal": "..%2F..%2Fsecret",
    "absolute": "%2Fetc%2Fpasswd",
    "nested-traversal": "a%2F..%2F..%2F..%2Fx",
}


@dataclass(frozen=True)
class Probe:
    method: str
    template: str
    parameter: str
    kind: str
    path: str


def walk_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, including those of included routers."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from walk_routes(route.original_router.routes)
        else:
            yield route


def templates(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every HTTP route with a path parameter."""
    found = []
    for route in walk_routes(app.routes):
        if isinstance(route, APIRoute | Route) and PARAMETER.search(route.path):
            found += [
                (method, route.path) for method in sorted(set(route.methods or ()) - {"HEAD"})
            ]
    return found


def probes(app: FastAPI, valid: dict[str, str]) -> list[Probe]:
    """One request per route, method, path parameter and hostile kind; the other parameters
    hold valid values, so the hostile one is the only thing wrong."""
    made = []
    for method, template in templates(app):
        for match in PARAMETER.finditer(template):
            name, convertor = match.group(1), match.group(2)
            kinds = {**HOSTILE, **(HOSTILE_PATHS if convertor == "path" else {})}
            for kind, value in kinds.items():
                path = PARAMETER.sub(
                    lambda m, n=name, v=value: v if m.group(1) == n else valid[m.group(1)],
                    template,
                )
                made.append(Probe(method, template, name, kind, path))
    return made


def files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    yield app
    await app.state.session_service.close()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # A 500 comes back as a response (as a client would see it), not as a raised exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def session_rows(app: FastAPI) -> list[tuple[str, str, str]]:
    await app.state.session_service.prepare_tables()
    async with app.state.session_service.db_engine.connect() as connection:
        rows = await connection.execute(text("SELECT app_name, user_id, id FROM sessions"))
        return [(row[0], row[1], row[2]) for row in rows]


async def test_every_path_parameter_has_a_rule(app: FastAPI) -> None:
    names = {m.group(1) for _, t in templates(app) for m in PARAMETER.finditer(t)}
    assert {"app_name", "user_id", "session_id", "artifact_name", "item_id"} <= names
    assert names <= set(RULES), f"add a rule to path_guard.RULES for {names - set(RULES)}"


async def test_hostile_ids_in_every_path_parameter_answer_4xx_in_the_error_shape(
    app: FastAPI, http: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    session_id = (await http.post(f"/apps/{APP_NAME}/users/alice/sessions")).json()["id"]
    valid = {
        "app_name": APP_NAME,
        "user_id": "alice",
        "session_id": session_id,
        "artifact_name": "chart.png",
        "version_id": "1",
        "item_id": "ds_0123456789abcdef",
        "job_id": "0123456789ab",
        "call_id": "adk-0123",
    }
    before = files_under(tmp_path)
    sent = probes(app, valid)
    assert len(sent) > 500
    wrong = []
    for probe in sent:
        response = await http.request(probe.method, probe.path, json={})
        is_json = response.headers.get("content-type", "").startswith("application/json")
        body = response.json() if is_json else None
        shape = isinstance(body, dict) and set(body) == {"error", "message"}
        if not 400 <= response.status_code < 500 or not shape:
            wrong.append((response.status_code, probe.method, probe.template, probe.parameter))
            wrong[-1] += (probe.kind, response.text[:80])
    assert not wrong, f"{len(wrong)} of {len(sent)} probes answered wrongly: {wrong[:20]}"
    # Nothing was created: no session under another app or id, no file anywhere.
    assert await session_rows(app) == [(APP_NAME, "alice", session_id)]
    created = files_under(tmp_path) - before
    assert not [path for path in created if not path.name.startswith("sessions.db")], created
    assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("name", ["other_app", "Data_Science", "data_science2", "data-science"])
async def test_sessions_under_an_unknown_app_are_refused_with_404(
    app: FastAPI, http: httpx.AsyncClient, name: str
) -> None:
    response = await http.post(f"/apps/{name}/users/alice/sessions", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_app"
    assert f"/apps/{APP_NAME}/" in response.json()["message"]
    assert await session_rows(app) == []


@pytest.mark.parametrize(
    ("parameter", "path", "status", "error"),
    [
        ("user_id", "/api/users/a%E2%80%AEb", 400, "invalid_id"),
        ("session_id", "/api/users/alice/sessions/%2E%2E/files", 400, "invalid_id"),
        ("item_id", "/api/users/alice/sessions/s1/files/..%5Cx", 404, "unknown_file"),
        ("job_id", "/api/users/alice/sessions/s1/jobs/x%00/cancel", 404, "unknown_job"),
    ],
)
async def test_the_refusal_says_what_a_valid_id_looks_like(
    http: httpx.AsyncClient, parameter: str, path: str, status: int, error: str
) -> None:
    method = "POST" if path.endswith("/cancel") else "GET" if "/files" in path else "DELETE"
    response = await http.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert parameter in body["message"] and "look" in body["message"]


async def test_the_ids_the_app_makes_pass_the_guard(http: httpx.AsyncClient) -> None:
    """A session with an ADK id, and artifact names as the tools write them, reach the routes."""
    created = await http.post(f"/apps/{APP_NAME}/users/alice.smith@example.com/sessions")
    assert created.status_code == 200
    base = f"/apps/{APP_NAME}/users/alice.smith@example.com/sessions/{created.json()['id']}"
    for name in ("forecast_sales.png", "penguins (cleaned)-v2.csv", "report.xlsx"):
        assert (await http.get(f"{base}/artifacts/{name}")).status_code == 404  # not saved yet
        versions = await http.get(f"{base}/artifacts/{name}/versions/latest")
        assert versions.status_code == 404
        assert (await http.get(f"{base}/artifacts/{name}/versions")).json() == []


@pytest.mark.parametrize("session_id", ["..", "a\x00b", " ", "a" * 300, "a b", "x/y"])
async def test_a_session_cannot_be_created_under_an_id_its_paths_would_refuse(
    app: FastAPI, http: httpx.AsyncClient, session_id: str
) -> None:
    """ADK takes a session id in the creation body too; one no path can name would leave a
    session that no route, deletion or retention sweep could reach."""
    created = await http.post(
        f"/apps/{APP_NAME}/users/alice/sessions", json={"session_id": session_id}
    )
    assert created.status_code == 400
    assert "session_id" in created.text
    assert await session_rows(app) == []
    assert (await http.delete("/api/users/alice")).status_code == 404  # nothing stored


async def test_a_websocket_path_with_hidden_characters_is_closed_with_the_reason(
    app: FastAPI,
) -> None:
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/run_live\u202e",
        "raw_path": b"/run_live%E2%80%AE",
        "root_path": "",
        "query_string": f"app_name={APP_NAME}&user_id=alice&session_id=s1".encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
    }
    await app(scope, receive, send)
    assert [message["type"] for message in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008 and "bidi" in sent[0]["reason"]
