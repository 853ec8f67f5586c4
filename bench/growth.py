"""Growth: time and the whole app's peak memory as a table grows, step by step.

Issue #17: for 10k, 100k, 1M and 10M rows, upload, profile, group-by, histogram and default
train, so a reader sees how cost grows with size and where it stops. The app is `main.py` in
its own process with MAX_UPLOAD_BYTES raised to UPLOAD_LIMIT; each step is one chat turn on the
offline model (the upload is the HTTP upload). Memory is the resident memory of the server and
all its worker processes together, sampled every 50 ms (psutil), the peak during the step.
A size stops at its first failing step (the table says why); later steps are not run.
Run: `uv run python bench/growth.py [--rows 10000 100000 ...]` (writes bench/results/growth.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import PeakMemory, new_session, running_app, turn, upload, write_table

UPLOAD_LIMIT = 4_000_000_000
SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
STEPS = {
    "profile": ("what is in this file", "analyze_dataset"),
    "group-by": ("average amount by city", "group_by"),
    "histogram": ("histogram of amount", "plot"),
    "train": ("train a model to predict amount", "train"),
}


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(11)
    features = rng.normal(size=(rows, 4)).round(5)
    frame = pd.DataFrame(features, columns=["f0", "f1", "f2", "f3"])
    frame["city"] = rng.choice(["Paris", "Lyon", "Oslo", "Lima", "Kyiv"], rows)
    frame["amount"] = (features @ [2.0, -1.0, 0.5, 0.1] + rng.normal(size=rows)).round(4)
    frame.to_csv(path, index=False)


def timed(memory: PeakMemory, step: Any) -> tuple[float, int, Any]:
    memory.peak_bytes = memory.now()
    started = time.perf_counter()
    result = step()
    return time.perf_counter() - started, memory.peak_bytes, result


def one_size(rows: int, folder: Path) -> list[list[str]]:
    csv = folder / f"table_{rows}.csv"
    write_csv(csv, rows)
    size = csv.stat().st_size
    lines: list[list[str]] = []
    env = {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}
    with (
        running_app(folder / f"data_{rows}", env) as server,
        httpx.Client(base_url=server.url, timeout=3600) as http,
    ):
        session = new_session(http)
        with PeakMemory(server.pid) as memory:
            took, peak, _ = timed(memory, lambda: upload(http, session, csv))
            lines.append(row(rows, size, "upload", took, peak, "ok"))
            for name, (text, tool) in STEPS.items():
                took, peak, results = timed(memory, lambda text=text: turn(http, session, text))
                status = results.get(tool, {}).get("status", f"no {tool} call")
                note = status if status == "ok" else f"{status}: {results.get(tool)}"[:120]
                lines.append(row(rows, size, name, took, peak, note))
                if status != "ok":
                    break
    csv.unlink()
    return lines


def row(rows: int, size: int, step: str, took: float, peak: int, note: str) -> list[str]:
    return [
        f"{rows:,}",
        f"{size / 1e6:.1f} MB",
        step,
        f"{took:.1f} s",
        f"{peak / 1e9:.2f} GB",
        note,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=SIZES)
    sizes = parser.parse_args().rows
    lines: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            try:
                lines += one_size(rows, Path(tmp))
            except (httpx.HTTPError, RuntimeError) as error:
                lines.append([f"{rows:,}", "", "stopped", "", "", f"{error}"[:120]])
    text = write_table(
        "growth",
        "Time and whole-app peak memory (server + workers) per step; "
        f"MAX_UPLOAD_BYTES raised to {UPLOAD_LIMIT / 1e9:.0f} GB",
        ["rows", "CSV", "step", "time", "peak memory", "result"],
        lines,
    )
    print(text)


if __name__ == "__main__":
    main()
