"""What the code sandbox costs: one sandboxed call against the same code run with `python -c`.

Both sides start a fresh interpreter and pay its imports; the sandboxed side adds bubblewrap's
namespaces and mounts, (for a root server) the user namespace it makes, the child script that
sets the limits, and reading the pipes. Each case runs `--repeat` times alternately; the table
shows the medians and their ratio (goal: at most 1.5x).
Run: `uv run python bench/sandbox_overhead.py [--repeat 7]` (prints the table and writes it to
bench/results/sandbox_overhead.md).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import met, write_table
from data_science.runtime.sandbox import Limits, run_sandboxed, sandbox_problem

CASES = {
    "print only": "print(6 * 7)",
    "pandas and numpy": (
        "import numpy as np\nimport pandas as pd\n"
        "frame = pd.DataFrame({'g': np.arange(100_000) % 7, 'v': np.arange(100_000)})\n"
        "print(frame.groupby('g')['v'].mean().sum())"
    ),
    "scikit-learn fit": (
        "from sklearn.datasets import make_classification\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = make_classification(n_samples=2000, random_state=0)\n"
        "print(LogisticRegression().fit(X, y).score(X, y))"
    ),
}
GOAL = 1.5
LIMITS = Limits(
    timeout_seconds=120, memory_bytes=2_000_000_000, output_bytes=50_000_000, stdout_bytes=20_000
)


def direct(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def sandboxed(code: str) -> float:
    with tempfile.TemporaryDirectory() as work_dir:
        started = time.perf_counter()
        result = run_sandboxed(code, {}, LIMITS, Path(work_dir))
        seconds = time.perf_counter() - started
    if result.outcome != "ok":
        raise RuntimeError(f"the sandboxed run failed: {result.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    if problem := sandbox_problem():
        raise SystemExit(f"the sandbox does not work here: {problem}")
    lines = []
    for name, code in CASES.items():
        plain, boxed = [], []
        for _ in range(repeat):  # alternately, so both sides see the same machine load
            plain.append(direct(code))
            boxed.append(sandboxed(code))
        a, b = statistics.median(plain), statistics.median(boxed)
        lines.append(
            [
                name,
                f"{a:.3f} s",
                f"{b:.3f} s",
                f"{b / a:.2f}x",
                f"{1000 * (b - a):.0f} ms",
                f"{GOAL}x",
                met(b / a, GOAL),
            ]
        )
    text = write_table(
        "sandbox_overhead",
        f"The code sandbox against `python -c`, medians of {repeat} alternate runs",
        ["case", "`python -c`", "sandboxed", "ratio", "overhead", "goal", "met"],
        lines,
    )
    print(text)


if __name__ == "__main__":
    main()
