"""Every route answers a wrong request in the one error shape, `{"error", "message"}`: ours, the
authentication middleware's and ADK's (whose refusals FastAPI would otherwise write as
`{"detail": ...}`). The router is walked, so a route added later is held to it too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from data_science.config import APP_NAME, Settings
from data_science.server.app import create_app
from tests.test_auth import ALICE_TOKEN, auth_settings
from tests.test_path_guard import PARAMETER, walk_routes

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ALL_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# Ids of the right form that name nothing: the route itself (not the path guard) refuses them.
ABSENT = {
    "app_name": APP_NAME,
    "user_id": "alice",
    "session_id": "no-such-session",
    "artifact_name": "no-such-chart.png",
    "version_id": "7",
    "item_id": "ds_0123456789abcdef",
    "job_id": "0123456789ab",
}


def is_error_shape(response: httpx.Response) -> bool:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return False
    body = response.json()
    return (
        isinstance(body, dict)
        and set(body) == {"error", "message"}
        and all(isinstance(body[key], str) and body[key] for key in body)
    )


def wrong_requests(app: FastAPI) -> list[tuple[str, str, str, bytes | None]]:
    """(why, method, path, body) for each route: a malformed JSON body where it takes one, ids
    that name nothing, and a method it does not take."""
    sent = []
    for route in walk_routes(app.routes):
        if not isinstance(route, APIRoute | Route) or not route.methods:
            continue
        path = PARAMETER.sub(lambda match: ABSENT.get(match.group(1), "x"), route.path)
        for method in sorted(route.methods - {"HEAD"}):
            body = b"{not json" if method in BODY_METHODS else None
            sent.append(("malformed body" if body else "absent ids", method, path, body))
        other = sorted(ALL_METHODS - set(route.methods))
        if other:
            sent.append(("method not taken", other[0], path, None))
    return sent


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    yield app
    await app.state.session_service.close()


async def test_every_route_refuses_in_the_one_error_shape(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        sent = wrong_requests(app)
        assert len(sent) > 40
        refused, wrong = 0, []
        for why, method, path, body in sent:
            headers = {"content-type": "application/json"} if body else {}
            response = await http.request(method, path, content=body, headers=headers)
            if response.status_code < 400:
                continue  # e.g. an empty list of sessions: nothing wrong to say
            refused += 1
            if response.status_code >= 500 or not is_error_shape(response):
                wrong.append((why, method, path, response.status_code, response.text[:100]))
        assert not wrong, f"{len(wrong)} refusals out of shape: {wrong[:10]}"
        assert refused > len(sent) // 2  # the probes really were refused, not answered


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/whoami", {}, 401),
        ("/api/whoami", {"authorization": "Bearer not-a-token-anyone-has"}, 401),
        ("/api/users/bob/sessions/s1/files", {"authorization": f"Bearer {ALICE_TOKEN}"}, 403),
        ("/no/such/page", {"authorization": f"Bearer {ALICE_TOKEN}"}, 404),
    ],
    ids=["no-credential", "unknown-token", "another-user", "unknown-path"],
)
async def test_the_authentication_middleware_refuses_in_the_same_shape(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    current = auth_settings(monkeypatch, AUTH_MODE="token", AUTH_TOKENS=f"alice:{ALICE_TOKEN}")
    app = create_app(current)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.get(path, headers=headers)
    await app.state.session_service.close()
    assert response.status_code == status
    assert is_error_shape(response), response.text
