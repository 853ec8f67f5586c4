"""Ingest: uploading a CSV through the app against `pyarrow.csv.read_csv` of the same file.

Issue #17's target: a 50 MB CSV is uploaded (streamed, checked, parsed, summarised) in at most
1.5x the time `pyarrow.csv.read_csv` takes to read it. The upload goes through the real app
(`main.py` in its own process, warmed up) over HTTP; pyarrow reads the file in this process with
its default threading. Each figure is the median of RUNS. Where the upload's time goes is shown
pass by pass, each timed alone in this process (`--stages`): the stream (multipart parsing, the
hash and the quarantine write), libmagic, the worker hand-off, the encoding check, the parse and
its summary.
Run: `uv run python bench/ingest.py [--megabytes N] [--stages]` (writes bench/results/ingest.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from pyarrow import csv as arrow_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import met, new_session, running_app, upload, write_table
from data_science.intake.pipeline import SPILL_BYTES

RUNS = 3
RECEIVE_CHUNK = 64 * 1024
UPLOAD_LIMIT = 1_000_000_000  # the default 50 MB refuses a file of 50.0 MB or more
BYTES_PER_ROW = 56  # about, for the table below


def write_csv(path: Path, megabytes: float) -> int:
    """A mixed table (integers, floats with gaps, categories, dates, free text) of about
    `megabytes`; returns its row count."""
    rows = int(megabytes * 1_000_000 / BYTES_PER_ROW)
    rng = np.random.default_rng(3)
    values = rng.normal(size=(rows, 3)).round(4)
    values[rng.random(size=(rows, 3)) < 0.05] = np.nan
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "amount": values[:, 0] * 100,
            "score": values[:, 1],
            "ratio": values[:, 2],
            "city": rng.choice(["Paris", "Zürich", "New York", "São Paulo", "Tokyo"], rows),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D"),
            "note": rng.choice(["ok", "late delivery", "fine, thanks", "n/a", ""], rows),
        }
    )
    frame.to_csv(path, index=False)
    return rows


def seconds(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def median_seconds(function: Callable[[], object]) -> float:
    return statistics.median(seconds(function) for _ in range(RUNS))


def stages(path: Path, quarantine: Path) -> list[list[str]]:
    """Every pass the upload makes over the file, each timed alone in this process (the app's
    server and workers do the same calls). The first three are the server's receiving of the
    body (multipart parsing, then the hashing and writing it hands to a thread), the parse and
    summary are `summarize_file`'s."""
    import hashlib

    from data_science.intake.validators import check_content_matches
    from data_science.runtime import workers
    from data_science.storage import tables
    from data_science.storage.charsets import detect_encoding

    data = path.read_bytes()
    body, boundary = multipart_body(path.name, data)
    workers.run_in_process(len, str(path), lane="quick")  # the worker is started and warm
    steps = {
        "stream: multipart parsing (server)": lambda: parse_multipart(body, boundary),
        "stream: sha256 (server, in a thread)": lambda: hashlib.sha256(data).hexdigest(),
        "stream: quarantine write (server, in a thread)": lambda: write_blocks(quarantine, data),
        "libmagic content check (server)": lambda: check_content_matches(path, "csv"),
        "worker hand-off and answer": lambda: workers.run_in_process(len, str(path), lane="quick"),
        "encoding and NUL check, every byte (worker)": lambda: detect_encoding(path),
        "layout: the encoding pass above + delimiter (worker)": lambda: tables.text_layout(
            path, "csv"
        ),
        # What the worker runs: the layout pass above, then Arrow's read of the whole file.
        "parse and summary, `summarize_file` (worker)": lambda: tables.summarize_file(
            path, "csv", 1_000
        ),
    }
    timed = [[name, f"{median_seconds(step):.3f} s"] for name, step in steps.items()]
    workers.shutdown()
    return timed


def multipart_body(name: str, data: bytes) -> tuple[list[bytes], bytes]:
    """The form a client sends, cut into the 64 KB pieces a server receives it in."""
    boundary = b"benchboundary"
    body = (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\n\r\n'
        + data
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    return [body[start : start + RECEIVE_CHUNK] for start in range(0, len(body), RECEIVE_CHUNK)], (
        boundary
    )


def parse_multipart(chunks: list[bytes], boundary: bytes) -> None:
    from python_multipart.multipart import MultipartParser

    received = bytearray()
    parser = MultipartParser(
        boundary, {"on_part_data": lambda data, start, end: received.extend(data[start:end])}
    )
    for chunk in chunks:
        parser.write(chunk)
    parser.finalize()


def write_blocks(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        for start in range(0, len(data), SPILL_BYTES):
            handle.write(data[start : start + SPILL_BYTES])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--stages", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        rows = write_csv(path, arguments.megabytes)
        size = path.stat().st_size
        arrow = median_seconds(lambda: arrow_csv.read_csv(path))
        breakdown = stages(path, Path(tmp) / "quarantine.part") if arguments.stages else []
        with (
            running_app(Path(tmp) / "data", {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as server,
            httpx.Client(base_url=server.url, timeout=600) as http,
        ):
            session = new_session(http)
            upload(http, session, path)  # the workers are warm, as on a serving app
            app = median_seconds(lambda: upload(http, session, path))
    text = write_table(
        "ingest",
        f"A {size / 1e6:.1f} MB CSV ({rows:,} rows, 7 columns), median of {RUNS}",
        ["measure", "figure", "target", "met"],
        [
            ["`pyarrow.csv.read_csv`", f"{arrow:.2f} s", "", ""],
            ["upload through the app", f"{app:.2f} s", "", ""],
            ["ratio", f"{app / arrow:.2f}x", "1.5x", met(app / arrow, 1.5)],
            *[[f"stage: {name}", figure, "", ""] for name, figure in breakdown],
        ],
    )
    print(text)


if __name__ == "__main__":
    main()
