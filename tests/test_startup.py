"""Start-up (issue #17): turns are served while the worker processes still warm up, readiness
says "warming up" until they are warm, and shutdown stops the workers at any moment, also in
the middle of their warm-up. Plus the two costs on every hand-off to a worker: the load average
is read at most once a second.

Warm-up is held back by the test (an event it releases, or a worker call it holds), so "during
warm-up" is a state the test controls, never a race it hopes to win.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import httpx
import psutil
import pytest

from data_science.config import APP_NAME, Settings
from data_science.runtime import workers
from data_science.server.app import create_app
from tests.busy_work import occupy, wait_until_started
from tests.conftest import LiveServer

# Guards against hanging, never measurements.
ENTER_SECONDS = 60
STOP_SECONDS = 30


# Imported by the server's modules but used only in worker processes: the server, whose import
# is most of the wait for the first turn, does not load them (they load where they are used).
WORKER_ONLY = ("openpyxl",)


def test_the_server_does_not_import_what_only_workers_use() -> None:
    probe = (
        "import sys, data_science.server.app; print(sorted(set(sys.argv[1:]) & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe, *WORKER_ONLY], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_the_load_average_is_read_at_most_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[float] = []
    clock = [1000.0]

    def load_average() -> tuple[float, float, float]:
        reads.append(clock[0])
        return (0.0, 0.0, 0.0)

    monkeypatch.setattr(workers.os, "getloadavg", load_average)
    monkeypatch.setattr(workers.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(workers, "_load_read", None)
    for _ in range(5):
        workers.thread_budget(1)
    clock[0] += workers.LOAD_CACHE_SECONDS / 2
    workers.thread_budget(2)
    assert reads == [1000.0]
    clock[0] += workers.LOAD_CACHE_SECONDS
    workers.thread_budget(1)
    assert len(reads) == 2


async def test_shutdown_stops_a_worker_in_the_middle_of_a_call(tmp_path: Path) -> None:
    started = tmp_path / "started"
    started.mkdir()
    held = asyncio.ensure_future(
        workers.run_cpu(occupy, str(started), str(tmp_path / "never"), 120, lane="quick")
    )
    await wait_until_started(started, 1)
    began = time.monotonic()
    await asyncio.to_thread(workers.shutdown)
    assert time.monotonic() - began < STOP_SECONDS  # not the call's 120 s
    with pytest.raises(BrokenProcessPool):  # its worker is gone
        await held
    assert await workers.run_cpu(sum, [1, 2], lane="quick") == 3  # the lane starts afresh


async def test_a_call_sent_during_the_warm_up_waits_for_it_and_is_answered() -> None:
    workers.shutdown()  # a lane that another test warmed is started afresh
    workers.start_warm_up()
    warming = list(workers._warming)
    assert len(warming) == workers.lane_size("quick")  # every quick process is busy importing
    assert await workers.run_cpu(sum, [1, 2], lane="quick") == 3
    # It started once a warm-up call had ended and freed a process.
    assert any(call.done() and call.exception() is None for call in warming)
    await asyncio.to_thread(workers.warm_up)  # already done: returns at once


async def start_session(http: httpx.AsyncClient, user: str) -> str:
    created = await http.post(f"/apps/{APP_NAME}/users/{user}/sessions", json={})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


async def test_a_turn_is_answered_while_the_workers_warm_up_and_readyz_says_so(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    monkeypatch.setattr(workers, "warm_up", lambda: release.wait(ENTER_SECONDS))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as http,
        asyncio.timeout(ENTER_SECONDS),
        app.router.lifespan_context(app),  # returns while the workers are still warming up
    ):
        try:
            readiness = await http.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["status"] == "warming up"
            turn = {
                "app_name": APP_NAME,
                "user_id": "alice",
                "session_id": await start_session(http, "alice"),
                "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
            }
            answered = await http.post("/run", json=turn)
            assert answered.status_code == 200, answered.text
            texts = [
                part["text"]
                for event in answered.json()
                for part in (event.get("content") or {}).get("parts", [])
                if part.get("text")
            ]
            assert texts  # the offline model replied
        finally:
            release.set()
        for _ in range(200):
            if (await http.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert (await http.get("/readyz")).json()["status"] == "ready"


def spawned_workers(server: psutil.Process) -> list[psutil.Process]:
    """The server's worker processes (multiprocessing's spawned children, not its tracker)."""
    return [
        child
        for child in server.children(recursive=True)
        if any("spawn_main" in part for part in child.cmdline())
    ]


def test_sigterm_while_the_workers_warm_up_stops_them_and_the_server(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data")
    server.warmed_up = lambda: httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200  # type: ignore[method-assign]
    server.start()  # returns as soon as the port answers
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    try:
        give_up = time.monotonic() + ENTER_SECONDS
        while len(running := spawned_workers(process)) < workers.lane_size("quick"):
            assert time.monotonic() < give_up, "the worker processes never started"
            time.sleep(0.05)
        # Still warming up: the workers import the computing libraries for seconds.
        assert httpx.get(f"{server.url}/readyz", timeout=5).json()["status"] == "warming up"
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=STOP_SECONDS)
        # Stopped by the server before it left, not by their own orphan check a second later.
        _, alive = psutil.wait_procs(running, timeout=0.2)
        assert alive == []
    finally:
        server.stop()
