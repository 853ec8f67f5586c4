"""The worker lanes: quick calls never wait behind fits, and chats share the fitting processes.

Stand-in work (`tests/busy_work.py`) fills the heavy lane for as long as a test needs, so each
test asserts on order (what finished while what was still running), never on a duration.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd
import psutil
import pytest
import structlog
from google.adk.tools.tool_context import ToolContext

from data_science.runtime.workers import lane_size, run_cpu
from data_science.tools.data import analyze_dataset
from data_science.tools.viz import plot
from tests.busy_work import occupy, wait_until_started
from tests.conftest import PROJECT_ROOT, add_dataset

# Stand-ins hold their worker at most this long if a test fails before releasing them.
HOLD_SECONDS = 90
PAUSE_SECONDS = 1.0


async def test_a_profile_finishes_while_every_fitting_process_is_busy_and_more_fits_wait(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    fits = [
        asyncio.ensure_future(
            run_cpu(occupy, str(started), str(release), HOLD_SECONDS, lane="heavy")
        )
        for _ in range(2 * lane_size("heavy"))  # every process busy, as many again queued
    ]
    try:
        await wait_until_started(started, lane_size("heavy"))
        profile = await analyze_dataset(dataset_id=dataset_id, tool_context=tool_context)
        chart = await plot(
            dataset_id=dataset_id, kind="histogram", x="body_mass_g", tool_context=tool_context
        )
        still_running = [not fit.done() for fit in fits]
    finally:
        release.touch()
        await asyncio.gather(*fits)
    assert profile["status"] == "ok" and profile["rows"] == 344, profile
    assert chart["status"] == "ok", chart
    assert all(still_running)  # the quick calls did not wait for a single fit


async def _submit_as(
    session: str, count: int, started: Path, release: Path
) -> list[asyncio.Future[tuple[float, float]]]:
    """`count` one-second fits from chat `session` (the id the agent turn binds to its context)."""
    structlog.contextvars.bind_contextvars(session_id=session)
    return [
        asyncio.ensure_future(
            run_cpu(occupy, str(started), str(release), PAUSE_SECONDS, lane="heavy")
        )
        for _ in range(count)
    ]


async def test_one_chats_many_fits_do_not_make_another_chat_wait_for_all_of_them(
    tmp_path: Path,
) -> None:
    size = lane_size("heavy")
    started, release = tmp_path / "started", tmp_path / "never"
    started.mkdir()
    busy_chat = await asyncio.create_task(_submit_as("busy-chat", 3 * size, started, release))
    await wait_until_started(started, size)  # the first wave runs, the rest of them wait
    other_chat = await asyncio.create_task(_submit_as("other-chat", 1, started, release))
    busy = sorted(start for start, _ in await asyncio.gather(*busy_chat))
    ((other_start, _),) = await asyncio.gather(*other_chat)
    # First come, first served would start it after all of the busy chat's fits (fourth wave);
    # in turn, it starts with the second wave, a whole wave before the busy chat's third.
    assert other_start < busy[2 * size - 1]


async def test_a_worker_that_dies_fails_its_own_call_and_later_calls_get_a_fresh_process() -> None:
    # As when the kernel kills a fit that ran out of memory.
    with pytest.raises(BrokenProcessPool):
        await run_cpu(os._exit, 1, lane="heavy")
    assert await run_cpu(sum, [1, 2], lane="heavy") == 3


# A process that starts both lanes and a job process, says its pid, then dies without clean-up.
ORPHANING_PARENT = """
import os, signal, sys
from data_science.runtime import workers
workers.warm_up()
workers.run_in_process(os.getpid, lane="heavy")
print(os.getpid(), flush=True)
sys.stdin.readline()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_end_when_the_process_that_started_them_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_PARENT],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None and parent.stdin is not None
    assert int(parent.stdout.readline()) == parent.pid
    descendants = psutil.Process(parent.pid).children(recursive=True)
    assert len(descendants) >= 2  # the quick lane's workers, a fitting worker, the tracker
    parent.stdin.write(b"go\n")
    parent.stdin.flush()
    parent.wait(timeout=30)
    gone, alive = psutil.wait_procs(descendants, timeout=30)
    assert alive == [], [process.cmdline() for process in alive]
    assert len(gone) == len(descendants)
