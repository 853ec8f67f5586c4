"""Files attached to chat messages go through the same intake as /api/uploads."""

import asyncio
import base64
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import httpx
from google.adk.apps import App
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.cli.api_server import RunAgentRequest
from google.adk.cli.conformance.adk_web_server_client import AdkWebServerClient
from google.adk.events.event import Event
from google.adk.runners import Runner
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types
from PIL import Image

from data_science.agent import build_app
from data_science.config import Settings
from data_science.offline.model import OfflineModel
from tests.conftest import PROJECT_ROOT, LiveServer, free_port
from tests.hostile_files import jpeg_with_gps, make_zip

APP = "data_science"


def attachment(data: bytes, name: str, mime_type: str) -> types.Part:
    return types.Part(inline_data=types.Blob(data=data, mime_type=mime_type, display_name=name))


def request(session_id: str, *parts: types.Part) -> RunAgentRequest:
    return RunAgentRequest(
        app_name=APP,
        user_id="alice",
        session_id=session_id,
        streaming=False,
        new_message=types.Content(role="user", parts=list(parts)),
    )


def texts(events: list[Event]) -> list[str]:
    return [
        part.text
        for event in events
        if event.content
        for part in event.content.parts or []
        if part.text
    ]


async def run(client: AdkWebServerClient, session_id: str, *parts: types.Part) -> list[Event]:
    """POST /run. (ADK's client cannot send inline bytes: it serialises without JSON mode.)"""
    body = request(session_id, *parts).model_dump(mode="json", by_alias=True, exclude_none=True)
    async with httpx.AsyncClient(base_url=client.base_url, timeout=120) as http:
        response = await http.post("/run", json=body)
    response.raise_for_status()
    return [Event.model_validate(event) for event in response.json()]


async def test_an_attached_csv_is_registered_and_usable_by_the_next_tool(
    live_server: LiveServer, penguins_csv: Path, tmp_path: Path
) -> None:
    content = penguins_csv.read_bytes()
    async with AdkWebServerClient(base_url=live_server.url, timeout=120) as client:
        session = await client.create_session(app_name=APP, user_id="alice")
        events = await run(
            client, session.id, attachment(content, "penguins.csv", "application/vnd.ms-excel")
        )
        assert any(
            "was received as dataset ds_" in text and "344 rows" in text for text in texts(events)
        )
        events = await run(client, session.id, types.Part(text="train a model to predict species"))
        assert "Accuracy" in texts(events)[-1]
        stored = await client.get_session(app_name=APP, user_id="alice", session_id=session.id)
    first_message = stored.events[0].content.parts[0]
    assert first_message.inline_data is None and "penguins.csv" in first_message.text
    database = sqlite3.connect(tmp_path / "data" / "sessions" / "sessions.db")
    dump = "\n".join(database.iterdump())
    assert "Adelie,Torgersen" not in dump and "bill_length_mm,bill_depth_mm" not in dump


async def test_an_html_file_declared_as_csv_is_refused_with_the_intakes_reason(
    live_server: LiveServer, tmp_path: Path
) -> None:
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    async with AdkWebServerClient(base_url=live_server.url, timeout=120) as client:
        session = await client.create_session(app_name=APP, user_id="alice")
        events = await run(client, session.id, attachment(html, "data.csv", "text/csv"))
        stored = await client.get_session(app_name=APP, user_id="alice", session_id=session.id)
    assert any("was refused" in text and "text/html" in text for text in texts(events))
    assert "<script>" not in stored.model_dump_json()
    assert list((tmp_path / "data" / "quarantine").iterdir()) == []


async def test_attachments_over_the_size_limit_are_refused_and_the_session_stays_usable(
    tmp_path: Path,
) -> None:
    server = LiveServer(tmp_path / "data", {"MAX_UPLOAD_BYTES": "2000"}).start()
    try:
        async with AdkWebServerClient(base_url=server.url, timeout=120) as client:
            session = await client.create_session(app_name=APP, user_id="alice")
            big = b"a,b\n" + b"1,2\n" * 1000
            events = await run(client, session.id, attachment(big, "big.csv", "text/csv"))
            assert any("larger than the limit" in text for text in texts(events))
            events = await run(client, session.id, types.Part(text="list my files"))
            assert "No files yet" in texts(events)[-1]
    finally:
        server.stop()


async def test_a_zip_of_csvs_and_a_gps_jpeg_are_taken_in_like_uploads(
    live_server: LiveServer, tmp_path: Path
) -> None:
    archive = make_zip({"jan.csv": b"day,amount\n1,10\n2,20\n", "feb.csv": b"day,amount\n1,5\n"})
    photo = jpeg_with_gps(1600, 1200)
    async with AdkWebServerClient(base_url=live_server.url, timeout=120) as client:
        session = await client.create_session(app_name=APP, user_id="alice")
        events = await run(
            client,
            session.id,
            attachment(archive, "sales.zip", "application/zip"),
            attachment(photo, "trip.jpg", "image/jpeg"),
        )
        notes = " ".join(texts(events))
        assert '"sales.zip" was received as archive zip_' in notes
        assert '"jan.csv" as dataset ds_' in notes and '"feb.csv" as dataset ds_' in notes
        assert (
            '"trip.jpg" was received as image img_' in notes and "768x1024" in notes
        )  # orientation applied
        listed = await run(client, session.id, types.Part(text="list my files"))
    reply = texts(listed)[-1]
    assert "jan.csv" in reply and "feb.csv" in reply
    [thumbnail] = list((tmp_path / "data" / "ready").rglob("*.jpg"))
    with Image.open(thumbnail) as image:
        assert len(image.getexif()) == 0 and max(image.size) == 1024
    assert b"PhoneMaker" not in thumbnail.read_bytes()


async def test_hostile_archives_are_refused_with_the_intakes_reasons(
    live_server: LiveServer, tmp_path: Path
) -> None:
    async with AdkWebServerClient(base_url=live_server.url, timeout=120) as client:
        session = await client.create_session(app_name=APP, user_id="alice")
        bomb = await run(
            client,
            session.id,
            attachment(make_zip({"zeros.csv": b"0" * 2_000_000}), "bomb.zip", "application/zip"),
        )
        slip = await run(
            client,
            session.id,
            attachment(make_zip({"../evil.csv": b"a\n1\n"}), "slip.zip", "application/zip"),
        )
    assert any("was refused" in t and "zip bomb" in t for t in texts(bomb))
    assert any("was refused" in t and "'..'" in t for t in texts(slip))
    assert not (tmp_path / "evil.csv").exists() and not (tmp_path / "data" / "evil.csv").exists()
    assert list((tmp_path / "data" / "quarantine").iterdir()) == []


class RecordingModel(OfflineModel):
    """The offline model, keeping every request it is sent (to look for raw bytes)."""

    requests: ClassVar[list[str]] = []

    async def generate_content_async(self, llm_request, stream=False):  # type: ignore[no-untyped-def]
        self.requests.append(llm_request.model_dump_json(exclude_none=True))
        async for response in super().generate_content_async(llm_request, stream):
            yield response


async def test_no_model_request_carries_the_raw_bytes(
    settings: Settings, penguins_csv: Path
) -> None:
    model = RecordingModel()
    base = build_app(settings)
    app = App(
        name=APP, root_agent=base.root_agent.clone(update={"model": model}), plugins=base.plugins
    )
    sessions = InMemorySessionService()
    runner = Runner(app=app, session_service=sessions, artifact_service=InMemoryArtifactService())
    session = await sessions.create_session(app_name=APP, user_id="alice")
    raw = penguins_csv.read_bytes()
    message = types.Content(
        role="user",
        parts=[attachment(raw, "penguins.csv", "text/csv"), types.Part(text="describe the data")],
    )
    async for _ in runner.run_async(user_id="alice", session_id=session.id, new_message=message):
        pass
    assert len(model.requests) >= 2
    line = raw.decode().splitlines()[1]
    for request_json in model.requests:
        assert "inline_data" not in request_json and "inlineData" not in request_json
        assert line not in request_json and base64.b64encode(raw[:300]).decode() not in request_json
    stored = await sessions.get_session(app_name=APP, user_id="alice", session_id=session.id)
    assert line not in stored.model_dump_json()


async def test_adk_web_from_the_repo_root_lists_only_the_agent_and_answers_an_attached_csv(
    tmp_path: Path, penguins_csv: Path
) -> None:
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-m",
        "google.adk.cli",
        "web",
        "--port",
        str(port),
        "--session_service_uri",
        "memory://",
        "--artifact_service_uri",
        "memory://",
        ".",
    ]
    with (tmp_path / "adk-web.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_until_up(url, process)
            async with httpx.AsyncClient(base_url=url) as http:
                assert (await http.get("/list-apps")).json() == [APP]  # not tests/ nor scripts/
            async with AdkWebServerClient(base_url=url, timeout=120) as client:
                session = await client.create_session(app_name=APP, user_id="alice")
                events = await run(
                    client,
                    session.id,
                    attachment(penguins_csv.read_bytes(), "penguins.csv", "text/csv"),
                    types.Part(text="give me a summary of the data"),
                )
            assert "344 rows" in texts(events)[-1]
        finally:
            process.terminate()
            process.wait(timeout=30)


async def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("adk web exited")
            try:
                if (await http.get("/list-apps")).status_code == 200:
                    return
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
    raise RuntimeError("adk web did not start")
