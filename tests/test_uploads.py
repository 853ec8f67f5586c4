"""The upload route, driven over HTTP against the real app."""

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from data_science.config import Settings
from data_science.storage.workspace import Workspace

APP = "data_science"


async def new_session(client: httpx.AsyncClient, user: str = "alice") -> str:
    response = await client.post(f"/apps/{APP}/users/{user}/sessions", json={})
    assert response.status_code == 200
    return str(response.json()["id"])


async def upload(
    client: httpx.AsyncClient, session_id: str, name: str, content: bytes, user: str = "alice"
) -> httpx.Response:
    return await client.post(
        "/api/uploads",
        data={"user_id": user, "session_id": session_id},
        files={"file": (name, content, "text/csv")},
    )


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


async def test_a_csv_is_accepted_summarised_and_stored(
    client: httpx.AsyncClient, settings: Settings, penguins_csv: Path
) -> None:
    session_id = await new_session(client)
    content = penguins_csv.read_bytes()
    response = await upload(client, session_id, "penguins.csv", content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["file_id"].startswith("ds_")
    assert body["filename"] == "penguins.csv" and body["kind"] == "table"
    assert body["size_bytes"] == len(content)
    assert body["summary"]["rows"] == 344
    assert {"name": "species", "type": "text"} in body["summary"]["columns"]
    stored = [p for p in files_under(settings.ready_dir) if p.name == "penguins.csv"]
    assert len(stored) == 1 and stored[0].read_bytes() == content
    assert files_under(settings.quarantine_dir) == []


async def test_an_oversize_upload_is_refused_and_nothing_kept(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", 1000)
    session_id = await new_session(client)
    response = await upload(client, session_id, "big.csv", b"a,b\n" + b"1,2\n" * 2000)
    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert files_under(settings.quarantine_dir) == [] and files_under(settings.ready_dir) == []


async def test_size_is_enforced_while_streaming_without_content_length(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", 10_000)
    session_id = await new_session(client)
    boundary = "XyZ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="user_id"\r\n\r\nalice\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{session_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()

    async def chunked() -> AsyncIterator[bytes]:
        yield head
        for _ in range(100):
            yield b"1,2,3,4,5,6,7,8,9\n" * 100
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/api/uploads",
        content=chunked(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert files_under(settings.quarantine_dir) == []


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("tool.exe", b"MZ\x90\x00", 415, "extension_not_allowed"),
        (
            "page.csv",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            415,
            "content_mismatch",
        ),
        ("broken.csv", b'a,b\n"unterminated,2\n' + b"x" * 50, 422, "unreadable_file"),
        ("empty.csv", b"", 422, "empty_file"),
    ],
)
async def test_bad_files_get_a_clear_error_and_the_server_keeps_serving(
    client: httpx.AsyncClient, settings: Settings, name: str, content: bytes, status: int, code: str
) -> None:
    session_id = await new_session(client)
    response = await upload(client, session_id, name, content)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code and response.json()["message"]
    assert files_under(settings.quarantine_dir) == [] and files_under(settings.ready_dir) == []
    assert (await client.get("/healthz")).status_code == 200


async def test_an_unknown_session_is_404(client: httpx.AsyncClient, settings: Settings) -> None:
    await new_session(client)
    response = await upload(client, "no-such-session", "a.csv", b"a,b\n1,2\n")
    assert response.status_code == 404 and response.json()["error"] == "unknown_session"
    assert files_under(settings.quarantine_dir) == []


async def test_another_users_session_is_404(client: httpx.AsyncClient) -> None:
    session_id = await new_session(client, "alice")
    response = await upload(client, session_id, "a.csv", b"a,b\n1,2\n", user="mallory")
    assert response.status_code == 404


async def test_requests_that_are_not_multipart_are_explained(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/uploads", json={"file": "a.csv"})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["message"]


async def test_missing_fields_are_named(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/uploads", files={"file": ("a.csv", b"a\n1\n", "text/csv")})
    assert response.status_code == 400 and "user_id" in response.json()["message"]


async def test_every_upload_is_audited(
    client: httpx.AsyncClient, settings: Settings, penguins_csv: Path
) -> None:
    import json

    session_id = await new_session(client)
    await upload(client, session_id, "penguins.csv", penguins_csv.read_bytes())
    await upload(client, session_id, "x.exe", b"MZ")
    records = [
        json.loads(line) for line in (settings.DATA_DIR / "audit.jsonl").read_text().splitlines()
    ]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("upload", "accepted"),
        ("upload", "rejected"),
    ]
    assert records[1]["reason"] == "extension_not_allowed"
    assert all(r["user"] != "alice" for r in records)


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) >= {"session_store", "ready_dir", "free_disk", "libmagic"}
    assert all(value == "ok" for value in ready.json()["checks"].values())


async def test_readiness_fails_when_disk_is_short(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MIN_FREE_DISK_BYTES", 10**18)
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and "MIN_FREE_DISK_BYTES" in ready.json()["checks"]["free_disk"]


async def test_a_sessions_files_are_listed_without_paths(
    client: httpx.AsyncClient, settings: Settings, penguins_csv: Path
) -> None:
    session_id = await new_session(client)
    uploaded = (await upload(client, session_id, "penguins.csv", penguins_csv.read_bytes())).json()
    listing = await client.get(f"/api/users/alice/sessions/{session_id}/files")
    assert listing.status_code == 200
    [entry] = listing.json()["files"]
    assert entry["id"] == uploaded["file_id"] and entry["rows"] == 344
    assert "stored_name" not in entry and str(settings.DATA_DIR) not in listing.text
    foreign = await client.get(f"/api/users/mallory/sessions/{session_id}/files")
    assert foreign.status_code == 404


async def test_a_malformed_multipart_body_is_a_400(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = b'--X\r\nContent-Disposition: form-data; name="user_id"\r\n\r\nalice\r\n--X--\r\n'
    response = await client.post(
        "/api/uploads", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "malformed_multipart"
    assert files_under(settings.quarantine_dir) == []
    assert (await client.get("/healthz")).status_code == 200


# Line endings and text encodings (#14) -------------------------------------------------------
def stored_table(settings: Settings, session_id: str, file_id: str) -> pd.DataFrame:
    """The uploaded table as a tool reads it."""
    return Workspace(settings, "alice", session_id).table_file(file_id).load()


async def test_old_mac_line_endings_are_rows_not_one_wide_header(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # 6 bytes a row: the first 64 KB hold far more commas than MAX_TABLE_COLUMNS allows.
    frame = pd.DataFrame({"a": np.arange(12_000) % 10, "b": np.arange(12_000) % 7, "c": 1})
    content = frame.to_csv(index=False, lineterminator="\r").encode()
    session_id = await new_session(client)
    response = await upload(client, session_id, "classic_mac.csv", content)
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["rows"] == 12_000
    expected = pd.read_csv(io.BytesIO(content), lineterminator="\r")
    assert_frame_equal(stored_table(settings, session_id, response.json()["file_id"]), expected)


async def test_mixed_line_endings_with_semicolons_in_windows_1252(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    text = "Produkt;Preis;Größe\r\nBrot;€5;klein\rMüsli;€3,50;groß\r\nCafé „Ö“;€2;\u2013\r"
    content = text.encode("cp1252")
    session_id = await new_session(client)
    response = await upload(client, session_id, "preise.csv", content)
    assert response.status_code == 201, response.text
    stored = stored_table(settings, session_id, response.json()["file_id"])
    lines = text.replace("\r\n", "\n").replace("\r", "\n").splitlines()
    expected = pd.DataFrame([line.split(";") for line in lines[1:]], columns=lines[0].split(";"))
    assert_frame_equal(stored, expected)
    assert response.json()["summary"]["encoding"] == "cp1252"


EURO_TEXT = "item,price,note\nbread,€5,“fresh”\nmilk,€2.50,Zürich \u2013 São Paulo\n"
LATIN_TEXT = "city,temp,note\nZürich,12.5,Crème brûlée\nSão Paulo,25,½ ±\n"


@pytest.mark.parametrize(
    ("encoding", "text", "reported"),
    [
        ("utf-8", EURO_TEXT, "utf-8"),
        ("utf-8-sig", EURO_TEXT, "utf-8-sig"),
        ("utf-16", EURO_TEXT, "utf-16"),
        ("cp1252", EURO_TEXT, "cp1252"),
        ("latin-1", LATIN_TEXT, "latin-1"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "cp1252", "latin-1"],
)
async def test_the_text_encoding_is_detected_kept_and_reported(
    client: httpx.AsyncClient, settings: Settings, encoding: str, text: str, reported: str
) -> None:
    content = text.encode(encoding)
    session_id = await new_session(client)
    response = await upload(client, session_id, "prices.csv", content)
    assert response.status_code == 201, response.text
    expected = pd.read_csv(io.StringIO(text))
    assert_frame_equal(stored_table(settings, session_id, response.json()["file_id"]), expected)
    assert response.json()["summary"]["encoding"] == reported


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
async def test_the_encoding_is_decided_from_the_whole_file_not_its_start(
    client: httpx.AsyncClient, settings: Settings, encoding: str
) -> None:
    ascii_rows = "".join(f"row {i},{i}\n" for i in range(8_000))  # well over 64 KB
    text = f"name,value\n{ascii_rows}Café €,1\nSão Paulo,2\n"
    content = text.encode(encoding)
    assert content[: 64 * 1024].isascii()
    session_id = await new_session(client)
    response = await upload(client, session_id, "late.csv", content)
    assert response.status_code == 201, response.text
    stored = stored_table(settings, session_id, response.json()["file_id"])
    assert_frame_equal(stored, pd.read_csv(io.StringIO(text)))
    assert stored["name"].tail(2).tolist() == ["Café €", "São Paulo"]
    assert response.json()["summary"]["encoding"] == encoding


async def test_a_file_mixing_utf8_and_windows_1252_is_refused_with_the_line(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    content = "name,city\nAnaïs,Zürich\nJosé,Málaga\n".encode() + "Renée,Besançon\n".encode(
        "cp1252"
    )
    session_id = await new_session(client)
    response = await upload(client, session_id, "mixed.csv", content)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "unreadable_file"
    assert "line 4" in response.json()["message"] and "UTF-8" in response.json()["message"]
    assert files_under(settings.quarantine_dir) == [] and files_under(settings.ready_dir) == []
