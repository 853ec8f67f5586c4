"""Every benchmark in one command, one after another: each writes its table to bench/results/,
and this writes them all, in order, with the machine's cores and load, to bench/results/all.md
(copy the figures into the README's Performance section) and prints it.

Run: `uv run python bench/run_all.py [--quick] [--only NAME ...]`. A full run loads the machine
for well over an hour (the 10M-row and 1 GB growth rows, the AutoML comparisons) and should run
on an otherwise quiet machine; `--quick` uses small sizes and budgets (for trying the scripts,
not for the README's figures). A bench that fails is named at the end and its table is left out
(never an earlier run's figures); the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).parent
RESULTS = BENCH / "results"
# Start-up first: it is the figure most disturbed by what ran just before it.
FULL = {
    "startup": [],
    "request_size": ["--before", str(BENCH / "request_size_before.json")],
    "cores": ["--rows", "300000"],
    "ingest": ["--megabytes", "50", "--stages"],
    "growth": ["--rows", "10000", "100000", "1000000", "10000000", "--gigabytes", "1"],
    "healthz_during_train": [],
    "quick_tool_latency": [],
    "sandbox_overhead": [],
    "ray_scaling": ["--budget", "30"],
    "automl_vs_baselines": ["--budget", "60"],
}
QUICK = {
    "startup": [],
    "request_size": ["--before", str(BENCH / "request_size_before.json")],
    "cores": ["--rows", "20000"],
    "ingest": ["--megabytes", "5", "--stages"],
    "growth": ["--rows", "10000", "--gigabytes", "0"],
    "healthz_during_train": ["--rows", "20000"],
    "quick_tool_latency": ["--rows", "2000"],
    "sandbox_overhead": ["--repeat", "2"],
    "ray_scaling": ["--budget", "10"],
    "automl_vs_baselines": ["--budget", "10"],
}
# Benches whose datasets come from a dependency group of their own (pyproject.toml).
GROUPS = {"automl_vs_baselines": "bench"}


def command(name: str, arguments: list[str]) -> list[str]:
    script = str(BENCH / f"{name}.py")
    uv = shutil.which("uv")
    if name in GROUPS and uv:
        return [uv, "run", "--group", GROUPS[name], "python", script, *arguments]
    return [sys.executable, script, *arguments]


def run(name: str, arguments: list[str]) -> tuple[bool, float]:
    """Run one bench from a clean slate (its earlier table removed); True if it succeeded."""
    (RESULTS / f"{name}.md").unlink(missing_ok=True)
    print(f"== {name} {' '.join(arguments)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command(name, arguments), check=False)
    return done.returncode == 0 and (RESULTS / f"{name}.md").exists(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and budgets")
    parser.add_argument("--only", nargs="+", help="these benches only", metavar="NAME")
    arguments = parser.parse_args()
    runs = QUICK if arguments.quick else FULL
    if arguments.only:
        unknown = set(arguments.only) - set(runs)
        if unknown:
            parser.error(f"no bench {', '.join(sorted(unknown))}; the benches: {', '.join(runs)}")
        runs = {name: runs[name] for name in arguments.only}
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    outcomes = {name: run(name, options) for name, options in runs.items()}
    text = (
        f"Benchmarks{' (--quick)' if arguments.quick else ''}, started "
        f"{started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores; load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after.\n"
    )
    for name, (succeeded, seconds) in outcomes.items():
        text += f"\n### {name} ({' '.join(runs[name]) or 'defaults'}; {seconds:.0f} s)\n\n"
        text += (RESULTS / f"{name}.md").read_text() if succeeded else "FAILED (see its output)\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "all.md").write_text(text)
    print(f"\n{text}")
    failed = [name for name, (succeeded, _) in outcomes.items() if not succeeded]
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
