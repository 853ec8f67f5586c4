"""Stand-ins for long tool work, run in the worker lanes by the tests.

A module of its own that imports nothing heavy, so a worker process loads it in milliseconds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

# Longest a test waits for stand-ins to start: a guard against hanging, not a measurement.
START_WAIT_SECONDS = 120


def occupy(
    started_dir: str, release: str, seconds: float, spin: bool = False
) -> tuple[float, float]:
    """Hold a worker until the file `release` exists or `seconds` pass; spin to load a core.

    Leaves a file in `started_dir` as it starts, so a test can see it running. Returns when it
    started and ended (time.monotonic(), one clock for every process of the machine).
    """
    started = time.monotonic()
    (Path(started_dir) / uuid.uuid4().hex).touch()
    while not Path(release).exists() and time.monotonic() - started < seconds:
        if spin:
            sum(range(100_000))  # about a millisecond of arithmetic between checks
        else:
            time.sleep(0.02)
    return started, time.monotonic()


async def wait_until_started(started_dir: Path, count: int) -> None:
    """Wait until `count` `occupy` calls are running (their start files exist)."""
    give_up = time.monotonic() + START_WAIT_SECONDS
    while len(list(started_dir.iterdir())) < count:
        assert time.monotonic() < give_up, f"{count} stand-in calls never started"
        await asyncio.sleep(0.02)


def thread_budget(started_dir: str, release: str, seconds: float) -> dict[str, object]:
    """Hold a worker like `occupy`, then say which threads this call was given: the budget,
    the size the thread pools of OpenMP and BLAS are held to, and a forest's `n_jobs`."""
    from threadpoolctl import threadpool_info

    from data_science.ml.estimators import make_estimator
    from data_science.runtime.workers import job_threads

    occupy(started_dir, release, seconds)
    return {
        "budget": job_threads(),
        "pools": {pool["user_api"]: pool["num_threads"] for pool in threadpool_info()},
        "forest_n_jobs": make_estimator("random_forest", "classification").n_jobs,
    }
