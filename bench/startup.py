"""How soon the app answers after `main.py` starts, beside what its imports alone cost.

Targets (issue #17): the port opens and /healthz answers within 3 s of launch; the first answered
chat turn comes within 1.3x the time `python -c "import google.adk, pandas, sklearn"` takes on
the same machine. Each figure is the median of the runs (RUNS, or `--runs N`), the baseline's
and the app's launches taking turns so that a change in the machine's load falls on both; the
1-minute load average is printed before and after (on a shared machine it says how far to
trust the figures). Run: `uv run python bench/startup.py [--runs N]` (prints the table and
writes it to bench/results/startup.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_science.config import APP_NAME
from tests.conftest import LiveServer

RUNS = 3
RESULTS = Path(__file__).parent / "results" / "startup.md"
IMPORTS = "import google.adk, pandas, sklearn"


def imports_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True)
    return time.perf_counter() - started


def launch_seconds() -> tuple[float, float]:
    """(seconds until /healthz answers, seconds until the first chat turn is answered)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "data")
        server.warmed_up = lambda: True  # type: ignore[method-assign]  # timed here instead
        started = time.perf_counter()
        server.start()
        try:
            port_open = wait_for_healthz(server.url, started)
            session = httpx.post(f"{server.url}/apps/{APP_NAME}/users/bench/sessions", timeout=600)
            turn = {
                "app_name": APP_NAME,
                "user_id": "bench",
                "session_id": session.json()["id"],
                "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
            }
            httpx.post(f"{server.url}/run", json=turn, timeout=600).raise_for_status()
            return port_open, time.perf_counter() - started
        finally:
            server.stop()


def wait_for_healthz(url: str, started: float) -> float:
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.01)


def row(name: str, values: list[float], goal: float, label: str) -> str:
    median = statistics.median(values)
    spread = f"{min(values):.1f} s, {max(values):.1f} s"
    return f"| {name} | {median:.1f} s | {spread} | {label} | {'yes' if median <= goal else 'no'} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="launches of each (median)")
    runs = parser.parse_args().runs
    load_before = os.getloadavg()[0]
    imports: list[float] = []
    launches: list[tuple[float, float]] = []
    for _ in range(runs):
        imports.append(imports_seconds())
        launches.append(launch_seconds())
    load_after = os.getloadavg()[0]
    baseline = statistics.median(imports)
    rows = [
        ("port open, /healthz answers", [port for port, _ in launches], 3.0, "3 s"),
        (
            "first chat turn answered",
            [turn for _, turn in launches],
            1.3 * baseline,
            f"1.3 x {baseline:.1f} s",
        ),
    ]
    lines = [
        f"`{IMPORTS}` alone: {baseline:.1f} s (median of {runs}); 1-minute load average "
        f"{load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores",
        "",
        "| measure | median of runs | fastest, slowest | target | met |",
        "|---|---|---|---|---|",
        *(row(name, values, goal, label) for name, values, goal, label in rows),
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
