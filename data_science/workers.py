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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

R = TypeVar("R")

WORKER_NICENESS = 10

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


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


def warm_up() -> None:
    """Start the workers and import the heavy libraries in them before the first request."""
    for future in [cpu_pool().submit(_import_libraries) for _ in range(_worker_count())]:
        future.result()


def _import_libraries() -> None:
    import sklearn.ensemble  # noqa: F401

    import data_science.tables  # noqa: F401


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
