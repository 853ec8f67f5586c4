"""The real app in its own process, driven over HTTP with ADK's own client."""

import asyncio
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from google.adk.cli.api_server import RunAgentRequest
from google.adk.cli.conformance.adk_web_server_client import AdkWebServerClient
from google.adk.events.event import Event
from google.genai import types

from tests.conftest import LiveServer

APP = "data_science"


def message(session_id: str, text: str, user: str = "alice") -> RunAgentRequest:
    return RunAgentRequest(
        app_name=APP,
        user_id=user,
        session_id=session_id,
        streaming=True,
        new_message=types.Content(role="user", parts=[types.Part(text=text)]),
    )


def final_text(events: list[Event]) -> str:
    texts = [
        part.text
        for event in events
        if event.content and not event.partial
        for part in event.content.parts or []
        if part.text
    ]
    return texts[-1] if texts else ""


async def upload(url: str, session_id: str, path: Path, user: str = "alice") -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        with path.open("rb") as handle:
            response = await http.post(
                "/api/uploads",
                data={"user_id": user, "session_id": session_id},
                files={"file": (path.name, handle, "application/vnd.ms-excel")},
            )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_upload_train_restart_and_resume(
    tmp_path: Path, penguins_csv: Path, session_store_env: dict[str, str]
) -> None:
    """Runs on each session store: the SQLite default and PostgreSQL."""
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, session_store_env).start()
    try:
        async with AdkWebServerClient(base_url=server.url, timeout=120) as client:
            session = await client.create_session(app_name=APP, user_id="alice")
            uploaded = await upload(server.url, session.id, penguins_csv)
            assert uploaded["summary"]["rows"] == 344
            events = [
                e
                async for e in client.run_agent(
                    message(session.id, "train a model to predict species")
                )
            ]
        reply = final_text(events)
        trained = next(
            part.function_response.response
            for event in events
            for part in event.content.parts or []
            if part.function_response and part.function_response.name == "train"
        )
        assert trained["status"] == "ok"
        assert trained["n_test"] == 69 and trained["n_train"] == 275  # 20 % of 344, rounded up
        assert trained["test_metrics"]["accuracy"] > 0.9
        assert "Accuracy" in reply and "69 held-out rows" in reply
    finally:
        server.stop()

    restarted = LiveServer(data_dir, session_store_env).start()
    try:
        async with AdkWebServerClient(base_url=restarted.url, timeout=120) as client:
            again = await client.get_session(app_name=APP, user_id="alice", session_id=session.id)
            texts = [
                part.text
                for event in again.events
                for part in (event.content.parts or [])
                if event.content and part.text
            ]
            assert "train a model to predict species" in texts
            assert any("Accuracy" in text for text in texts)
            events = [e async for e in client.run_agent(message(session.id, "list my files"))]
        assert "penguins.csv" in final_text(events)
    finally:
        restarted.stop()


async def test_health_answers_while_a_model_trains(tmp_path: Path, live_server: LiveServer) -> None:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(150_000, 12))
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(12)])
    frame["label"] = np.where(features[:, :3].sum(axis=1) + rng.normal(size=150_000) > 0, "a", "b")
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    async with AdkWebServerClient(base_url=live_server.url, timeout=300) as client:
        session = await client.create_session(app_name=APP, user_id="alice")
        await upload(live_server.url, session.id, path)

        async def run() -> list[Event]:
            return [
                e
                async for e in client.run_agent(
                    message(session.id, "train a model to predict label")
                )
            ]

        training = asyncio.create_task(run())
        answered, slowest = 0, 0.0
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            while not training.done():
                started = time.perf_counter()
                response = await http.get("/healthz", timeout=30)
                slowest = max(slowest, time.perf_counter() - started)
                assert response.status_code == 200
                answered += 1
                await asyncio.sleep(0.1)
        events = await training
    assert "Accuracy" in final_text(events)
    # A blocked event loop would answer once or twice after training ends, not throughout.
    assert answered >= 10, (answered, slowest)


async def test_the_chat_page_is_served(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        page = await http.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
