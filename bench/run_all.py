"""Every issue #17 benchmark in one command, one after another; each writes its table to
bench/results/ and this prints them all (copy them into the README's Performance section).

Run: `uv run python bench/run_all.py [--quick]`. A full run loads the machine for about ten
minutes; `--quick` uses small sizes (for trying the scripts, not for the README's figures).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parent
FULL = {
    "startup": [],
    "cores": ["--rows", "300000"],
    "ingest": ["--megabytes", "50", "--stages"],
    "growth": ["--rows", "10000", "100000", "1000000"],
}
QUICK = {
    "startup": [],
    "cores": ["--rows", "20000"],
    "ingest": ["--megabytes", "5", "--stages"],
    "growth": ["--rows", "10000"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    runs = QUICK if parser.parse_args().quick else FULL
    failed = []
    for name, arguments in runs.items():
        print(f"== {name} {' '.join(arguments)}", flush=True)
        done = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *arguments], check=False)
        if done.returncode:
            failed.append(name)
    for name in runs:
        table = BENCH / "results" / f"{name}.md"
        if table.exists():
            print(f"\n### {name}\n\n{table.read_text()}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
