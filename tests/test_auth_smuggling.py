"""Request smuggling against authentication: no trick lets one user's request act as another.

Bob is signed in; Alice owns a session holding a dataset. Bob sends every way of hiding Alice's
name from the identity check while FastAPI still reads it (doubled, case-varied and comma-joined
Content-Type headers, JSON media types with parameters, no Content-Type, form bodies, chunked
bodies, duplicate and escaped keys, both spellings of the field, nested and array bodies, the
query string, a doubled credential) to every route of the real app that takes a user, in token
and in header mode. Each must be refused in the one error shape, none may show Alice's data, and
Alice's chat must be as it was. Then the credential syntax itself, in process and on the wire.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from data_science.config import Settings
from data_science.server.app import create_app
from tests.conftest import LiveServer
from tests.test_auth import ALICE_TOKEN, APP, BOB_TOKEN, PII_SECRET, auth_settings, walk_routes

AUTH_HEADER = "X-Auth-User"
CREDENTIALS = {
    "token": {
        "alice": ("Authorization", f"Bearer {ALICE_TOKEN}".encode()),
        "bob": ("Authorization", f"Bearer {BOB_TOKEN}".encode()),
        "other": ("Authorization", b"Bearer not-a-valid-token-0000"),
    },
    "header": {
        "alice": (AUTH_HEADER, b"alice"),
        "bob": (AUTH_HEADER, b"bob"),
        "other": (AUTH_HEADER, b"alice"),
    },
}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# What a leak would show: the dataset's id (filled in per test) and its distinctive columns.
ALICE_COLUMNS = ("bill_length_mm", "flipper_length_mm", "body_mass_g")


@dataclass
class Victim:
    """Alice's session and what must never reach Bob."""

    session_id: str
    file_id: str
    csv: bytes

    def run_body(self, **fields: Any) -> dict[str, Any]:
        return {
            "app_name": APP,
            "user_id": "alice",
            "session_id": self.session_id,
            "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
            **fields,
        }


@dataclass
class Trick:
    """One request shape: its headers (besides Bob's credential), body and query."""

    status: int  # what the identity check answers on any route
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    body: Callable[[Victim], bytes] = lambda victim: b""
    params: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False
    credential: str | None = None  # a second credential header after Bob's
    form: bool = False  # a form body: a route that takes forms answers for itself


def as_json(make: Callable[[Victim], Any], encoding: str = "utf-8") -> Callable[[Victim], bytes]:
    return lambda victim: json.dumps(make(victim)).encode(encoding)


def raw_json(template: str) -> Callable[[Victim], bytes]:
    """A JSON text written by hand (duplicate or escaped keys), `{sid}` being Alice's session."""
    return lambda victim: template.replace("{sid}", victim.session_id).encode()


def multipart(victim: Victim) -> bytes:
    """A form naming Alice and her chat, with a small file of Bob's."""
    boundary = "smuggle"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("user_id", "alice"), ("session_id", victim.session_id))
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--{boundary}--\r\n"
    )
    return "".join(parts).encode()


JSON = ("Content-Type", b"application/json")
TEXT = ("Content-Type", b"text/plain")
ALICE_RUN = as_json(lambda victim: victim.run_body())
BOB_RUN = as_json(lambda victim: victim.run_body(user_id="bob"))
PAIRS = '{"app_name": "data_science", "session_id": "{sid}", '
TRICKS: dict[str, Trick] = {
    "json then text/plain": Trick(400, [JSON, TEXT], ALICE_RUN),
    "text/plain then json": Trick(400, [TEXT, JSON], ALICE_RUN),
    "json twice": Trick(400, [JSON, JSON], ALICE_RUN),
    "json then CONTENT-TYPE text/plain": Trick(
        400, [JSON, ("CONTENT-TYPE", b"text/plain")], ALICE_RUN
    ),
    "comma-joined types": Trick(
        415, [("Content-Type", b"application/json, text/plain")], ALICE_RUN
    ),
    "Application/JSON": Trick(403, [("Content-Type", b"Application/JSON")], ALICE_RUN),
    "CONTENT-TYPE name": Trick(403, [("CONTENT-TYPE", b"application/json")], ALICE_RUN),
    "+json": Trick(403, [("Content-Type", b"application/vnd.api+json")], ALICE_RUN),
    "charset=utf-16, utf-16 body": Trick(
        403,
        [("Content-Type", b"application/json; charset=utf-16")],
        as_json(lambda victim: victim.run_body(), "utf-16"),
    ),
    "charset=utf-16, utf-8 body": Trick(
        403, [("Content-Type", b"application/json; charset=utf-16")], ALICE_RUN
    ),
    "no Content-Type": Trick(415, [], ALICE_RUN),
    "text/plain": Trick(415, [TEXT], ALICE_RUN),
    "text/json": Trick(415, [("Content-Type", b"text/json")], ALICE_RUN),
    "form-urlencoded": Trick(
        415,
        [("Content-Type", b"application/x-www-form-urlencoded")],
        lambda victim: f"user_id=alice&session_id={victim.session_id}&app_name={APP}".encode(),
        form=True,
    ),
    "multipart": Trick(
        415,
        [("Content-Type", b"multipart/form-data; boundary=smuggle")],
        multipart,
        form=True,
    ),
    "chunked json": Trick(403, [JSON], ALICE_RUN, chunked=True),
    "chunked, json then text/plain": Trick(400, [JSON, TEXT], ALICE_RUN, chunked=True),
    "chunked, no Content-Type": Trick(415, [], ALICE_RUN, chunked=True),
    "user_id bob then alice": Trick(
        400, [JSON], raw_json(PAIRS + '"user_id": "bob", "user_id": "alice"}')
    ),
    "user_id alice then bob": Trick(
        400, [JSON], raw_json(PAIRS + '"user_id": "alice", "user_id": "bob"}')
    ),
    "user_id bob, userId alice": Trick(
        400, [JSON], as_json(lambda victim: victim.run_body(user_id="bob", userId="alice"))
    ),
    "userId alice, user_id bob": Trick(
        400, [JSON], raw_json(PAIRS + '"userId": "alice", "user_id": "bob"}')
    ),
    "escaped key": Trick(403, [JSON], raw_json(PAIRS + '"user\\u005fid": "alice"}')),
    "escaped key after bob": Trick(
        400, [JSON], raw_json(PAIRS + '"user_id": "bob", "user\\u005fid": "alice"}')
    ),
    "escaped value": Trick(403, [JSON], raw_json(PAIRS + '"user_id": "\\u0061lice"}')),
    "user_id as a list": Trick(
        400, [JSON], as_json(lambda victim: victim.run_body(user_id=["alice"]))
    ),
    "user_id as an object": Trick(
        400, [JSON], as_json(lambda victim: victim.run_body(user_id={"user_id": "alice"}))
    ),
    "nested user_id": Trick(
        403,
        [JSON],
        as_json(lambda victim: victim.run_body(user_id="bob", state_delta={"user_id": "alice"})),
    ),
    "array body": Trick(403, [JSON], as_json(lambda victim: [victim.run_body()])),
    "broken JSON": Trick(400, [JSON], lambda victim: ALICE_RUN(victim)[:-1]),
    "query user_id": Trick(403, [JSON], BOB_RUN, params=[("user_id", "alice")]),
    "query userId": Trick(403, [JSON], BOB_RUN, params=[("userId", "alice")]),
    "query bob then alice": Trick(
        403, [JSON], BOB_RUN, params=[("user_id", "bob"), ("user_id", "alice")]
    ),
    "query escaped name": Trick(403, [JSON], BOB_RUN, params=[("user%5Fid", "alice")]),
    "second credential": Trick(400, [JSON], BOB_RUN, credential="other"),
}


def takes_a_form(spec: dict[str, Any], method: str, path: str) -> bool:
    """Whether the app's OpenAPI description says the route reads a form body."""
    operation = spec["paths"].get(path.replace(":path}", "}"), {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    return any(media in content for media in FORM_TYPES)


def body_takes_a_user(route: APIRoute) -> bool:
    if route.body_field is None:
        return False
    return "user_id" in getattr(route.body_field.field_info.annotation, "model_fields", {})


def identity_routes(app: FastAPI) -> list[tuple[str, str, bool]]:
    """(method, path template, takes a form) of every route that learns a user from a request."""
    spec = app.openapi()
    found = []
    for route in walk_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            form = takes_a_form(spec, method, route.path)
            if "{user_id}" in route.path or form or body_takes_a_user(route):
                found.append((method, route.path, form))
    return found


def concrete(path: str, victim: Victim) -> str:
    """The path as Bob would send it: his own user id, Alice's session and file ids."""
    values = {"app_name": APP, "user_id": "bob", "session_id": victim.session_id}
    for name in ("artifact_name:path", "item_id", "job_id", "version_id"):
        values[name] = victim.file_id
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", value)
    return path


@dataclass
class Arena:
    http: httpx.AsyncClient
    app: FastAPI
    mode: str
    victim: Victim
    settings: Settings

    def credential(self, who: str) -> tuple[str, bytes]:
        return CREDENTIALS[self.mode][who]

    async def alices_view(self) -> list[Any]:
        """Everything Alice can see of her data: her sessions, this chat, its files."""
        alice = [self.credential("alice")]
        sessions = f"/apps/{APP}/users/alice/sessions"
        files = f"/api/users/alice/sessions/{self.victim.session_id}/files"
        return [
            (await self.http.get(sessions, headers=alice)).json(),
            (await self.http.get(f"{sessions}/{self.victim.session_id}", headers=alice)).json(),
            (await self.http.get(files, headers=alice)).json(),
        ]


MODE_ENV = {
    "token": {"AUTH_MODE": "token", "AUTH_TOKENS": f"alice:{ALICE_TOKEN},bob:{BOB_TOKEN}"},
    "header": {"AUTH_MODE": "header", "AUTH_HEADER": AUTH_HEADER},
}


@pytest.fixture(params=sorted(MODE_ENV))
async def arena(
    request: pytest.FixtureRequest,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    penguins_csv: Path,
) -> AsyncIterator[Arena]:
    mode: str = request.param
    current = auth_settings(monkeypatch, **MODE_ENV[mode])
    app = create_app(current)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        alice = [CREDENTIALS[mode]["alice"]]
        created = await http.post(f"/apps/{APP}/users/alice/sessions", headers=alice)
        session_id = created.json()["id"]
        csv = penguins_csv.read_bytes()
        uploaded = await http.post(
            "/api/uploads",
            data={"session_id": session_id},
            files={"file": ("penguins.csv", csv, "text/csv")},
            headers=alice,
        )
        assert uploaded.status_code == 201, uploaded.text
        victim = Victim(session_id, uploaded.json()["file_id"], csv[:2000])
        yield Arena(http, app, mode, victim, current)


async def send(arena: Arena, method: str, path: str, trick: Trick) -> httpx.Response:
    headers = [arena.credential("bob"), *trick.headers]
    if trick.credential:
        headers.append(arena.credential(trick.credential))
    body = trick.body(arena.victim)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    query = "&".join(f"{name}={value}" for name, value in trick.params)
    url = f"{path}?{query}" if query else path
    content: bytes | AsyncIterator[bytes] = chunks() if trick.chunked else body
    return await arena.http.request(method, url, headers=headers, content=content)


def in_error_shape(response: httpx.Response) -> bool:
    """`{"error": <code>, "message": <sentence>}`, the one error shape of our routes."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"error", "message"} and bool(body["message"])


def auth_failures(settings: Settings) -> int:
    path = settings.audit_log_path
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return sum(1 for record in records if record["action"] == "auth_failure")


async def test_no_trick_lets_bob_act_as_alice_on_any_route(arena: Arena) -> None:
    routes = identity_routes(arena.app)
    templates = {path for _, path, _ in routes}
    for family in (
        "/run",
        "/run_sse",
        "/api/uploads",
        "/api/users/{user_id}/sessions/{session_id}",
        "/apps/{app_name}/users/{user_id}/sessions/{session_id}",
    ):
        assert family in templates, family
    before = await arena.alices_view()
    secrets = (arena.victim.file_id, *ALICE_COLUMNS)
    audited_before = auth_failures(arena.settings)
    refused_by_auth, problems = 0, []
    for method, template, takes_form in routes:
        path = concrete(template, arena.victim)
        for name, trick in TRICKS.items():
            response = await send(arena, method, path, trick)
            where = f"{name!r} {method} {template}: {response.status_code} {response.text[:300]}"
            if any(secret in response.text for secret in secrets):
                problems.append(f"LEAK {where}")
            if takes_form and trick.form:  # the upload answers: not multipart, or not his chat
                expected = {400, 404}
            else:
                expected = {trick.status}
                refused_by_auth += 1
            if response.status_code not in expected or not in_error_shape(response):
                problems.append(f"expected {sorted(expected)}, got {where}")
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)
    assert await arena.alices_view() == before
    assert auth_failures(arena.settings) - audited_before == refused_by_auth


async def test_the_same_requests_without_tricks_still_work(arena: Arena) -> None:
    """Bob's own well-formed requests pass: the checks refuse ambiguity, not JSON or forms."""
    bob = [arena.credential("bob")]
    created = await arena.http.post(
        f"/apps/{APP}/users/bob/sessions",
        headers=[*bob, ("Content-Type", b"application/json; charset=utf-8")],
        content=b'{"state": {"note": "mine"}}',
    )
    assert created.status_code == 200, created.text
    session_id = created.json()["id"]
    uploaded = await arena.http.post(
        "/api/uploads",
        data={"session_id": session_id},
        files={"file": ("p.csv", arena.victim.csv, "text/csv")},
        headers=bob,
    )
    assert uploaded.status_code == 201, uploaded.text
    run = json.dumps(
        {
            "appName": APP,
            "userId": "bob",
            "sessionId": session_id,
            "newMessage": {"role": "user", "parts": [{"text": "list my files"}]},
        }
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(run), 5):
            yield run[start : start + 5]

    reply = await arena.http.post(
        "/run",
        headers=[*bob, ("Content-Type", b"Application/Vnd.Example+JSON")],
        content=chunks(),
    )
    assert reply.status_code == 200, reply.text
    assert uploaded.json()["file_id"] in reply.text
    assert arena.victim.file_id not in reply.text


ALICE_BEARER = ALICE_TOKEN.encode()
# Authorization values and what they get: 200 (Alice), or the refusal's error code (401).
BEARER_CASES: list[tuple[bytes, int | str]] = [
    (b"Bearer " + ALICE_BEARER, 200),
    (b"bearer " + ALICE_BEARER, 200),
    (b"BEARER " + ALICE_BEARER, 200),
    (b"bEaReR " + ALICE_BEARER, 200),
    # Spaces and tabs around a field value are not part of it (RFC 9110 5.5).
    (b"Bearer " + ALICE_BEARER + b" \t ", 200),
    (b" \tBearer " + ALICE_BEARER, 200),
    (b"Bearer  " + ALICE_BEARER, "invalid_token"),
    (b"Bearer\t" + ALICE_BEARER, "invalid_token"),
    (b"Bearer\xa0" + ALICE_BEARER, "invalid_token"),
    (b"\xa0Bearer " + ALICE_BEARER, "invalid_token"),
    (b"Bearer " + ALICE_BEARER + b"\xa0", "invalid_token"),
    (b"Bearer " + ALICE_BEARER + b" junk", "invalid_token"),
    (b"Bearer " + ALICE_BEARER + b",", "invalid_token"),
    (b"Bearer " + ALICE_BEARER + b";", "invalid_token"),
    (b"Bearer=" + ALICE_BEARER, "invalid_token"),
    (b"Bearer" + ALICE_BEARER, "invalid_token"),
    (ALICE_BEARER, "invalid_token"),
    (b"Bearer " + ALICE_BEARER.upper(), "invalid_token"),
    (b"Bearer", "invalid_token"),
    (b"Basic " + ALICE_BEARER, "unauthenticated"),
    (b"", "unauthenticated"),
]


def check_whoami(status: int, body: dict[str, Any], expected: int | str, where: Any) -> None:
    if expected == 200:
        assert (status, body["user_id"]) == (200, "alice"), where
    else:
        assert (status, body["error"]) == (401, expected), where


@pytest.fixture
async def token_http(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(monkeypatch, **MODE_ENV["token"]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def test_a_bearer_credential_is_exactly_scheme_space_token(
    token_http: httpx.AsyncClient,
) -> None:
    """What reaches the middleware unchanged (httpx sends these bytes as they are)."""
    for value, expected in BEARER_CASES:
        response = await token_http.get("/api/whoami", headers=[("Authorization", value)])
        check_whoami(response.status_code, response.json(), expected, value)
        if expected == "invalid_token":
            assert 'error="invalid_token"' in response.headers["www-authenticate"], value
    doubled = await token_http.get(
        "/api/whoami",
        headers=[("Authorization", b"Bearer " + ALICE_BEARER), ("Authorization", b"Bearer x")],
    )
    assert doubled.status_code == 400 and doubled.json()["error"] == "ambiguous_request"


async def test_the_proxys_user_header_is_held_to_the_same_syntax(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(auth_settings(monkeypatch, **MODE_ENV["header"]))
    cases: list[tuple[list[tuple[str, bytes]], int]] = [
        ([(AUTH_HEADER, b"alice")], 200),
        ([(AUTH_HEADER, b" alice\t")], 200),  # spaces and tabs around a value are not in it
        ([(AUTH_HEADER, b"alice\xa0")], 401),
        ([(AUTH_HEADER, b"\xa0alice")], 401),
        ([(AUTH_HEADER, b"al ice")], 401),
        ([(AUTH_HEADER, b"alice,bob")], 401),
        ([(AUTH_HEADER, b"alice\x0b")], 401),
        ([(AUTH_HEADER, b"")], 401),
        ([(AUTH_HEADER, b"bob"), (AUTH_HEADER, b"alice")], 400),
        ([(AUTH_HEADER, b"alice"), (AUTH_HEADER.upper(), b"alice")], 400),
    ]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        for headers, expected in cases:
            response = await http.get("/api/whoami", headers=headers)
            assert response.status_code == expected, (headers, response.text)
            if expected == 200:
                assert response.json()["user_id"] == "alice"
            else:
                assert in_error_shape(response), headers


def over_the_wire(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send raw bytes to the server and read its whole answer (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        request_line, _, headers = head.partition(b"\r\n")
        extra = b"Host: 127.0.0.1\r\nConnection: close\r\n"
        connection.sendall(request_line + b"\r\n" + extra + headers + body)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def wire_attempts(run: bytes) -> list[tuple[bytes, bytes, int]]:
    """(headers, body, status) of raw requests as Bob, each with a body naming Alice."""
    length = f"Content-Length: {len(run)}\r\n".encode()
    chunked = b"%x\r\n%b\r\n0\r\n\r\n" % (len(run), run)
    json_type, text_type = b"Content-Type: application/json\r\n", b"Content-Type: text/plain\r\n"
    return [
        (json_type + text_type + length, run, 400),
        (b"Content-type: text/plain\r\ncontent-TYPE: application/json\r\n" + length, run, 400),
        (text_type + b" application/json\r\n" + length, run, 400),  # folded: uvicorn refuses
        (json_type + b"Transfer-Encoding: chunked\r\n", chunked, 403),
        (text_type + b"Transfer-Encoding: chunked\r\n", chunked, 415),
        (json_type + b"Transfer-Encoding: chunked\r\n" + length, chunked, 400),  # uvicorn
        (json_type + length, run, 403),
    ]


def test_over_the_wire_credentials_and_content_types_are_judged_as_served(
    tmp_path: Path, penguins_csv: Path
) -> None:
    """The real server (uvicorn) in front: what it passes on, strips or refuses itself."""
    env = {**MODE_ENV["token"], "PII_HASH_SECRET": PII_SECRET}
    server = LiveServer(tmp_path / "data", env).start()
    alice = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            session_id = http.post(f"/apps/{APP}/users/alice/sessions", headers=alice).json()["id"]
            with penguins_csv.open("rb") as handle:
                uploaded = http.post(
                    "/api/uploads",
                    data={"session_id": session_id},
                    files={"file": ("penguins.csv", handle, "text/csv")},
                    headers=alice,
                )
            file_id = uploaded.json()["file_id"]
            chat = f"/apps/{APP}/users/alice/sessions/{session_id}"
            before = http.get(chat, headers=alice).json()
        run = json.dumps(Victim(session_id, file_id, b"").run_body()).encode()
        bob = f"Authorization: Bearer {BOB_TOKEN}\r\n".encode()
        for route in ("/run", "/run_sse"):
            for headers, body, expected in wire_attempts(run):
                head = f"POST {route} HTTP/1.1\r\n".encode() + bob + headers + b"\r\n"
                status, answer = over_the_wire(server.port, head, body)
                assert file_id.encode() not in answer and b"bill_length_mm" not in answer
                assert status == expected, (route, headers, answer)
        for value, expected_whoami in BEARER_CASES:
            head = b"GET /api/whoami HTTP/1.1\r\nAuthorization: " + value + b"\r\n\r\n"
            status, answer = over_the_wire(server.port, head)
            check_whoami(status, json.loads(answer), expected_whoami, value)
        with httpx.Client(base_url=server.url, timeout=120) as http:
            assert http.get(chat, headers=alice).json() == before
    finally:
        server.stop()
