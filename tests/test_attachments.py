"""Files attached to chat messages go through the same intake as /api/uploads."""

import sqlite3
from pathlib import Path

import httpx
from google.adk.cli.api_server import RunAgentRequest
from google.adk.cli.conformance.adk_web_server_client import AdkWebServerClient
from google.adk.events.event import Event
from google.genai import types

from tests.conftest import LiveServer

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
