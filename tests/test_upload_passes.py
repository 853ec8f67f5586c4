"""How often an upload's bytes are gone over: once as they stream in (written and hashed),
then only by the checks that need them, and never held whole in memory on the way."""

import hashlib
import io
import threading
import tracemalloc
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import httpx
import pytest

from data_science.config import Settings
from data_science.intake import pipeline
from tests.test_uploads import new_session, upload


def bytes_read_by_this_process() -> int:
    """Every byte this process has read through a system call (files, pipes, sockets)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


def mixed_csv(rows: int) -> bytes:
    lines = (f"{i},Z\xfcrich,{i * 0.25},note {i % 7}\n" for i in range(rows))
    return ("id,city,amount,note\n" + "".join(lines)).encode()


async def test_the_server_does_not_read_an_accepted_upload_again(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    content = mixed_csv(500_000)  # about 14 MB: well past the head libmagic reads
    session_id = await new_session(client)
    before = bytes_read_by_this_process()
    response = await upload(client, session_id, "amounts.csv", content)
    read = bytes_read_by_this_process() - before
    assert response.status_code == 201, response.text
    # The hash was taken as the bytes streamed in and is the one the item keeps; the server
    # (parsing happens in a worker) reads the file only for libmagic's look at its head.
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert read < len(content) // 2, f"the server read {read:,} bytes of a {len(content):,}"


async def test_a_nul_byte_past_the_start_is_refused_and_nothing_kept(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    content = mixed_csv(100_000) + b"100000,bin\x00ary,1.0,x\n"
    session_id = await new_session(client)
    response = await upload(client, session_id, "amounts.csv", content)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "unreadable_file"
    assert "NUL" in response.json()["message"] and "line 100002" in response.json()["message"]
    leftovers = [path for path in settings.DATA_DIR.rglob("*.csv") if path.is_file()]
    assert leftovers == [] and list(settings.quarantine_dir.iterdir()) == []


BOUNDARY = "UpLoAd"


async def streamed_form(session_id: str, blocks: int, block: bytes) -> AsyncIterator[bytes]:
    """A multipart form whose file part arrives in `blocks` pieces, never whole in memory."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="user_id"\r\n\r\nalice\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
        f"{session_id}\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nid,city,amount,note\n"
    ).encode()
    for _ in range(blocks):
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def post_streamed(
    client: httpx.AsyncClient, session_id: str, blocks: int, block: bytes
) -> httpx.Response:
    return await client.post(
        "/api/uploads",
        content=streamed_form(session_id, blocks, block),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


class RecordingDigest:
    """hashlib's sha256, noting the thread of every update."""

    threads: ClassVar[list[int]] = []

    def __init__(self, data: bytes = b"") -> None:
        self.digest = real_sha256(data)

    def update(self, data: bytes) -> None:
        RecordingDigest.threads.append(threading.get_ident())
        self.digest.update(data)

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


real_sha256 = hashlib.sha256


async def test_received_bytes_are_hashed_and_written_off_the_event_loop(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = mixed_csv(20_000).split(b"\n", 1)[1]  # about 0.5 MB of rows
    session_id = await new_session(client)
    RecordingDigest.threads.clear()
    monkeypatch.setattr(pipeline, "hashlib", SimpleNamespace(sha256=RecordingDigest))
    response = await post_streamed(client, session_id, 8, block)
    monkeypatch.undo()
    assert response.status_code == 201, response.text
    content = b"id,city,amount,note\n" + block * 8
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert response.json()["size_bytes"] == len(content)
    # Every block of the file was hashed (and written, in the same call) in a thread.
    assert RecordingDigest.threads, "the upload was not hashed through hashlib.sha256"
    assert threading.get_ident() not in RecordingDigest.threads


async def test_a_large_upload_is_never_held_in_memory_by_the_server(
    client: httpx.AsyncClient,
) -> None:
    block = mixed_csv(40_000).split(b"\n", 1)[1]  # about 1.2 MB of rows
    session_id = await new_session(client)
    tracemalloc.start()
    try:
        response = await post_streamed(client, session_id, 25, block)  # about 30 MB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["rows"] == 25 * 40_000
    # The request's own blocks, the quarantine's buffer and the one block in flight.
    assert peak < 8 * len(block), f"the server's peak was {peak:,} bytes"


async def test_the_server_does_not_read_a_zip_member_again_to_hash_it(
    client: httpx.AsyncClient,
) -> None:
    member = mixed_csv(850_000)  # about 24 MB, far past the head libmagic reads
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as writer:
        writer.writestr("amounts.csv", member)
    session_id = await new_session(client)
    before = bytes_read_by_this_process()
    response = await upload(client, session_id, "amounts.zip", archive.getvalue())
    read = bytes_read_by_this_process() - before
    assert response.status_code == 201, response.text
    (stored,) = response.json()["summary"]["extracted"]
    assert stored["rows"] == 850_000
    # Hashed by the worker as it extracted the member, the hash the item keeps; the server reads
    # only the heads libmagic looks at (of the archive, then of the member).
    workspace_items = await client.get(f"/api/users/alice/sessions/{session_id}/files")
    hashes = {item["id"]: item.get("sha256") for item in workspace_items.json()["files"]}
    assert hashes[stored["file_id"]] == hashlib.sha256(member).hexdigest()
    assert read < len(member), f"the server read {read:,} bytes of a {len(member):,}"
