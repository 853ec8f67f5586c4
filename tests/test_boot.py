"""The front door while the server warms up (server/boot.py): probes answer at once, other
requests wait for the app, a failed build is said, not hidden.

The app behind the front is held back by an event the test releases, so "during warm-up" is a
state the test controls, never a race it hopes to win. The last test runs the real `main.py`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from data_science.config import APP_NAME, Settings
from data_science.server.boot import BootingApp
from tests.conftest import LiveServer, free_port


def held_back_app(release: threading.Event, events: list[str]) -> Callable[[Settings], FastAPI]:
    """A builder that waits for `release`, then makes an app whose lifespan is recorded."""

    def build(_: Settings) -> FastAPI:
        release.wait(timeout=60)

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            events.append("started")
            yield
            events.append("stopped")

        app = FastAPI(lifespan=lifespan)

        @app.get("/hello")
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        @app.get("/readyz")
        async def readyz() -> dict[str, str]:
            return {"status": "ready"}

        return app

    return build


@asynccontextmanager
async def serving(front: BootingApp) -> AsyncIterator[httpx.AsyncClient]:
    """`front` under a real uvicorn on a free port, stopped (lifespan shutdown) afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(front, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  # uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        await task


async def test_probes_answer_and_requests_wait_while_the_app_is_built(settings: Settings) -> None:
    release, events = threading.Event(), []
    front = BootingApp(settings, build=held_back_app(release, events))
    async with serving(front) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        readiness = await http.get("/readyz")
        assert readiness.status_code == 503 and readiness.json()["status"] == "warming up"

        waiting = asyncio.create_task(http.get("/hello"))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # held, not refused
        release.set()
        answered = await waiting
        assert answered.status_code == 200 and answered.json() == {"hello": "world"}
        assert events == ["started"]  # the app's own lifespan ran before it served
        assert (await http.get("/readyz")).json() == {"status": "ready"}  # now the app's probe
    assert events == ["started", "stopped"]
    assert front.failed is None


async def test_a_failed_build_is_said_and_stops_the_server(settings: Settings) -> None:
    stopped = threading.Event()

    def broken(_: Settings) -> Any:
        raise RuntimeError("the session store is gone")

    front = BootingApp(settings, build=broken, on_failure=stopped.set)
    async with serving(front) as http:
        refused = await http.get("/hello")
        for _ in range(100):
            if stopped.is_set():
                break
            await asyncio.sleep(0.05)
        assert stopped.is_set()
        assert refused.status_code == 503
        assert refused.json()["error"] == "start_failed"
        assert "the session store is gone" in refused.json()["message"]
        for probe in ("/healthz", "/readyz"):
            answer = await http.get(probe)
            assert answer.status_code == 503 and answer.json()["status"] == "failed"


def test_a_chat_started_during_warm_up_is_served_by_the_real_app(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data")
    server.warmed_up = lambda: httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200  # type: ignore[method-assign]
    server.start()  # returns as soon as the port answers, before the app is built
    try:
        created = httpx.post(f"{server.url}/apps/{APP_NAME}/users/alice/sessions", timeout=300)
        assert created.status_code == 200 and created.json()["userId"] == "alice"
        # The app serves while its workers still warm up; readiness follows when they are warm.
        give_up = time.monotonic() + 300
        while httpx.get(f"{server.url}/readyz", timeout=30).json()["status"] == "warming up":
            assert time.monotonic() < give_up, "the warm-up never ended"
            time.sleep(0.2)
        assert httpx.get(f"{server.url}/readyz", timeout=30).json()["status"] == "ready"
    finally:
        server.stop()
