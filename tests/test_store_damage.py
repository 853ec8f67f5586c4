"""A damaged session store: the app refuses to start on it, and one that breaks while the app
runs answers 503 in the one error shape, never with SQL or a driver's message.

Start-up is tested the way an operator meets it: `main.py` in its own process, on a DATA_DIR
whose session database was emptied, overwritten or replaced while the sessions' files stayed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import pytest
from google.adk.events.event import Event
from google.genai import types

from data_science.config import APP_NAME, Settings, load_settings
from data_science.storage.integrity import store_problem
from data_science.storage.session_store import open_session_store
from data_science.storage.workspace import Workspace
from tests.conftest import PROJECT_ROOT, LiveServer, free_port, fresh_postgres_database, store_frame

START_SECONDS = 240  # a busy machine takes minutes to import and warm up the app
# What a leaked statement or driver message would contain.
LEAKS = ("SELECT", "INSERT", "UPDATE", "sqlite", "[SQL", "OperationalError", "DatabaseError")


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
        "DATA_DIR": str(data_dir),
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "SHUTDOWN_DRAIN_SECONDS": "0",
        **extra,
    }


def start(data_dir: Path, **extra: str) -> tuple[bool, int | None, str]:
    """Run main.py until it exits or serves: (started, exit code, what it printed).

    A server that does neither within START_SECONDS is stopped and reported with code None.
    """
    env = server_env(data_dir, **extra)
    output = data_dir.parent / f"start-{env['PORT']}.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "main.py")],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started = False
        deadline = time.monotonic() + START_SECONDS
        while not started and process.poll() is None and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{env['PORT']}/healthz"
                started = httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        code = process.poll()
        if code is None:
            process.kill()
            process.wait(timeout=30)
    return started, code, output.read_text()


async def store_with_a_session(settings: Settings) -> Path:
    """DATA_DIR as a used app leaves it: one chat in the store, one dataset in its workspace."""
    service = open_session_store(settings)
    try:
        session = await service.create_session(app_name=APP_NAME, user_id="alice")
        message = types.Content(role="user", parts=[types.Part(text="describe my sales")])
        await service.append_event(session, Event(author="user", content=message))
    finally:
        await service.close()
    store_frame(Workspace(settings, "alice", session.id), pd.DataFrame({"a": [1, 2]}), "s.csv")
    return settings.sessions_dir / "sessions.db"


def emptied(db: Path) -> None:
    db.write_bytes(b"")


def header_overwritten(db: Path) -> None:
    with db.open("r+b") as handle:
        handle.write(os.urandom(4096))


def pages_overwritten(db: Path) -> None:
    """A valid header and schema page, then random bytes where the tables' pages were."""
    size = db.stat().st_size
    with db.open("r+b") as handle:
        handle.seek(4096)
        handle.write(os.urandom(size - 4096))


def replaced_by_another_database(db: Path) -> None:
    db.unlink()
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('not a session')")
    connection.close()


def removed(db: Path) -> None:
    db.unlink()


@pytest.mark.parametrize(
    "damage",
    [emptied, header_overwritten, pages_overwritten, replaced_by_another_database, removed],
    ids=["zero bytes", "header overwritten", "pages overwritten", "not ADK's tables", "missing"],
)
async def test_the_app_refuses_to_start_on_a_damaged_store_that_should_hold_sessions(
    settings: Settings, damage: Callable[[Path], None]
) -> None:
    db = await store_with_a_session(settings)
    damage(db)
    before = db.read_bytes() if db.exists() else None

    started, code, output = start(settings.DATA_DIR)

    assert not started, "the app served on a damaged session store"
    assert code not in (None, 0), output
    assert str(db) in output
    assert "backup" in output and "move" in output and str(settings.ready_dir) in output
    assert "Traceback" not in output
    after = db.read_bytes() if db.exists() else None
    assert after == before  # nothing "repaired" it into an empty store


def test_a_damaged_store_is_refused_even_without_sessions_files(settings: Settings) -> None:
    db = settings.sessions_dir / "sessions.db"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))

    started, code, output = start(settings.DATA_DIR)

    assert not started and code not in (None, 0)
    assert str(db) in output and "backup" in output and "move it aside" in output


@pytest.mark.parametrize("zero_byte_file", [False, True], ids=["brand-new", "zero-byte file"])
def test_a_new_data_dir_starts_empty(tmp_path: Path, zero_byte_file: bool) -> None:
    data_dir = tmp_path / "data"
    if zero_byte_file:  # a file that never held anything, with no session's files around it
        (data_dir / "sessions").mkdir(parents=True, mode=0o700)
        (data_dir / "sessions" / "sessions.db").write_bytes(b"")
    server = LiveServer(data_dir)
    try:
        server.start(START_SECONDS)
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
        created = httpx.post(f"{server.url}/apps/{APP_NAME}/users/alice/sessions", timeout=30)
        assert created.status_code == 200
    finally:
        server.stop()


async def test_an_empty_postgresql_database_is_refused_when_sessions_files_exist(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_frame(Workspace(settings, "alice", "a-session"), pd.DataFrame({"a": [1]}), "s.csv")
    async with fresh_postgres_database() as url:
        started, code, output = start(settings.DATA_DIR, SESSION_SERVICE_URI=url)
        assert not started and code not in (None, 0), output
        assert "dsagent_t_" in output and "dsagent:dsagent@" not in output  # no password
        assert "backup" in output
        # With ADK's tables in place (a store whose chats were all deleted) it may start.
        monkeypatch.setenv("SESSION_SERVICE_URI", url)
        current = load_settings()
        service = open_session_store(current)
        await service.prepare_tables()
        await service.close()
        assert await store_problem(current) is None


def assert_store_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    body = response.json()
    assert body["error"] == "store_unavailable" and body["message"]
    for leak in LEAKS:
        assert leak not in response.text, (response.request.url, response.text)


async def test_a_store_that_breaks_while_running_answers_503_without_sql(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir)
    sessions_url = f"/apps/{APP_NAME}/users/alice/sessions"
    try:
        server.start(START_SECONDS)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            session_id = (await http.post(sessions_url)).json()["id"]
            fields = {"user_id": "alice", "session_id": session_id}
            table = {"file": ("t.csv", b"a,b\n1,2\n", "text/csv")}
            assert (await http.post("/api/uploads", data=fields, files=table)).status_code == 201
            header_overwritten(data_dir / "sessions" / "sessions.db")
            turn = {
                "app_name": APP_NAME,
                "user_id": "alice",
                "session_id": session_id,
                "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
            }
            session_url = f"{sessions_url}/{session_id}"
            for response in [
                await http.post(sessions_url),
                await http.get(sessions_url),
                await http.get(session_url),
                await http.delete(session_url),
                await http.post("/run", json=turn),
                await http.post("/run_sse", json=turn),
                await http.post("/api/uploads", data=fields, files=table),
                await http.delete(f"/api/users/alice/sessions/{session_id}"),
                await http.delete("/api/users/alice"),
            ]:
                assert_store_unavailable(response)
            readiness = await http.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["checks"]["session_store"] != "ok"
            assert not any(leak in readiness.text for leak in LEAKS), readiness.text
            assert list((data_dir / "quarantine").iterdir()) == []  # the refused upload's bytes
            assert (await http.get("/healthz")).status_code == 200  # still serving
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines()]
    failures = [line for line in lines if line["event"] == "session_store.failed"]
    assert failures and all("alice" not in json.dumps(line) for line in failures)
