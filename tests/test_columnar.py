"""Large text tables at upload (issue #17): summarised in one streaming pass, stored as Parquet.

A CSV is summarised batch by batch with Arrow's streaming reader (bounded memory whatever its
size), and a table with more than LARGE_TABLE_ROWS rows is stored as Parquet whose pandas read is
the frame `read_table` gives for the CSV. What Arrow cannot stream (a type that changes late in
the file, a non-UTF-8 encoding, ragged rows) is read and stored as it always was. Every summary is
compared with the one the whole-file read gives (`table_summary(read_table(...))`), and every
stored table with `read_table` of the uploaded CSV.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_science.config import Settings
from data_science.storage import columnar, tables
from data_science.storage.tables import read_table, summarize_file, table_summary, text_layout
from data_science.storage.workspace import Workspace
from tests.s3_server import S3Server
from tests.test_object_storage import (  # noqa: F401  (the blob store's fixtures)
    bucket_prefix,
    fresh_prefix,
    s3,
    s3_env,
)
from tests.test_tables_arrow import CASES
from tests.test_uploads import files_under, new_session, upload

LOW_LIMIT = 2_000
MISSING = ["", "NA", "null", "nan", "N/A"]


def today_summary(path: Path) -> dict[str, object]:
    """The summary as the whole-file read gives it (what every upload said before streaming)."""
    layout = text_layout(path, path.suffix[1:])
    return {**table_summary(read_table(path, path.suffix[1:], layout)), "encoding": layout.encoding}


def mixed_csv(rows: int, seed: int = 0) -> str:
    """Every kind of column pandas tells apart, with gaps in some, dates and times as text."""
    rng = np.random.default_rng(seed)
    lines = ["id,count,gappy_int,price,label,gappy_label,flag,gappy_flag,day,stamp,clock,empty"]
    for i in range(rows):
        gap = MISSING[i % len(MISSING)] if i % 7 == 3 else None
        lines.append(
            ",".join(
                [
                    str(i),
                    str(int(rng.integers(-50, 50))),
                    gap if gap is not None else str(i * 3),
                    f"{rng.normal():.6f}",
                    f'"city, {i % 13}"',
                    gap if gap is not None else f"g{i % 5}",
                    "True" if i % 2 else "False",
                    gap if gap is not None else ("true" if i % 3 else "false"),
                    f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    f"2024-01-{1 + i % 28:02d} {i % 24:02d}:15:00",
                    f"{i % 24:02d}:30:00",
                    "",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "table.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# The summary ---------------------------------------------------------------------------------
@pytest.fixture(params=["whole", "streamed"])
def read_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each summary test runs on both paths: a file read whole, and one streamed (as a file
    larger than the whole-read size is)."""
    if request.param == "streamed":
        monkeypatch.setattr(columnar, "WHOLE_READ_BYTES", 0)
    return str(request.param)


@pytest.mark.parametrize(("name", "text", "_by_arrow"), CASES, ids=[case[0] for case in CASES])
def test_the_streamed_summary_is_todays(
    tmp_path: Path, name: str, text: str, _by_arrow: bool | None, read_path: str
) -> None:
    path = write(tmp_path, text)
    assert summarize_file(path, "csv", 100) == today_summary(path)


@pytest.mark.parametrize(
    "text",
    [
        mixed_csv(3_000),
        "a,b\n",  # a header alone
        "a;b\n" + "1;x\n" * 10,
        "\ufeffname,n\r\n" + "ä,1\r\nö,\r\n" * 20,  # a UTF-8 BOM, CR LF line ends
        "a,b\r" + "1,x\r2,\r" * 20,  # the old Mac's CR alone
        # A column Arrow's first block reads as whole numbers, then a word, a decimal or a big
        # integer far down the file: the streamed read stops and the whole-file read answers.
        "a,b\n" + "1,2\n" * 400_000 + "word,3\n",
        "a,b\n" + "1,2\n" * 400_000 + "2.5,3\n",
        "a,b\n" + "1,2\n" * 400_000 + "18446744073709551615,3\n",
        "a,b\n" + ",2\n" * 400_000 + "7,3\n",  # empty, then a value
        "a,b\n" + "2024-01-02,2\n" * 400_000 + "soon,3\n",
    ],
    ids=[
        *("mixed", "header only", "semicolons", "bom and crlf", "cr", "word late"),
        *("decimal late", "huge late"),
        *("empty then", "date then word"),
    ],
)
def test_late_type_changes_give_todays_summary(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch, read_path: str
) -> None:
    monkeypatch.setattr(columnar, "INFER_BYTES", 64 * 1024)  # the first block decides the types
    path = write(tmp_path, text)
    assert summarize_file(path, "csv", 100) == today_summary(path)


def test_a_late_type_change_stops_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "a,b\n" + "1,2\n" * 400_000 + "word,3\n")
    assert columnar.scan_csv(path, ",") is not None  # one first block: Arrow sees the word
    monkeypatch.setattr(columnar, "INFER_BYTES", 64 * 1024)
    assert columnar.scan_csv(path, ",") is None


def test_a_table_up_to_the_whole_read_size_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file up to WHOLE_READ_BYTES is summarised from one multi-threaded read, not streamed
    (several times slower); a larger one streams. Both summaries are today's."""
    path = write(tmp_path, mixed_csv(3_000))
    calls: list[str] = []

    def counted(name: str) -> Callable[..., object]:
        read = getattr(tables, name)
        return lambda *args: calls.append(name) or read(*args)

    for name in ("read_whole_csv", "scan_csv"):
        monkeypatch.setattr(tables, name, counted(name))
    assert summarize_file(path, "csv", 100) == today_summary(path)
    assert calls == ["read_whole_csv"]
    # Over the row limit it is converted with its head's types, not streamed once more first.
    target = tmp_path / "out.parquet"
    assert summarize_file(path, "csv", 100, 1_000, target)["stored_as"] == "parquet"
    assert calls == ["read_whole_csv", "read_whole_csv"]
    pd.testing.assert_frame_equal(read_table(target, "parquet"), read_table(path, "csv"))
    monkeypatch.setattr(columnar, "WHOLE_READ_BYTES", path.stat().st_size - 1)
    assert summarize_file(path, "csv", 100) == today_summary(path)
    assert calls == ["read_whole_csv", "read_whole_csv", "scan_csv"]


def test_a_latin1_table_is_summarised_as_today(tmp_path: Path) -> None:
    path = write(tmp_path, "name,n\n" + "Zürich,1\nGenève,2\n" * 50, encoding="latin-1")
    summary = summarize_file(path, "csv", 100)
    assert summary == today_summary(path) and summary["encoding"] != "utf-8"


# Parquet at upload ---------------------------------------------------------------------------
@pytest.fixture
def low_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(settings, "LARGE_TABLE_ROWS", LOW_LIMIT)
    return settings


def stored(settings: Settings, session_id: str, file_id: str) -> tuple[str, Path]:
    workspace = Workspace(settings, "alice", session_id)
    record = workspace.get(file_id)
    return record.name, workspace.table_file(file_id).path


async def test_a_table_over_the_limit_is_stored_as_parquet(
    client: httpx.AsyncClient, low_limit: Settings, tmp_path: Path
) -> None:
    csv_path = write(tmp_path, mixed_csv(LOW_LIMIT * 3))
    session_id = await new_session(client)
    response = await upload(client, session_id, "big.csv", csv_path.read_bytes())
    assert response.status_code == 201, response.text
    summary = response.json()["summary"]
    assert summary == {
        **today_summary(csv_path),
        "content_type": "text/csv",
        "stored_as": "parquet",
    }
    name, path = stored(low_limit, session_id, response.json()["file_id"])
    assert name == "big.csv" and path.suffix == ".parquet"
    assert pq.read_metadata(path).num_rows == LOW_LIMIT * 3
    expected = read_table(csv_path, "csv")
    workspace = Workspace(low_limit, "alice", session_id)
    pd.testing.assert_frame_equal(workspace.table_file(response.json()["file_id"]).load(), expected)
    # Read by any Parquet reader: the same values; missing text is None there, NaN in pandas.
    plain = pd.read_parquet(path)
    pd.testing.assert_frame_equal(plain.fillna(np.nan).infer_objects(), expected)
    left = files_under(low_limit.ready_dir) + files_under(low_limit.quarantine_dir)
    assert sorted(path.name for path in left) == ["big.parquet", "meta.json"]


async def test_a_large_table_refused_late_leaves_nothing(
    client: httpx.AsyncClient, low_limit: Settings, tmp_path: Path
) -> None:
    """A row with a field too many far down the file: Arrow's stream stops, pandas' read refuses
    the file as it always did (422), and neither the upload nor a Parquet file is kept."""
    rows = columnar.INFER_BYTES // len("1,x\n") + 1_000
    session_id = await new_session(client)
    response = await upload(client, session_id, "bad.csv", b"a,b\n" + b"1,x\n" * rows + b"1,2,3\n")
    assert response.status_code == 422 and response.json()["error"] == "unreadable_file"
    assert "Expected 2 fields" in response.json()["message"]
    assert files_under(low_limit.ready_dir) + files_under(low_limit.quarantine_dir) == []


async def test_a_table_at_the_limit_stays_csv(
    client: httpx.AsyncClient, low_limit: Settings, tmp_path: Path
) -> None:
    csv_path = write(tmp_path, mixed_csv(LOW_LIMIT))
    session_id = await new_session(client)
    response = await upload(client, session_id, "edge.csv", csv_path.read_bytes())
    assert response.json()["summary"] == {**today_summary(csv_path), "content_type": "text/csv"}
    _, path = stored(low_limit, session_id, response.json()["file_id"])
    assert path.name == "edge.csv" and path.read_bytes() == csv_path.read_bytes()


async def test_a_late_type_change_falls_back_to_csv(
    client: httpx.AsyncClient, low_limit: Settings, tmp_path: Path
) -> None:
    # Past the reader's first block (which decides the types), in the worker's own process.
    rows = columnar.INFER_BYTES // len("1,x\n") + 1_000
    csv_path = write(tmp_path, "a,b\n" + "1,x\n" * rows + "word,y\n")
    session_id = await new_session(client)
    response = await upload(client, session_id, "late.csv", csv_path.read_bytes())
    assert response.status_code == 201, response.text
    summary = response.json()["summary"]
    assert summary == {**today_summary(csv_path), "content_type": "text/csv"}
    assert summary["columns"][0] == {"name": "a", "type": "text"}
    _, path = stored(low_limit, session_id, response.json()["file_id"])
    assert path.suffix == ".csv"


async def test_a_large_latin1_table_stays_csv(
    client: httpx.AsyncClient, low_limit: Settings, tmp_path: Path
) -> None:
    csv_path = write(tmp_path, "name,n\n" + "Zürich,1\nGenève,2\n" * LOW_LIMIT, encoding="latin-1")
    session_id = await new_session(client)
    response = await upload(client, session_id, "latin.csv", csv_path.read_bytes())
    assert response.json()["summary"] == {**today_summary(csv_path), "content_type": "text/csv"}
    assert stored(low_limit, session_id, response.json()["file_id"])[1].suffix == ".csv"


async def test_a_large_zip_member_is_stored_as_parquet(
    client: httpx.AsyncClient, low_limit: Settings, tmp_path: Path
) -> None:
    csv_path = write(tmp_path, mixed_csv(LOW_LIMIT + 1, seed=3))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.csv", csv_path.read_bytes())
        archive.writestr("small.csv", "a,b\n1,2\n")
    session_id = await new_session(client)
    response = await client.post(
        "/api/uploads",
        data={"user_id": "alice", "session_id": session_id},
        files={"file": ("both.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text
    members = {item["filename"]: item for item in response.json()["summary"]["extracted"]}
    big, small = members["big.csv"], members["small.csv"]
    assert big["stored_as"] == "parquet" and "stored_as" not in small
    assert big["rows"] == LOW_LIMIT + 1 and big["columns"] == today_summary(csv_path)["columns"]
    workspace = Workspace(low_limit, "alice", session_id)
    table = workspace.table_file(big["file_id"])
    assert table.extension == "parquet"
    pd.testing.assert_frame_equal(table.load(), read_table(csv_path, "csv"))


def test_row_groups_hold_at_most_the_group_size(tmp_path: Path) -> None:
    csv_path = write(tmp_path, mixed_csv(10_000, seed=5))
    target = tmp_path / "out.parquet"
    summary = summarize_file(
        csv_path, "csv", 100, large_rows=5_000, parquet_target=target, row_group_rows=3_000
    )
    assert summary["stored_as"] == "parquet" and summary["rows"] == 10_000
    metadata = pq.read_metadata(target)
    sizes = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
    assert sum(sizes) == 10_000 and max(sizes) <= 3_000 and len(sizes) >= 4
    pd.testing.assert_frame_equal(read_table(target, "parquet"), read_table(csv_path, "csv"))


# Memory --------------------------------------------------------------------------------------
# The peak is the process's own (VmHWM, reset through clear_refs once the imports are done):
# ru_maxrss would start at the parent's peak, which hides any growth under pytest.
MEASURE = """
import json, sys
from pathlib import Path
from data_science.storage import columnar, tables
columnar.WHOLE_READ_BYTES = 1_000_000  # the files stand for ones beyond the whole-read size

def peak_kib():
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])

path, target = Path(sys.argv[1]), Path(sys.argv[2])
Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from what is resident now
before = peak_kib()
if sys.argv[3] == "convert":
    summary = tables.summarize_file(path, "csv", 100, 1_000, target, 100_000)
else:
    summary = tables.summarize_file(path, "csv", 100)
print(json.dumps({"grew_kib": peak_kib() - before, "summary": summary}))
"""
CSV_SIZES = {"small": 60_000_000, "large": 180_000_000}  # both past the fixed buffers


def write_csv(path: Path, size: int) -> int:
    """A CSV of about `size` bytes, written in pieces (the test never holds it whole); its rows."""
    rows = 0
    with path.open("w") as handle:
        handle.write("id,score,name,day\n")
        while handle.tell() < size:
            handle.write(
                "".join(
                    f"{rows + i},{(rows + i) * 0.37:.3f},name {rows + i},2024-01-02\n"
                    for i in range(50_000)
                )
            )
            rows += 50_000
    return rows


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    folder = tmp_path_factory.mktemp("sizes")
    return {
        name: (folder / f"{name}.csv", write_csv(folder / f"{name}.csv", size))
        for name, size in CSV_SIZES.items()
    }


def measured_growth(path: Path, rows: int, target: Path, mode: str) -> int:
    """The bytes a fresh process's peak memory grew by while summarising (or converting)."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(target), mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    report = json.loads(out.stdout)
    assert report["summary"] == {
        "rows": rows,
        "columns": [
            {"name": "id", "type": "integer"},
            {"name": "score", "type": "number"},
            {"name": "name", "type": "text"},
            {"name": "day", "type": "text"},
        ],
        "encoding": "utf-8",
        **({"stored_as": "parquet"} if mode == "convert" else {}),
    }
    if mode == "convert":
        assert pq.read_metadata(target).num_rows == rows
    return int(report["grew_kib"]) * 1024


@pytest.mark.parametrize("mode", ["summary", "convert"])
def test_a_large_csv_is_read_in_memory_that_does_not_grow_with_the_file(
    csv_files: dict[str, tuple[Path, int]], tmp_path: Path, mode: str
) -> None:
    """Three times the file, about the same peak: the streaming pass holds a few blocks, whatever
    the size (a whole read holds the file several times over, as Arrow and as pandas)."""
    growth = {
        name: measured_growth(path, rows, tmp_path / f"{name}.parquet", mode)
        for name, (path, rows) in csv_files.items()
    }
    extra_bytes = CSV_SIZES["large"] - CSV_SIZES["small"]
    assert growth["large"] - growth["small"] < extra_bytes / 4, growth
    assert growth["large"] < CSV_SIZES["large"], growth


# With the blob store (STORAGE_URI) -----------------------------------------------------------
async def test_a_large_upload_is_stored_as_parquet_in_the_bucket(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker writes the Parquet file to a staging key; the replica commits it."""
    from data_science.server.app import create_app

    bucket: S3Server = request.getfixturevalue("s3_env")

    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        DATA_DIR=tmp_path / "data",
        STORAGE_URI=f"s3://{bucket.bucket}/{fresh_prefix()}",
        LARGE_TABLE_ROWS=LOW_LIMIT,
    )
    settings.create_data_dirs()
    csv_path = write(tmp_path, mixed_csv(LOW_LIMIT * 2, seed=7))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        session_id = await new_session(client)
        response = await upload(client, session_id, "big.csv", csv_path.read_bytes())
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["stored_as"] == "parquet"
    keys = bucket.keys(bucket_prefix(settings) + "/")
    file_id = response.json()["file_id"]
    assert [key.rpartition("/")[2] for key in keys if f"/{file_id}/" in key] == [
        "big.parquet",
        "meta.json",
    ]
    assert not any(".staging-" in key for key in keys)
    table = Workspace(settings, "alice", session_id).table_file(file_id)
    pd.testing.assert_frame_equal(table.load(), read_table(csv_path, "csv"))


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_converted_table_reads_as_its_csv_whatever_its_line_ends(
    tmp_path: Path, line_end: str
) -> None:
    text = "\ufeff" + mixed_csv(3_000, seed=11).replace("\n", line_end)
    csv_path = write(tmp_path, text)
    target = tmp_path / "out.parquet"
    summary = summarize_file(csv_path, "csv", 100, 2_000, target)
    assert summary == {**today_summary(csv_path), "stored_as": "parquet"}
    pd.testing.assert_frame_equal(read_table(target, "parquet"), read_table(csv_path, "csv"))
