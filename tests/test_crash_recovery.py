"""What a crash leaves: the real server (`main.py`) is killed with SIGKILL, with every process
under it, in the middle of an upload and of a training; the next start clears quarantine and
staging whatever their age, audits the cut-off upload, and the chat's unanswered tool call is
closed with an error result before the next turn reaches the model."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from data_science.intake.pipeline import SPILL_BYTES
from data_science.observability.audit import verify_chain
from tests.conftest import LiveServer
from tests.fake_llm import Call, FakeLLM, Text, ToolCalls

APP = "data_science"
START_SECONDS = 240  # a busy machine takes minutes to import and warm up the app
BOUNDARY = "crash-test-boundary"
FIRST_ROWS = 150_000  # about 1.7 MB of rows


def kill_everything(server: LiveServer) -> None:
    """SIGKILL the server and every process it started, as a container's death does."""
    assert server.process is not None
    family = psutil.Process(server.process.pid).children(recursive=True)
    server.process.kill()
    server.process.wait(timeout=30)
    for child in family:
        child.kill()
    psutil.wait_procs(family, timeout=30)
    server.stop()


async def eventually(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.1)


def audit(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def slow_upload(session_id: str) -> AsyncIterator[bytes]:
    """A multipart body whose file part keeps arriving, a row every tenth of a second, after a
    first burst of more than one block (quarantine writes whole blocks as they fill)."""
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("user_id", "alice"), ("session_id", session_id))
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nid,amount\r\n"
    )
    rows = b"".join(f"{i},{i * 2}\n".encode() for i in range(FIRST_ROWS))
    assert len(rows) > SPILL_BYTES
    yield head.encode() + rows
    row = FIRST_ROWS
    while True:
        await asyncio.sleep(0.1)
        row += 1
        yield f"{row},{row * 2}\n".encode()


async def test_an_upload_cut_off_by_a_crash_is_removed_and_audited_at_the_next_start(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    quarantine = data_dir / "quarantine"
    server = LiveServer(data_dir)
    try:
        server.start(START_SECONDS)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            session_id = (await http.post(f"/apps/{APP}/users/alice/sessions")).json()["id"]
            upload = asyncio.create_task(
                http.post(
                    "/api/uploads",
                    content=slow_upload(session_id),
                    headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                )
            )
            await eventually(lambda: any(p.stat().st_size > 0 for p in quarantine.glob("*.part")))
            kill_everything(server)
            upload.cancel()
            await asyncio.gather(upload, return_exceptions=True)
    finally:
        server.stop()
    [part] = quarantine.glob("*.part")  # what the crash left
    received = part.read_bytes()
    records_before = len(audit(data_dir))

    restarted = LiveServer(data_dir)
    try:
        restarted.start(START_SECONDS)
    finally:
        restarted.stop()

    assert list(quarantine.iterdir()) == []
    records = audit(data_dir)
    [aborted] = [r for r in records[records_before:] if r["action"] == "upload"]
    assert aborted["outcome"] == "aborted"
    assert aborted["reason"] == "interrupted by a restart"
    assert aborted["quarantine_file"] == part.name
    assert aborted["size_bytes"] == len(received)
    assert aborted["sha256"] == hashlib.sha256(received).hexdigest()
    assert aborted["sniffed_type"].startswith("text/")
    assert verify_chain(data_dir / "audit.jsonl").intact


def function_parts(events: list[dict[str, Any]], kind: str) -> list[tuple[int, dict[str, Any]]]:
    """(event index, part) of every functionCall or functionResponse part, in order."""
    return [
        (index, part[kind])
        for index, event in enumerate(events)
        for part in (event.get("content") or {}).get("parts", [])
        if kind in part
    ]


async def test_a_training_cut_off_by_a_crash_leaves_no_staging_and_a_closed_call(
    tmp_path: Path, penguins_csv: Path
) -> None:
    data_dir = tmp_path / "data"
    with FakeLLM() as fake:
        env = {
            "LLM_MODEL": "openai/gpt-4o",
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "LLM_API_BASE": fake.openai_base,
        }
        server = LiveServer(data_dir, env)
        try:
            server.start(START_SECONDS)
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                session_url = f"/apps/{APP}/users/alice/sessions"
                session_id = (await http.post(session_url)).json()["id"]
                session_url += f"/{session_id}"
                with penguins_csv.open("rb") as handle:
                    uploaded = await http.post(
                        "/api/uploads",
                        data={"user_id": "alice", "session_id": session_id},
                        files={"file": ("penguins.csv", handle, "text/csv")},
                    )
                dataset_id = uploaded.json()["file_id"]
                arguments = {"dataset_id": dataset_id, "target": "species"}
                fake.script(ToolCalls([Call("automl", {**arguments, "time_budget_seconds": 600})]))
                turn = {
                    "app_name": APP,
                    "user_id": "alice",
                    "session_id": session_id,
                    "new_message": {"role": "user", "parts": [{"text": "run automl"}]},
                }
                chat = asyncio.create_task(http.post("/run", json=turn, timeout=900))
                jobs_url = f"/api/users/alice/sessions/{session_id}/jobs"
                while not (await http.get(jobs_url)).json()["jobs"]:
                    assert not chat.done(), chat.result().text
                    await asyncio.sleep(0.2)
                assert list(data_dir.glob("ready/*/*/.staging-*"))  # the training's folder
                events = (await http.get(session_url)).json()["events"]
                [(_, call)] = function_parts(events, "functionCall")
                assert function_parts(events, "functionResponse") == []
                kill_everything(server)
                chat.cancel()
                await asyncio.gather(chat, return_exceptions=True)
        finally:
            server.stop()
        assert list(data_dir.glob("ready/*/*/.staging-*"))  # what the crash left

        fake.script(Text("The AutoML run was interrupted. Shall I start it again?"))
        restarted = LiveServer(data_dir, env)
        try:
            restarted.start(START_SECONDS)
            assert list(data_dir.glob("ready/*/*/.staging-*")) == []
            async with httpx.AsyncClient(base_url=restarted.url, timeout=120) as http:
                turn["new_message"] = {"role": "user", "parts": [{"text": "what happened?"}]}
                answer = await http.post("/run", json=turn)
                # The killed server still holds this chat's turn lease until it lapses
                # (server/turn_lock.py): the chat answers 409 until then, as documented.
                for _ in range(60):
                    if answer.status_code != 409:
                        break
                    await asyncio.sleep(2)
                    answer = await http.post("/run", json=turn)
                assert answer.status_code == 200, answer.text
                events = (await http.get(session_url)).json()["events"]
        finally:
            restarted.stop()

    [(call_at, _)] = function_parts(events, "functionCall")
    [(closed_at, response)] = function_parts(events, "functionResponse")
    asked_at = next(i for i, e in enumerate(events) if "what happened" in json.dumps(e))
    assert call_at < closed_at < asked_at
    assert (response["id"], response["name"]) == (call["id"], "automl")
    assert response["response"]["status"] == "error"
    assert response["response"]["error"] == "interrupted"
    assert "restart" in response["response"]["message"]
    # The model saw the call answered with that error, under the call's id.
    last_request = fake.chat_requests()[-1]
    assert call["id"] in last_request.assistant_tool_call_ids()
    assert "interrupted" in last_request.tool_results()[call["id"]]
    [record] = [r for r in audit(data_dir) if r.get("outcome") == "interrupted"]
    assert (record["action"], record["tool"]) == ("tool", "automl")
    assert record["arguments"]["dataset_id"] == dataset_id
