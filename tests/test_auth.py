"""Authentication: every route of the real app (ADK's and ours) answers 401 without a credential
and 403 when it names another user; the credential's user is the only one a request can act as."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from data_science.config import Settings, load_settings
from data_science.server.app import STATIC_DIR, create_app
from tests.conftest import LiveServer

APP = "data_science"
ALICE_TOKEN = "alice-token-0123456789abcdef"
BOB_TOKEN = "bob-token-0123456789abcdef01"
PII_SECRET = "p" * 40
ALICE = {"Authorization": f"Bearer {ALICE_TOKEN}"}
BOB = {"Authorization": f"Bearer {BOB_TOKEN}"}
PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")
SAMPLE_VALUES = {"app_name": APP, "user_id": "alice", "artifact_name": "chart.png"}


def auth_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in {"PII_HASH_SECRET": PII_SECRET, **env}.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
def token_app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    current = auth_settings(
        monkeypatch, AUTH_MODE="token", AUTH_TOKENS=f"alice:{ALICE_TOKEN}, bob:{BOB_TOKEN}"
    )
    return create_app(current)


@pytest.fixture
async def http(token_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=token_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def walk_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, including those of included routers."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from walk_routes(route.original_router.routes)
        else:
            yield route


def every_http_route(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) for every HTTP route the app serves, sample values filled in."""
    requests = []
    for route in walk_routes(app.routes):
        if not isinstance(route, APIRoute | Route):
            continue
        path = PARAMETER.sub(lambda m: SAMPLE_VALUES.get(m.group(1), "x1"), route.path)
        requests += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return requests


PUBLIC = {"/healthz", "/readyz"}


async def test_every_route_but_the_probes_answers_401_without_a_credential(
    http: httpx.AsyncClient, token_app: FastAPI
) -> None:
    routes = every_http_route(token_app)
    # The families the issue names are all among them (a route added later is covered too).
    paths = {path for _, path in routes}
    for family in (
        f"/apps/{APP}/users/alice/sessions",
        f"/apps/{APP}/users/alice/sessions/x1/artifacts",
        "/run",
        "/run_sse",
        "/api/uploads",
        "/api/users/alice/sessions/x1/files",
        "/api/users/alice/sessions/x1/files/x1",
        "/api/users/alice/sessions/x1",
        "/api/users/alice",
        "/api/users/alice/sessions/x1/jobs",
        "/api/status",
        "/api/whoami",
        "/metrics",
    ):
        assert family in paths, family
    for method, path in routes:
        response = await http.request(method, path, json={})
        if path in PUBLIC:
            assert response.status_code == 200, (method, path)
            continue
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"] == "unauthenticated"


async def test_a_wrong_token_is_refused_with_invalid_token(http: httpx.AsyncClient) -> None:
    response = await http.get(
        f"/apps/{APP}/users/alice/sessions", headers={"Authorization": "Bearer not-a-real-token-x"}
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "not valid" in response.json()["message"]


async def test_every_route_naming_another_user_answers_403(
    http: httpx.AsyncClient, token_app: FastAPI
) -> None:
    named = [(m, p) for m, p in every_http_route(token_app) if "/users/alice" in p]
    assert len(named) >= 20  # ADK's sessions, artifacts and memory; our files, deletes, jobs
    for method, path in named:
        response = await http.request(method, path, json={}, headers=BOB)
        assert response.status_code == 403, (method, path, response.text)
        assert "another user" in response.json()["message"]


@pytest.mark.parametrize("route", ["/run", "/run_sse"])
@pytest.mark.parametrize("field", ["user_id", "userId"])
async def test_run_bodies_naming_another_user_answer_403(
    http: httpx.AsyncClient, route: str, field: str
) -> None:
    body = {
        "app_name": APP,
        field: "alice",
        "session_id": "s1",
        "new_message": {"role": "user", "parts": [{"text": "hello"}]},
    }
    refused = await http.post(route, json=body, headers=BOB)
    assert refused.status_code == 403
    # The same body with the right credential reaches ADK (which knows no such session).
    allowed = await http.post(route, json=body, headers=ALICE)
    assert allowed.status_code not in (401, 403), allowed.text


async def test_own_requests_pass_and_whoami_names_the_credentials_user(
    http: httpx.AsyncClient,
) -> None:
    assert (await http.get("/api/whoami", headers=ALICE)).json() == {
        "user_id": "alice",
        "auth_mode": "token",
    }
    created = await http.post(f"/apps/{APP}/users/alice/sessions", headers=ALICE)
    assert created.status_code == 200 and created.json()["userId"] == "alice"
    listed = await http.get(f"/apps/{APP}/users/alice/sessions", headers=ALICE)
    assert [session["id"] for session in listed.json()] == [created.json()["id"]]


async def test_the_upload_ignores_the_forms_user_id_and_uses_the_credential(
    http: httpx.AsyncClient, penguins_csv: Path
) -> None:
    session_id = (await http.post(f"/apps/{APP}/users/alice/sessions", headers=ALICE)).json()["id"]
    with penguins_csv.open("rb") as handle:
        uploaded = await http.post(
            "/api/uploads",
            data={"user_id": "mallory", "session_id": session_id},
            files={"file": ("penguins.csv", handle, "text/csv")},
            headers=ALICE,
        )
    assert uploaded.status_code == 201, uploaded.text
    files = await http.get(f"/api/users/alice/sessions/{session_id}/files", headers=ALICE)
    assert [item["id"] for item in files.json()["files"]] == [uploaded.json()["file_id"]]
    # Bob cannot upload into Alice's session by naming her: the session is not his.
    with penguins_csv.open("rb") as handle:
        foreign = await http.post(
            "/api/uploads",
            data={"user_id": "alice", "session_id": session_id},
            files={"file": ("penguins.csv", handle, "text/csv")},
            headers=BOB,
        )
    assert foreign.status_code == 404


async def test_the_probes_and_the_chat_page_need_no_credential(http: httpx.AsyncClient) -> None:
    assets = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert assets
    for path in ["/", "/healthz", "/readyz"] + [f"/{p.relative_to(STATIC_DIR)}" for p in assets]:
        response = await http.get(path)
        assert response.status_code in (200, 503), (path, response.status_code)
        assert response.status_code != 401


async def test_each_refusal_is_audited_without_the_token_or_raw_user_ids(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await http.get(f"/apps/{APP}/users/alice/sessions")
    await http.get(f"/apps/{APP}/users/alice/sessions", headers={"Authorization": "Bearer wrong"})
    await http.get(f"/apps/{APP}/users/alice/sessions", headers=BOB)
    path = settings.audit_log_path
    records = [json.loads(line) for line in path.read_text().splitlines()]
    failures = [record for record in records if record["action"] == "auth_failure"]
    assert [(r["reason"], r["status"]) for r in failures] == [
        ("missing_token", 401),
        ("invalid_token", 401),
        ("foreign_user", 403),
    ]
    assert failures[2]["user"] is not None  # bob, hashed
    assert all(r["route"] == f"/apps/{APP}/users/{{user_id}}/sessions" for r in failures)
    text = path.read_text()
    for secret in (ALICE_TOKEN, BOB_TOKEN, "wrong", "alice", "bob"):
        assert secret not in text


@pytest.mark.parametrize(
    ("credential", "reason"),
    [(None, "access token"), (BOB_TOKEN, "another user")],
    ids=["no credential", "bob"],
)
async def test_the_live_websocket_is_refused_for_another_user_or_no_credential(
    token_app: FastAPI, credential: str | None, reason: str
) -> None:
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1")]
    if credential:
        headers.append((b"authorization", f"Bearer {credential}".encode()))
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/run_live",
        "raw_path": b"/run_live",
        "root_path": "",
        "query_string": f"app_name={APP}&user_id=alice&session_id=s1".encode(),
        "headers": headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
    }
    await token_app(scope, receive, send)
    assert [message["type"] for message in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008 and reason in sent[0]["reason"]


@pytest.fixture
async def header_http(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(monkeypatch, AUTH_MODE="header", AUTH_HEADER="X-Auth-User"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def test_header_mode_takes_the_user_from_the_proxys_header(
    header_http: httpx.AsyncClient,
) -> None:
    missing = await header_http.get(f"/apps/{APP}/users/alice/sessions")
    assert missing.status_code == 401 and "www-authenticate" not in missing.headers
    alice = {"X-Auth-User": "alice@example.org"}
    assert (await header_http.get("/api/whoami", headers=alice)).json()["user_id"] == (
        "alice@example.org"
    )
    own = await header_http.get(f"/apps/{APP}/users/alice@example.org/sessions", headers=alice)
    assert own.status_code == 200
    foreign = await header_http.get(f"/apps/{APP}/users/bob/sessions", headers=alice)
    assert foreign.status_code == 403
    unusable = await header_http.get("/api/whoami", headers={"X-Auth-User": "a/../b"})
    assert unusable.status_code == 401


async def test_without_auth_every_route_is_open_and_whoami_names_nobody(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/whoami")).json() == {"user_id": None, "auth_mode": "none"}
    assert (await client.get(f"/apps/{APP}/users/bob/sessions")).status_code == 200


async def test_the_running_app_serves_its_owner_and_refuses_everyone_else(
    tmp_path: Path, penguins_csv: Path
) -> None:
    server = LiveServer(
        tmp_path / "data",
        {
            "AUTH_MODE": "token",
            "AUTH_TOKENS": f"alice:{ALICE_TOKEN},bob:{BOB_TOKEN}",
            "PII_HASH_SECRET": PII_SECRET,
        },
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            sessions = f"/apps/{APP}/users/alice/sessions"
            assert (await http.get(sessions)).status_code == 401
            assert (await http.get(sessions, headers=BOB)).status_code == 403
            session_id = (await http.post(sessions, headers=ALICE)).json()["id"]
            with penguins_csv.open("rb") as handle:
                uploaded = await http.post(
                    "/api/uploads",
                    data={"user_id": "bob", "session_id": session_id},
                    files={"file": ("penguins.csv", handle, "text/csv")},
                    headers=ALICE,
                )
            assert uploaded.status_code == 201
            run = {
                "app_name": APP,
                "user_id": "alice",
                "session_id": session_id,
                "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
            }
            assert (await http.post("/run_sse", json=run, headers=BOB)).status_code == 403
            reply = await http.post("/run_sse", json=run, headers=ALICE)
            assert reply.status_code == 200 and "penguins.csv" in reply.text
            files_url = f"/api/users/alice/sessions/{session_id}/files"
            assert (await http.get(files_url, headers=BOB)).status_code == 403
            assert len((await http.get(files_url, headers=ALICE)).json()["files"]) == 1
            session_url = f"/api/users/alice/sessions/{session_id}"
            assert (await http.delete(session_url, headers=BOB)).status_code == 403
            assert (await http.delete(session_url, headers=ALICE)).status_code == 200
            assert (await http.get("/healthz")).status_code == 200
    finally:
        server.stop()


async def test_log_lines_name_the_caller_not_the_user_a_path_names(
    token_app: FastAPI, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from data_science.observability.logging import hash_user_id

    refused = await http.get(f"/apps/{APP}/users/alice/sessions", headers=BOB)
    assert refused.status_code == 403
    request_id = refused.headers["x-request-id"]
    mine = [
        record.msg
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("request_id") == request_id
    ]
    assert {line["event"] for line in mine} >= {"auth.refused", "http.request"}
    assert {line["user"] for line in mine} == {hash_user_id("bob", token_app.state.settings)}
