"""Hostile uploads, built in the test, sent through the real upload route.

Every refusal must answer 4xx JSON naming the reason, leave quarantine empty, write nothing
outside the data dir, and leave the server serving. The legitimate cases must come through
whole, with no image metadata left.
"""

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from data_science.config import Settings
from tests.hostile_files import (
    central_records,
    jpeg_with_gps,
    lying_zip,
    make_zip,
    overlapping_zip,
    png,
    png_claiming,
    zip_with_info,
)

APP = "data_science"
SAFE_STORED_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


# Driving the route ----------------------------------------------------------------------------
async def new_session(client: httpx.AsyncClient) -> str:
    return str((await client.post(f"/apps/{APP}/users/alice/sessions", json={})).json()["id"])


async def send(
    client: httpx.AsyncClient, name: str, content: bytes, mime: str = "application/octet-stream"
) -> httpx.Response:
    session_id = await new_session(client)
    return await client.post(
        "/api/uploads",
        data={"user_id": "alice", "session_id": session_id},
        files={"file": (name, content, mime)},
    )


def all_files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def guard(settings: Settings) -> Iterator[None]:
    """Nothing may appear outside DATA_DIR; quarantine must end empty."""
    outside = settings.DATA_DIR.parent
    before = {p for p in all_files(outside) if settings.DATA_DIR not in p.parents}
    yield
    after = {p for p in all_files(outside) if settings.DATA_DIR not in p.parents}
    assert after - before == set()
    assert all_files(settings.quarantine_dir) == set()


async def assert_refused(
    client: httpx.AsyncClient, response: httpx.Response, status: int, code: str, settings: Settings
) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and len(body["message"]) > 10
    assert all_files(settings.ready_dir) == set()
    assert (await client.get("/healthz")).status_code == 200


# ZIP bombs and hostile archives ---------------------------------------------------------------
ZIP_CASES = {
    "high_ratio": (lambda: make_zip({"zeros.csv": b"0" * 2_000_000}), 422, "zip_bomb"),
    "nested": (
        lambda: make_zip({"inner.zip": make_zip({"a.csv": b"a\n1\n"})}),
        422,
        "nested_archive",
    ),
    "overlapping": (overlapping_zip, 422, "overlapping_entries"),
    "too_many_entries": (
        lambda: make_zip({f"f{i}.csv": b"a\n1\n" for i in range(201)}),
        413,
        "too_many_entries",
    ),
    "dot_dot": (lambda: make_zip({"../evil.csv": b"a\n1\n"}), 422, "unsafe_member_name"),
    "absolute": (lambda: make_zip({"/etc/evil.csv": b"a\n1\n"}), 422, "unsafe_member_name"),
    "backslash": (lambda: make_zip({"dir\\evil.csv": b"a\n1\n"}), 422, "unsafe_member_name"),
    "drive_relative": (lambda: make_zip({"C:evil.csv": b"a\n1\n"}), 422, "unsafe_member_name"),
    "drive_absolute": (lambda: make_zip({"C:\\evil.csv": b"a\n1\n"}), 422, "unsafe_member_name"),
    "unc": (
        lambda: make_zip({"\\\\server\\share\\evil.csv": b"a\n1\n"}),
        422,
        "unsafe_member_name",
    ),
    "duplicate": (
        lambda: make_zip({"a.csv": b"a\n1\n", "A.csv": b"a\n2\n"}),
        422,
        "duplicate_member",
    ),
    "truncated": (
        lambda: make_zip({"a.csv": b"a,b\n" + b"1,2\n" * 5000})[:-60],
        422,
        "corrupt_archive",
    ),
}


@pytest.mark.parametrize("case", sorted(ZIP_CASES))
@pytest.mark.usefixtures("guard")
async def test_hostile_archives_are_refused(
    client: httpx.AsyncClient, settings: Settings, case: str
) -> None:
    build, status, code = ZIP_CASES[case]
    await assert_refused(client, await send(client, "data.zip", build()), status, code, settings)


@pytest.mark.usefixtures("guard")
async def test_a_symlink_member_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    info = zipfile.ZipInfo("link.csv")
    info.external_attr = 0o120777 << 16
    response = await send(client, "data.zip", zip_with_info(info, b"/etc/passwd"))
    await assert_refused(client, response, 422, "symlink_member", settings)


@pytest.mark.usefixtures("guard")
async def test_an_encrypted_member_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # zipfile cannot write encrypted members, so set the "encrypted" flag bit in both headers.
    data = bytearray(make_zip({"secret.csv": b"a,b\n1,2\n"}))
    for offset in (6, *(record + 8 for record in central_records(bytes(data)))):
        data[offset] |= 0x1
    response = await send(client, "data.zip", bytes(data))
    await assert_refused(client, response, 422, "encrypted_member", settings)


@pytest.mark.usefixtures("guard")
async def test_headers_that_understate_sizes_are_caught(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await send(client, "data.zip", lying_zip())
    assert response.status_code == 422, response.text
    assert response.json()["error"] in {"zip_bomb", "corrupt_archive"}
    assert all_files(settings.ready_dir) == set()


@pytest.mark.usefixtures("guard")
async def test_total_uncompressed_size_is_limited(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_ZIP_UNCOMPRESSED_BYTES", 10_000)
    members = {f"part{i}.csv": b"a,b\n" + b"%d,%d\n" % (i, i * 7) * 800 for i in range(3)}
    response = await send(client, "data.zip", make_zip(members))
    await assert_refused(client, response, 413, "archive_too_large", settings)


# Images ----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("guard")
async def test_a_dimension_bomb_is_refused_before_decoding(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await send(client, "bomb.png", png_claiming(100_000, 100_000))
    await assert_refused(client, response, 413, "image_too_large", settings)


@pytest.mark.usefixtures("guard")
async def test_real_pixels_over_the_limit_are_refused(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_IMAGE_PIXELS", 1_000_000)
    response = await send(client, "wide.png", png(1500, 1000))
    await assert_refused(client, response, 413, "image_too_large", settings)


@pytest.mark.usefixtures("guard")
async def test_a_truncated_image_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    data = jpeg_with_gps(800, 600)
    response = await send(client, "cut.jpg", data[: len(data) // 2])
    await assert_refused(client, response, 422, "unreadable_image", settings)


@pytest.mark.usefixtures("guard")
async def test_svg_is_not_accepted(client: httpx.AsyncClient, settings: Settings) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await assert_refused(
        client, await send(client, "logo.svg", svg), 415, "extension_not_allowed", settings
    )


def stored_files(settings: Settings, suffix: str) -> list[Path]:
    return [path for path in all_files(settings.ready_dir) if path.suffix == suffix]


@pytest.mark.usefixtures("guard")
async def test_polyglot_payloads_do_not_survive_the_re_encode(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    gif = io.BytesIO()
    Image.new("P", (40, 40), 3).save(gif, "GIF")
    payload = b"*/=1;alert(document.cookie)//"
    response = await send(client, "anim.gif", gif.getvalue() + payload)
    assert response.status_code == 201, response.text
    jpeg_zip = jpeg_with_gps(300, 200) + make_zip({"evil.csv": b"a\n1\n"})
    response = await send(client, "photo.jpg", jpeg_zip)
    assert response.status_code == 201, response.text
    for path in all_files(settings.ready_dir):
        if path.suffix in {".png", ".jpg"}:
            content = path.read_bytes()
            assert payload not in content and b"PK\x03\x04" not in content


# Content that does not match its name ---------------------------------------------------------
MISMATCHES = {
    "html": ("data.csv", b"<!DOCTYPE html><html><body>hi</body></html>"),
    "script": ("data.csv", b"#!/bin/sh\nrm -rf /\n"),
    "elf": ("data.csv", b"\x7fELF\x02\x01\x01" + b"\x00" * 300),
    "png_as_csv": ("data.csv", png(10, 10)),
    "zip_as_xlsx": ("book.xlsx", make_zip({"notes.txt": b"hello"})),
    "csv_as_png": ("picture.png", b"a,b\n1,2\n"),
}


@pytest.mark.parametrize("case", sorted(MISMATCHES))
@pytest.mark.usefixtures("guard")
async def test_content_that_does_not_match_its_name_is_refused(
    client: httpx.AsyncClient, settings: Settings, case: str
) -> None:
    name, content = MISMATCHES[case]
    await assert_refused(
        client, await send(client, name, content, "text/csv"), 415, "content_mismatch", settings
    )


# Tables that try to break the parser ----------------------------------------------------------
@pytest.mark.usefixtures("guard")
async def test_a_field_longer_than_pythons_csv_limit_parses(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    content = b"id,text\n1," + b"x" * 200_000 + b"\n2,short\n"
    response = await send(client, "long.csv", content)
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["rows"] == 2


@pytest.mark.usefixtures("guard")
async def test_a_hundred_thousand_columns_are_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    header = ",".join(f"c{i}" for i in range(100_000)).encode()
    response = await send(client, "wide.csv", header + b"\n" + b"1," * 99_999 + b"1\n")
    await assert_refused(client, response, 422, "unreadable_file", settings)
    assert "MAX_TABLE_COLUMNS" in response.json()["message"]


@pytest.mark.usefixtures("guard")
async def test_nul_bytes_are_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await send(client, "nul.csv", b"a,b\n1,\x002\n")
    assert response.status_code in {415, 422}, response.text
    assert all_files(settings.ready_dir) == set()


@pytest.mark.usefixtures("guard")
async def test_mixed_encodings_parse_or_fail_clearly(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    content = b"city,n\n" + "Zürich,1\n".encode() * 9000 + "Zürich,2\n".encode("latin-1")
    response = await send(client, "mixed.csv", content)
    assert response.status_code in {201, 422}, response.text
    assert (await client.get("/healthz")).status_code == 200


# File names -------------------------------------------------------------------------------------
NAMES = [
    "../../etc/x.csv",
    "a\x07b\x1b.csv",
    "\u202egnp.csv",
    "x" * 300 + ".csv",
    "CON.csv",
    "\uff44\uff41\uff54\uff41.csv",
    "we\u200bird.csv",
    "..\\..\\boot.csv",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.usefixtures("guard")
async def test_hostile_names_are_stored_safely_and_shown_clean(
    client: httpx.AsyncClient, settings: Settings, name: str
) -> None:
    response = await send(client, name, b"a,b\n1,2\n", "text/csv")
    assert response.status_code == 201, response.text
    shown = response.json()["filename"]
    assert all(ch.isprintable() for ch in shown) and "\u202e" not in shown and len(shown) <= 255
    [stored] = [p for p in all_files(settings.ready_dir) if p.name != "meta.json"]
    assert SAFE_STORED_NAME.match(stored.name) and len(stored.name) <= 120
    assert settings.ready_dir in stored.parents


async def test_a_nul_in_the_name_and_a_double_extension(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session_id = await new_session(client)
    body = (
        b'--B\r\nContent-Disposition: form-data; name="user_id"\r\n\r\nalice\r\n'
        b'--B\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
        + session_id.encode()
        + b'\r\n--B\r\nContent-Disposition: form-data; name="file"; '
        b'filename="ok\x00.csv"\r\n\r\na,b\n1,2\n\r\n--B--\r\n'
    )
    response = await client.post(
        "/api/uploads", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 201 and "\x00" not in response.json()["filename"]
    refused = await send(client, "data.csv.exe", b"a,b\n1,2\n")
    assert refused.status_code == 415 and refused.json()["error"] == "extension_not_allowed"


# Flags -----------------------------------------------------------------------------------------
async def test_zips_are_refused_when_safe_unzip_is_off(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ENABLE_SAFE_UNZIP", False)
    response = await send(client, "data.zip", make_zip({"a.csv": b"a\n1\n"}))
    await assert_refused(client, response, 415, "zip_disabled", settings)


async def test_images_are_refused_when_thumbnails_are_off(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ALLOW_IMAGE_THUMBNAILS", False)
    response = await send(client, "pic.png", png(20, 20))
    await assert_refused(client, response, 415, "images_disabled", settings)


async def test_the_original_image_is_kept_only_when_strip_exif_is_off(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "STRIP_EXIF", False)
    original = jpeg_with_gps(600, 400)
    response = await send(client, "photo.jpg", original)
    assert response.status_code == 201
    kept = [p.read_bytes() for p in all_files(settings.ready_dir) if p.suffix == ".jpg"]
    assert original in kept and len(kept) == 2


# Legitimate uploads ----------------------------------------------------------------------------
@pytest.mark.usefixtures("guard")
async def test_a_5_mb_csv_is_accepted_whole(client: httpx.AsyncClient, settings: Settings) -> None:
    rows = b"".join(b"%d,%d.%d,label_%d\n" % (i, i % 97, i % 10, i % 5) for i in range(260_000))
    content = b"id,value,label\n" + rows
    assert len(content) > 5_000_000
    response = await send(client, "big.csv", content, "text/csv")
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["rows"] == 260_000


@pytest.mark.usefixtures("guard")
async def test_a_zip_of_three_csvs_is_extracted_with_skips_listed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    members = {f"sales/{month}.csv": b"day,amount\n1,10\n2,20\n" for month in ("jan", "feb", "mar")}
    members["tool.exe"] = b"MZ\x90\x00"
    members["__MACOSX/._jan.csv"] = b"\x00\x05\x16\x07"
    response = await send(client, "sales.zip", make_zip(members), "application/zip")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "archive"
    extracted = body["summary"]["extracted"]
    assert sorted(m["filename"] for m in extracted) == [
        "sales/feb.csv",
        "sales/jan.csv",
        "sales/mar.csv",
    ]
    assert all(m["rows"] == 2 and m["file_id"].startswith("ds_") for m in extracted)
    skipped = {item["name"]: item["reason"] for item in body["summary"]["skipped"]}
    assert set(skipped) == {"tool.exe", "__MACOSX/._jan.csv"}
    listing = await client.get(f"/api/users/alice/sessions/{await latest_session(client)}/files")
    assert listing.status_code == 200


async def latest_session(client: httpx.AsyncClient) -> str:
    sessions = (await client.get(f"/apps/{APP}/users/alice/sessions")).json()
    return str(max(sessions, key=lambda s: s["lastUpdateTime"])["id"])


@pytest.mark.usefixtures("guard")
async def test_a_large_jpeg_with_gps_becomes_a_clean_thumbnail(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await send(client, "holiday.jpg", jpeg_with_gps(), "image/jpeg")
    assert response.status_code == 201, response.text
    summary = response.json()["summary"]
    assert (summary["original_width"], summary["original_height"]) == (4000, 3000)
    [thumbnail] = stored_files(settings, ".jpg")
    with Image.open(thumbnail) as image:
        # Orientation 6 was applied first: the 4000x3000 photo stands upright as 768x1024.
        assert image.size == (768, 1024)
        assert len(image.getexif()) == 0
        assert "comment" not in image.info and "icc_profile" not in image.info
        assert "exif" not in image.info and not any("xmp" in key.lower() for key in image.info)
    raw = thumbnail.read_bytes()
    assert b"PhoneMaker" not in raw and b"secret comment" not in raw


# Audit and isolation ---------------------------------------------------------------------------
async def test_each_upload_writes_one_audit_record_with_its_facts(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await send(client, "ok.csv", b"a,b\n1,2\n", "text/csv")
    await send(client, "page.csv", b"<!DOCTYPE html><html></html>", "text/csv")
    lines = (settings.DATA_DIR / "audit.jsonl").read_text().splitlines()
    accepted, rejected = (json.loads(line) for line in lines)
    for record in (accepted, rejected):
        assert {
            "time",
            "user",
            "original_name",
            "stored_name",
            "size_bytes",
            "sha256",
            "sniffed_type",
            "outcome",
        } <= record.keys()
        assert record["user"] != "alice" and record["sha256"]
    assert accepted["outcome"] == "accepted" and accepted["sniffed_type"] == "text/plain"
    assert rejected["reason"] == "content_mismatch" and rejected["sniffed_type"] == "text/html"


async def test_another_users_artifacts_and_files_answer_404(client: httpx.AsyncClient) -> None:
    session_id = await new_session(client)
    base = f"/apps/{APP}/users/mallory/sessions/{session_id}"
    assert (await client.get(f"{base}/artifacts/chart.png")).status_code == 404
    assert (await client.get(base)).status_code == 404
    files = await client.get(f"/api/users/mallory/sessions/{session_id}/files")
    assert files.status_code == 404
