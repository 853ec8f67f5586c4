"""How often an upload's bytes are gone over: once as they stream in (written and hashed),
then only by the checks that need them, and never held whole in memory on the way."""

import hashlib
from pathlib import Path

import httpx

from data_science.config import Settings
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
