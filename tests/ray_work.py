"""A driver for tests/test_ray_compute.py, run inside the Ray test namespace, and its stand-ins.

`python -m tests.ray_work <table.csv> <column> <pid_dir>` joins RAY_ADDRESS the way the app does
(`ray_compute.connect`), sends real calls through `workers.run_cpu` and `run_with_deadline`,
and prints what came back as one JSON line, for the test to check against local computation.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from data_science.config import load_settings
from data_science.errors import ToolError
from data_science.ml.analysis.aggregate import value_counts
from data_science.runtime import ray_compute, workers
from data_science.storage.tables import TableFile

HOLD_SECONDS = 120.0


def hold(pid_dir: str, seconds: float) -> int:
    """Leave a file named by this process's id, then keep a core busy for `seconds`."""
    (Path(pid_dir) / str(os.getpid())).touch()
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        sum(range(10_000))
    return os.getpid()


async def drive(table: TableFile, column: str, pid_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"driver_pid": os.getpid()}
    out["counts"] = await workers.run_cpu(value_counts, table, column, 3, lane="quick")
    out["worker_pid"] = await workers.run_cpu(os.getpid, lane="heavy")
    try:
        await workers.run_cpu(value_counts, table, column, 0, lane="quick")
    except ToolError as error:
        out["error"] = {"type": type(error).__name__, "message": error.message, "code": error.code}
    started = time.monotonic()
    try:
        (pid_dir / "deadline").mkdir()
        await workers.run_with_deadline(hold, str(pid_dir / "deadline"), HOLD_SECONDS, deadline=8)
    except workers.DeadlineExceeded as error:
        out["deadline"] = {"message": str(error), "seconds": time.monotonic() - started}
    cancel = threading.Event()
    (pid_dir / "cancel").mkdir()
    threading.Timer(8, cancel.set).start()
    started = time.monotonic()
    try:
        await workers.run_with_deadline(
            hold, str(pid_dir / "cancel"), HOLD_SECONDS, deadline=HOLD_SECONDS, cancel=cancel
        )
    except workers.JobCancelled as error:
        out["cancelled"] = {"message": str(error), "seconds": time.monotonic() - started}
    return out


def main() -> None:
    settings = load_settings()
    if problem := ray_compute.connect(settings):
        sys.exit(problem)
    path, column, pid_dir = sys.argv[1:4]
    out = asyncio.run(drive(TableFile(Path(path), "csv"), column, Path(pid_dir)))
    ray_compute.disconnect()
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
