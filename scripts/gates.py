"""Run every quality gate, as CI does: `uv run python scripts/gates.py` (then `uv run pytest`).

Gates: ruff lint, ruff format check, mypy, bandit (medium and high), dependency audit.
Each runs even if an earlier one failed, so one run shows every problem.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

GATES: list[tuple[str, list[str]]] = [
    ("ruff lint", [PYTHON, "-m", "ruff", "check", "."]),
    ("ruff format", [PYTHON, "-m", "ruff", "format", "--check", "."]),
    ("mypy", [PYTHON, "-m", "mypy"]),
    (
        "bandit",
        [
            PYTHON,
            "-m",
            "bandit",
            "-c",
            "pyproject.toml",
            "-r",
            "data_science",
            "main.py",
            "verify_production.py",
            "scripts",
            "--severity-level",
            "medium",
            "-q",
        ],
    ),
    ("dependency audit", [PYTHON, "scripts/audit_dependencies.py"]),
]


def main() -> int:
    failed = []
    for name, command in GATES:
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT)  # noqa: S603 - fixed argument lists
        seconds = time.perf_counter() - started
        print(f"--- {name}: {'ok' if result.returncode == 0 else 'FAILED'} ({seconds:.1f} s)\n")
        if result.returncode != 0:
            failed.append(name)
    print("all gates passed" if not failed else f"failed gates: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
