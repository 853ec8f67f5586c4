"""How quickly /healthz answers while a model trains, against an idle server.

Starts the real app (`main.py`) on a free port, uploads a `--rows`-row CSV (150,000 by default),
and probes /healthz every 50 ms: idle, during the first chat turn, and while the offline model
trains on the CSV. The targets: well under 100 ms while a train call is running (issue:
foundation), p99 under 50 ms (issue #17).
Run: `uv run python bench/healthz_during_train.py [--rows N]` (prints the table and writes it
to bench/results/healthz_during_train.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import (
    HealthProbe,
    met,
    new_session,
    running_app,
    turn,
    upload,
    write_labelled_csv,
    write_table,
)

ROWS = 150_000
P99_GOAL_MS = 50.0
UPLOAD_LIMIT = 1_000_000_000  # full-precision floats: 150k rows pass 50 MB, larger may not
IDLE_SECONDS = 2.0


def line(name: str, probe: HealthProbe, goal: str = "") -> list[str]:
    latencies = probe.latencies_ms
    median = statistics.median(latencies) if latencies else 0.0
    return [
        name,
        str(len(latencies)),
        f"{median:.1f} ms",
        f"{probe.percentile(0.95):.1f} ms",
        f"{probe.percentile(0.99):.1f} ms",
        f"{max(latencies, default=0.0):.1f} ms",
        goal and f"p99 {goal} ms",
        goal and met(probe.percentile(0.99), float(goal)),
    ]


def measure(folder: Path, rows: int) -> list[list[str]]:
    csv = folder / "big.csv"
    write_labelled_csv(csv, rows)
    with (
        running_app(folder / "data", {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as server,
        httpx.Client(base_url=server.url, timeout=1800) as http,
    ):
        with HealthProbe(server.url, interval=0.05) as idle:
            time.sleep(IDLE_SECONDS)
        session = new_session(http)
        upload(http, session, csv)
        with HealthProbe(server.url, interval=0.05) as first:
            turn(http, session, "list my files")
        started = time.perf_counter()
        with HealthProbe(server.url, interval=0.05) as busy:
            results = turn(http, session, "train a model to predict label")
        seconds = time.perf_counter() - started
    status = results.get("train", {}).get("status", "no train call")
    return [
        line("idle server", idle),
        line("first chat turn", first),
        line(f"during `train` ({status}, {seconds:.1f} s)", busy, f"{P99_GOAL_MS:g}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        lines = measure(Path(tmp), rows)
    text = write_table(
        "healthz_during_train",
        f"/healthz latency, probed every 50 ms; `train` on {rows:,} rows x 12 features",
        ["while", "probes", "p50", "p95", "p99", "max", "target", "met"],
        lines,
    )
    print(text)


if __name__ == "__main__":
    main()
