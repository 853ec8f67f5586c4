"""A pool of worker processes for CPU-heavy work (parsing, fitting, drawing).

Threads keep the event loop free of blocking calls, but pure-Python and GIL-holding C code in a
thread still delays the loop. Work sent here runs in another process, so the server keeps
answering in milliseconds while a model trains. Functions sent must be importable top-level
functions of modules that do not import ADK (workers start fast that way).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar, cast

R = TypeVar("R")

WORKER_NICENESS = 10

# How often a job's waiter looks for a cancellation while the job runs.
CANCEL_POLL_SECONDS = 0.25

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()
# Every live `run_with_deadline` process, so that shutdown can stop them all.
_job_processes: set[multiprocessing.process.BaseProcess] = set()


def _worker_count() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def cpu_pool() -> ProcessPoolExecutor:
    """The shared pool, started on first use ('spawn': safe in a threaded server)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=_worker_count(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_prepare_worker,
            )
        return _pool


def _prepare_worker() -> None:
    """Workers yield the CPU to the server process, which must keep answering at once.

    One OpenMP/BLAS thread per worker: the pool already has a worker per core, and nested
    thread pools on a busy machine slow training down many times over.
    """
    os.nice(WORKER_NICENESS)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"


def run_in_process(function: Callable[..., R], *args: Any) -> R:
    """Run `function(*args)` in a worker process and wait (call from a thread, not the loop)."""
    return cpu_pool().submit(function, *args).result()


async def run_cpu(function: Callable[..., R], *args: Any) -> R:
    """Await `function(*args)` running in a worker process."""
    return await asyncio.get_running_loop().run_in_executor(cpu_pool(), function, *args)


class DeadlineExceeded(Exception):
    """A job in its own process ran past its deadline and was stopped."""


class JobCancelled(Exception):
    """A job in its own process was cancelled (by the person or by shutdown) and stopped."""


async def run_with_deadline(
    function: Callable[..., R],
    *args: Any,
    deadline: float,
    cancel: threading.Event | None = None,
) -> R:
    """Run `function(*args)` in a fresh process; kill it past `deadline` s or when `cancel` is set.

    For work whose own time limit is known to overrun (AutoML): the budget holds whatever the
    library does, and nothing it leaves running survives.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_run_and_send, args=(sender, function, args), daemon=True)
    process.start()
    with _lock:
        _job_processes.add(process)
    sender.close()
    try:
        await asyncio.to_thread(_wait_for_answer, receiver, deadline, cancel or threading.Event())
        outcome, value = receiver.recv()
    finally:
        receiver.close()
        await asyncio.to_thread(_stop, process)
        with _lock:
            _job_processes.discard(process)
    if outcome == "error":
        raise value
    return cast(R, value)


def _wait_for_answer(receiver: Connection, deadline: float, cancel: threading.Event) -> None:
    ends = time.monotonic() + deadline
    while not receiver.poll(min(CANCEL_POLL_SECONDS, max(0.0, ends - time.monotonic()))):
        if cancel.is_set():
            raise JobCancelled("cancelled")
        if time.monotonic() >= ends:
            raise DeadlineExceeded(f"stopped after {deadline:.0f} s")


def _run_and_send(sender: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _prepare_worker()
    try:
        sender.send(("ok", function(*args)))
    except BaseException as error:  # every failure travels back to the caller, which re-raises
        sender.send(("error", error))
    finally:
        sender.close()


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    """End the job's process now: its answer is in (or its time is up), so nothing is lost."""
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
    process.join()


def warm_up() -> None:
    """Start the workers and import the heavy libraries in them before the first request."""
    for future in [cpu_pool().submit(_import_libraries) for _ in range(_worker_count())]:
        future.result()


def _import_libraries() -> None:
    import sklearn.ensemble  # noqa: F401

    import data_science.storage.tables  # noqa: F401


def shutdown() -> None:
    """Stop every running job process and the pool (at server shutdown)."""
    global _pool
    with _lock:
        jobs = list(_job_processes)
    for process in jobs:
        _stop(process)
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
