"""Graceful shutdown: SIGTERM during a long AutoML call turns readiness 503 first, cancels the
job, lets the chat request finish, closes within the timeout and leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from data_science.config import Settings
from data_science.server.app import create_app
from tests.conftest import LiveServer
from tests.fake_llm import Call, FakeLLM, Text, ToolCalls

APP = "data_science"
DRAIN_SECONDS = 2
TIMEOUT_SECONDS = 20


async def read_sse(http: httpx.AsyncClient, body: dict[str, Any]) -> tuple[int, list[Any]]:
    events = []
    async with http.stream("POST", "/run_sse", json=body, timeout=300) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line.removeprefix("data:")))
    return response.status_code, events


async def test_sigterm_during_automl_drains_cancels_the_job_and_leaves_nothing_running(
    tmp_path: Path, penguins_csv: Path
) -> None:
    with FakeLLM() as fake:
        server = LiveServer(
            tmp_path / "data",
            {
                "LLM_MODEL": "openai/gpt-4o",
                "OPENAI_API_KEY": "sk-test-not-a-real-key",
                "LLM_API_BASE": fake.openai_base,
                "SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
                "SHUTDOWN_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            },
        ).start()
        assert server.process is not None
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                session_id = (await http.post(f"/apps/{APP}/users/alice/sessions")).json()["id"]
                with penguins_csv.open("rb") as handle:
                    uploaded = await http.post(
                        "/api/uploads",
                        data={"user_id": "alice", "session_id": session_id},
                        files={"file": ("penguins.csv", handle, "text/csv")},
                    )
                dataset_id = uploaded.json()["file_id"]
                fake.script(
                    ToolCalls(
                        [
                            Call(
                                "automl",
                                {
                                    "dataset_id": dataset_id,
                                    "target": "species",
                                    "time_budget_seconds": 300,
                                },
                            )
                        ]
                    ),
                    Text("The AutoML run was stopped."),
                )
                chat = asyncio.create_task(
                    read_sse(
                        http,
                        {
                            "app_name": APP,
                            "user_id": "alice",
                            "session_id": session_id,
                            "new_message": {"role": "user", "parts": [{"text": "run automl"}]},
                        },
                    )
                )
                jobs_url = f"/api/users/alice/sessions/{session_id}/jobs"
                deadline = time.monotonic() + 60
                while not (await http.get(jobs_url)).json()["jobs"]:
                    assert time.monotonic() < deadline and not chat.done(), "no job started"
                    await asyncio.sleep(0.1)
                children = psutil.Process(server.process.pid).children(recursive=True)
                assert len(children) >= 2  # the worker pool and the AutoML job's process

                signalled = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                readiness = await http.get("/readyz")
                assert readiness.status_code == 503
                assert readiness.json()["status"] == "shutting down"
                status, events = await chat  # the in-flight chat request finishes
                code = await asyncio.to_thread(
                    server.process.wait, DRAIN_SECONDS + TIMEOUT_SECONDS + 10
                )
                stopped_after = time.monotonic() - signalled
        finally:
            server.stop()

    assert code in (0, -signal.SIGTERM)
    assert stopped_after < DRAIN_SECONDS + TIMEOUT_SECONDS
    assert status == 200
    [automl_result] = [
        part["functionResponse"]["response"]
        for event in events
        for part in (event.get("content") or {}).get("parts", [])
        if part.get("functionResponse", {}).get("name") == "automl"
    ]
    assert automl_result["status"] == "error" and automl_result["error"] == "cancelled"
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [process.pid for process in alive]
    log = server.log_path.read_text()
    assert '"cancelled_jobs": 1' in log and "Application shutdown complete" in log


async def test_readiness_answers_503_once_shutdown_has_begun(settings: Settings) -> None:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        assert (await http.get("/readyz")).status_code == 200
        app.state.shutdown.begin()
        refused = await http.get("/readyz")
        assert refused.status_code == 503 and refused.json()["status"] == "shutting down"
        assert (await http.get("/healthz")).status_code == 200  # alive, just leaving
