"""Two turns at once in one chat: the second is refused with 409 in the error shape, never a
500, and the history holds the first turn whole. Two instances of the real app share one
session store (SQLite or PostgreSQL), as replicas do, so the lock is the store's, not a
process's. The model is a scripted fake on 127.0.0.1 whose first answer is slow."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from data_science.config import APP_NAME, Settings, load_settings
from data_science.server.app import create_app
from data_science.server.turn_lock import LEASES, TurnLeases, lease_key
from tests.fake_llm import FakeLLM, Slow, Text

SLOW_SECONDS = 4


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def replica_settings(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    session_store_env: dict[str, str],
    fake: FakeLLM,
) -> Settings:
    env = {
        "LLM_MODEL": "openai/gpt-4o",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "LLM_API_BASE": fake.openai_base,
        **session_store_env,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.fixture
async def replicas(replica_settings: Settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two instances of the app, each with its own connections to the one session store."""
    apps = [create_app(replica_settings), create_app(replica_settings)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://127.0.0.1",
            timeout=120,
        )
        for app in apps
    ]
    yield clients
    for client, app in zip(clients, apps, strict=True):
        await client.aclose()
        await app.state.session_service.close()


def turn(session_id: str, text: str) -> dict[str, Any]:
    return {
        "appName": APP_NAME,
        "userId": "alice",
        "sessionId": session_id,
        "newMessage": {"role": "user", "parts": [{"text": text}]},
        "streaming": True,
    }


async def history(client: httpx.AsyncClient, session_id: str) -> list[tuple[str, str]]:
    session = await client.get(f"/apps/{APP_NAME}/users/alice/sessions/{session_id}")
    return [
        (event["author"], "".join(part.get("text", "") for part in event["content"]["parts"]))
        for event in session.json()["events"]
        if event.get("content")
    ]


async def wait_for_model_call(fake: FakeLLM, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(fake.chat_requests()) < count:
        assert time.monotonic() < deadline, "the first turn never reached the model"
        await asyncio.sleep(0.05)


def sse_texts(body: str) -> list[str]:
    events = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    return [
        part.get("text", "")
        for event in events
        for part in (event.get("content") or {}).get("parts", [])
    ]


async def test_a_second_turn_while_one_runs_gets_409_on_any_replica(
    replicas: list[httpx.AsyncClient], fake: FakeLLM
) -> None:
    first_replica, second_replica = replicas
    created = await first_replica.post(f"/apps/{APP_NAME}/users/alice/sessions")
    session_id = created.json()["id"]
    fake.script(Slow(SLOW_SECONDS, Text("first answer")), Text("third answer"))

    first = asyncio.create_task(
        first_replica.post("/run_sse", json=turn(session_id, "first question"))
    )
    await wait_for_model_call(fake, 1)  # the first turn is really running
    for client, route in ((second_replica, "/run_sse"), (first_replica, "/run")):
        refused = await client.post(route, json=turn(session_id, "second question"))
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "turn_in_progress"
        assert "already running in this chat" in refused.json()["message"]
    answered = await first
    assert answered.status_code == 200
    assert "first answer" in sse_texts(answered.text)

    # The lease went with the first turn's stream: the next turn runs, on the other replica.
    third = await second_replica.post("/run_sse", json=turn(session_id, "third question"))
    assert third.status_code == 200 and "third answer" in sse_texts(third.text)
    assert await history(first_replica, session_id) == [
        ("user", "first question"),
        ("data_scientist", "first answer"),
        ("user", "third question"),
        ("data_scientist", "third answer"),
    ]
    assert len(fake.chat_requests()) == 2  # the refused turns never reached the model


async def test_other_chats_are_not_held_up_by_a_running_turn(
    replicas: list[httpx.AsyncClient], fake: FakeLLM
) -> None:
    first_replica, second_replica = replicas
    sessions = [
        (await first_replica.post(f"/apps/{APP_NAME}/users/alice/sessions")).json()["id"]
        for _ in range(2)
    ]
    fake.script(Slow(SLOW_SECONDS, Text("slow answer")), Text("quick answer"))
    slow = asyncio.create_task(first_replica.post("/run_sse", json=turn(sessions[0], "slow")))
    await wait_for_model_call(fake, 1)
    quick = await second_replica.post("/run_sse", json=turn(sessions[1], "quick"))
    assert quick.status_code == 200 and "quick answer" in sse_texts(quick.text)
    assert not slow.done()
    assert (await slow).status_code == 200


async def test_a_crashed_replicas_lease_holds_the_chat_only_until_it_expires(
    replicas: list[httpx.AsyncClient], fake: FakeLLM
) -> None:
    client = replicas[0]
    session_id = (await client.post(f"/apps/{APP_NAME}/users/alice/sessions")).json()["id"]
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]
    engine = app.state.session_service.db_engine
    key = lease_key("alice", session_id)
    # What a replica killed mid-turn leaves behind: its lease, still within its lifetime.
    await TurnLeases(engine).acquire(key, "crashed-replica")
    blocked = await client.post("/run_sse", json=turn(session_id, "hello"))
    assert blocked.status_code == 409
    async with engine.begin() as connection:
        await connection.execute(update(LEASES).values(expires_at=time.time() - 1))
    fake.script(Text("after the lapse"))
    resumed = await client.post("/run_sse", json=turn(session_id, "hello"))
    assert resumed.status_code == 200 and "after the lapse" in sse_texts(resumed.text)
    async with engine.connect() as connection:
        assert (await connection.execute(select(LEASES))).all() == []  # released at the end


async def test_the_chat_is_free_before_the_last_bytes_of_an_answer_reach_the_client(
    settings: Settings,
) -> None:
    """A client that sends its next message the moment an answer ends must not meet a 409:
    the lease is gone before the final body message is sent, and held until then."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from starlette.types import Message, Receive, Scope, Send

    from data_science.server.turn_lock import TurnLock

    engine = create_async_engine(f"sqlite+aiosqlite:///{settings.DATA_DIR}/leases.db")
    leases = TurnLeases(engine)

    async def leases_held() -> int:
        async with engine.connect() as connection:
            return len((await connection.execute(select(LEASES))).all())

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"data: two\n\n", "more_body": False})

    seen: list[tuple[bytes, int]] = []

    async def client_side(message: Message) -> None:
        if message["type"] == "http.response.body":
            seen.append((message["body"], await leases_held()))

    body = json.dumps(turn("s1", "hello")).encode()
    sent = iter([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> Message:
        return next(sent)

    scope = {"type": "http", "method": "POST", "path": "/run_sse", "headers": []}
    try:
        await TurnLock(answer, leases)(scope, receive, client_side)
        assert seen == [(b"data: one\n\n", 1), (b"data: two\n\n", 0)]
        assert await leases.acquire(lease_key("alice", "s1"), "the next turn")
    finally:
        await engine.dispose()
