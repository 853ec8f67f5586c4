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
