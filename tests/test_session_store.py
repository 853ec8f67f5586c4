"""The session store on SQLite and on PostgreSQL: readiness sees it, deletion empties it, and
SQLite overwrites what is deleted."""

from __future__ import annotations

import httpx
import pytest
from google.adk.events.event import Event
from google.genai import types
from sqlalchemy import text

from data_science.config import APP_NAME, Settings, load_settings
from data_science.server.app import create_app
from data_science.storage.session_store import forget_user_state, open_session_store

UNREACHABLE_POSTGRES = "postgresql+asyncpg://dsagent:dsagent@127.0.0.1:9/dsagent_test"


@pytest.fixture
def store_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, session_store_env: dict[str, str]
) -> Settings:
    for name, value in session_store_env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


async def readiness(settings: Settings) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.get("/readyz")
    await transport.app.state.session_service.close()  # type: ignore[attr-defined]
    return response


async def test_readiness_reports_the_session_store_ready(store_settings: Settings) -> None:
    response = await readiness(store_settings)
    assert response.status_code == 200
    assert response.json()["checks"]["session_store"] == "ok"


async def test_readiness_fails_when_the_database_is_unreachable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SERVICE_URI", UNREACHABLE_POSTGRES)
    response = await readiness(load_settings())
    assert response.status_code == 503
    assert "refused" in response.json()["checks"]["session_store"].lower()


async def test_deleting_a_users_sessions_and_state_leaves_no_row_naming_them(
    store_settings: Settings,
) -> None:
    service = open_session_store(store_settings)
    try:
        session = await service.create_session(app_name=APP_NAME, user_id="alice")
        await service.append_event(
            session,
            Event(
                author="user",
                content=types.Content(role="user", parts=[types.Part(text="my secret sales")]),
            ),
        )
        await service.delete_session(app_name=APP_NAME, user_id="alice", session_id=session.id)
        await forget_user_state(service, "alice")
        async with service.db_engine.connect() as connection:
            for table in ("sessions", "events", "user_states"):
                rows = await connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE user_id = 'alice'")  # noqa: S608
                )
                assert rows.scalar_one() == 0, table
    finally:
        await service.close()


async def test_sqlite_overwrites_deleted_rows(settings: Settings) -> None:
    service = open_session_store(settings)
    try:
        async with service.db_engine.connect() as connection:
            pragma = await connection.execute(text("PRAGMA secure_delete"))
            assert pragma.scalar_one() == 1
    finally:
        await service.close()
