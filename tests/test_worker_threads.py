"""Threads per job: one job alone uses every usable core, jobs running together share them.

Issue #17: a training run used one core whatever the machine had. Each call in a worker now
gets `usable cores // calls running when it starts` threads (at least 1) for its OpenMP and BLAS
pools and for the estimators' `n_jobs`. Stand-in work (`tests/busy_work.py`) holds the workers,
so the test asserts on what each call was given, never on a duration.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from data_science.runtime import workers
from data_science.runtime.workers import lane_size, run_cpu, usable_cores
from tests.busy_work import thread_budget, wait_until_started

HOLD_SECONDS = 90


async def test_a_lone_job_gets_every_core_and_jobs_running_together_share_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "busy_elsewhere", lambda: 0.0)  # as on an idle machine
    cores = usable_cores()
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    release.touch()  # alone: nothing to wait for
    alone = await run_cpu(thread_budget, str(started), str(release), HOLD_SECONDS, lane="heavy")
    assert alone["budget"] == cores
    assert alone["forest_n_jobs"] == cores
    assert set(alone["pools"].values()) == {cores}  # type: ignore[union-attr]

    release.unlink()
    for path in started.iterdir():
        path.unlink()
    first = asyncio.ensure_future(
        run_cpu(thread_budget, str(started), str(release), HOLD_SECONDS, lane="heavy")
    )
    await wait_until_started(started, 1)
    together = max(2, lane_size("heavy"))
    others = [
        asyncio.ensure_future(
            run_cpu(thread_budget, str(started), str(release), HOLD_SECONDS, lane="quick")
        )
        for _ in range(together - 1)
    ]
    await wait_until_started(started, together)
    release.touch()
    first_result, *other_results = [await call for call in [first, *others]]
    assert first_result["budget"] == cores
    shares = sorted(result["budget"] for result in other_results)
    # The n-th call to start while n - 1 others run gets cores // n threads, at least 1.
    assert shares == sorted(max(1, cores // n) for n in range(2, together + 1))
    for result in other_results:
        assert result["forest_n_jobs"] == result["budget"]
        assert set(result["pools"].values()) == {result["budget"]}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("load", "running", "expected"),
    [(0.0, 1, 8), (0.0, 3, 2), (3.0, 1, 5), (3.0, 3, 2), (7.6, 1, 1), (20.0, 2, 1)],
)
def test_a_call_gets_no_more_threads_than_the_idle_cores(
    monkeypatch: pytest.MonkeyPatch, load: float, running: int, expected: int
) -> None:
    """On 8 cores: `load` is the load average, which counts the calls already running."""
    monkeypatch.setattr(workers, "usable_cores", lambda: 8)
    monkeypatch.setattr(workers, "busy_elsewhere", lambda: load)
    assert workers.thread_budget(running) == expected
