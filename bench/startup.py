"""How soon the app answers after `main.py` starts, beside what its imports alone cost.

Targets (issue #17): the port opens and /healthz answers within 3 s of launch; the first answered
chat turn comes within 1.3x the time `python -c "import google.adk, pandas, sklearn"` takes on
the same machine. Each figure is the median of RUNS launches, measured in this one run.
Run: `uv run python bench/startup.py` (prints the table and writes it to bench/results/startup.md).
"""

from __future__ import annotations

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


def main() -> None:
    baseline = statistics.median(imports_seconds() for _ in range(RUNS))
    launches = [launch_seconds() for _ in range(RUNS)]
    port_open = statistics.median(port for port, _ in launches)
    first_turn = statistics.median(turn for _, turn in launches)
    rows = [
        ("port open, /healthz answers", port_open, 3.0, "3 s"),
        ("first chat turn answered", first_turn, 1.3 * baseline, f"1.3 x {baseline:.1f} s"),
    ]
    lines = [
        f"`{IMPORTS}` alone: {baseline:.1f} s (median of {RUNS})",
        "",
        "| measure | median of runs | target | met |",
        "|---|---|---|---|",
        *(
            f"| {name} | {value:.1f} s | {label} | {'yes' if value <= goal else 'no'} |"
            for name, value, goal, label in rows
        ),
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
