"""Worker processes for CPU-heavy work (parsing, fitting, drawing), in two lanes.

Threads keep the event loop free of blocking calls, but pure-Python and GIL-holding C code in a
thread still delays the loop. Work sent here runs in another process, so the server keeps
answering in milliseconds while a model trains. Functions sent must be importable top-level
functions of modules that do not import ADK (workers start fast that way).

Every call names its lane. "quick" is for work that reads, summarises or draws (profiles,
statistics, charts, parsing, previews, predictions); "heavy" for work that fits models
(training, cross-validation, clustering, forecasts, model-based imputation). Each lane has its
own processes, so a quick call never queues behind fits: when both shared one first-come queue,
a profile that takes a second alone waited 133 s behind twenty chats' trainings. In front of
each lane's processes the waiting calls are served one chat at a time, in turn: one chat's ten
trainings hold up another chat's single training by one call, not by ten.

Long jobs that must be stoppable (AutoML, model searches) run in a fresh process of their own
(`run_with_deadline`) at the heavy lane's priority.

With RAY_ADDRESS set, `run_cpu` and `run_with_deadline` send their work to a Ray cluster instead
(runtime/ray_compute.py routes them there with `route_to`); uploads are parsed here either way.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal, TypeVar, cast

import structlog

from data_science.runtime.threads import run_blocking
from data_science.storage.objects import with_locations

R = TypeVar("R")
Lane = Literal["quick", "heavy"]

# Every worker yields the CPU to the server process (niceness 0), which must keep answering at
# once; quick work also goes ahead of fits when every core is busy.
NICENESS: dict[Lane, int] = {"quick": 5, "heavy": 10}

# How often a job's waiter looks for a cancellation while the job runs.
CANCEL_POLL_SECONDS = 0.25
# How often a worker looks whether the process that started it is still there.
PARENT_POLL_SECONDS = 1.0
# How long a reading of the load average is used: every hand-off to a worker asks for it.
LOAD_CACHE_SECONDS = 1.0
# How long shutdown waits for a stopped worker to end before killing it.
STOP_SECONDS = 5.0

_lock = threading.Lock()
# Every live `run_with_deadline` process, so that shutdown can stop them all.
_job_processes: set[multiprocessing.process.BaseProcess] = set()
# The last reading of the load average: (time.monotonic() when read, value).
_load_read: tuple[float, float] | None = None
# The warm-up calls of the quick lane (`start_warm_up`); a lock of their own, as submitting
# takes `_lock` (to count the running calls).
_warming: list[Future[None]] = []
_warming_lock = threading.Lock()


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a container's cpuset), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def lane_size(lane: Lane) -> int:
    """Processes per lane, from the machine: a fit per core (when several run, each gets a share
    of the cores: `job_threads`); quick calls on half as many, at least two, so one slow preview
    does not hold up another chat's."""
    cores = usable_cores()
    return cores if lane == "heavy" else max(2, cores // 2)


@dataclass
class _Call:
    session: str
    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any] = field(default_factory=Future)


class FairPool:
    """One lane: its worker processes, and in front of them a waiting line per chat.

    The processes are handed no more calls than they can run at once; the rest wait here, so
    which call starts next is decided here: the oldest call of the chat with the fewest calls
    running (of those, the one waiting longest), after which that chat goes to the back. A chat
    is the session id bound to the request's or agent turn's log context
    (`observability.bind_request_context`); work without one shares a line.
    """

    def __init__(self, lane: Lane, size: int | None = None, executor: Executor | None = None):
        """`size` and `executor` are given for lanes whose calls run elsewhere (on Ray)."""
        self.lane = lane
        self.size = size or lane_size(lane)
        self._executor: Executor | None = executor
        self._waiting: dict[str, deque[_Call]] = {}
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    def submit(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        """Queue `function(*args)` for the caller's chat; the future settles with its outcome."""
        session = str(structlog.contextvars.get_contextvars().get("session_id", ""))
        call = _Call(session, function, args)
        with self._lock:
            self._waiting.setdefault(session, deque()).append(call)
        self._start_waiting()
        return call.future

    def _start_waiting(self) -> None:
        """Hand waiting calls to free processes (after a submit, and whenever a call ends)."""
        while (call := self._next_call()) is not None:
            executor = self._processes()
            try:
                threads = thread_budget(running_calls())
                running = executor.submit(_run_call, threads, call.function, call.args)
            except Exception as error:  # a pool shutting down: this caller hears why
                self._release(call)
                call.future.set_exception(error)
                continue
            running.add_done_callback(functools.partial(self._finished, call, executor))

    def _next_call(self) -> _Call | None:
        with self._lock:
            while self._waiting and self._running.total() < self.size:
                session = min(self._waiting, key=self._running.__getitem__)  # first of equals
                line = self._waiting.pop(session)
                call = line.popleft()
                if line:
                    self._waiting[session] = line  # to the back: the next chat's turn
                if call.future.set_running_or_notify_cancel():  # False: its caller gave up
                    self._running[session] += 1
                    return call
        return None

    def _finished(self, call: _Call, executor: Executor, done: Future[Any]) -> None:
        self._release(call)
        if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
            self._replace(executor)
        try:
            call.future.set_result(done.result())
        except BaseException as error:  # the call's own failure, re-raised to its caller
            call.future.set_exception(error)
        self._start_waiting()

    def _release(self, call: _Call) -> None:
        with self._lock:
            self._running[call.session] -= 1
            if not self._running[call.session]:
                del self._running[call.session]

    def _replace(self, broken: Executor) -> None:
        """A worker died (killed for memory, say): its calls fail, and later calls get fresh
        processes instead of failing too (a broken executor refuses every call after)."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False)

    def _processes(self) -> Executor:
        """The lane's processes, started on first use ('spawn': safe in a threaded server)."""
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.size,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_prepare_worker,
                    initargs=(NICENESS[self.lane],),
                )
            return self._executor

    def running(self) -> int:
        """Calls of this lane running in its processes now."""
        with self._lock:
            return self._running.total()

    def close(self) -> None:
        """Drop the waiting calls (their callers see them cancelled) and stop the processes now,
        also in the middle of a call (a fit, a warm-up import): shutdown must not wait for them.
        """
        with self._lock:
            waiting = [call for line in self._waiting.values() for call in line]
            self._waiting.clear()
            executor, self._executor = self._executor, None
        for call in waiting:
            call.future.cancel()
        if isinstance(executor, ProcessPoolExecutor):
            # The executor offers no way to stop a running call: end its processes first, then
            # it notices they are gone and settles their calls (Python 3.14 has terminate_workers).
            processes = list((executor._processes or {}).values())
            for process in processes:
                _stop(process)
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_lanes: dict[Lane, FairPool] = {"quick": FairPool("quick"), "heavy": FairPool("heavy")}
# In a worker process: the threads the call it runs may use (set per call by `_run_call`).
_job_threads: int | None = None


def running_calls() -> int:
    """Calls running now in both lanes and in job processes (one just started included)."""
    with _lock:
        jobs = len(_job_processes)
    return max(1, jobs + sum(lane.running() for lane in _lanes.values()))


def busy_elsewhere() -> float:
    """Cores kept busy by other programs: the 1-minute load average (it counts this app's own
    running calls too, which `thread_budget` takes out)."""
    global _load_read
    now = time.monotonic()
    read = _load_read
    if read is None or now - read[0] >= LOAD_CACHE_SECONDS:
        read = _load_read = (now, os.getloadavg()[0])
    return read[1]


def thread_budget(running: int) -> int:
    """Threads for a call starting while `running` calls (itself included) run: the usable
    cores shared among them, but never more than the cores idle apart from them, at least 1.

    Threads beyond the idle cores cost far more than they give: OpenMP's threads wait for each
    other at every step, so on a machine busy with other work a 2-thread fit measured 15 to 100
    times slower than the same fit on one thread.
    """
    cores = usable_cores()
    idle = cores - max(0.0, busy_elsewhere() - (running - 1))
    return max(1, min(cores // running, round(idle)))


def job_threads() -> int:
    """Threads the running call may use: the usable cores shared by the calls running when it
    started (at least 1); outside a worker, every usable core. Estimators' `n_jobs` read it."""
    return _job_threads or usable_cores()


def _run_call(threads: int, function: Callable[..., R], args: tuple[Any, ...]) -> R:
    """In a worker: `function(*args)` with its OpenMP and BLAS pools held to `threads`, and
    its stored inputs fetched and staged outputs uploaded (storage/objects.with_locations).

    Every call handed to a process runs this (the lanes, job processes, Ray's tasks).

    One job alone uses every core (a 300k-row fit is many times faster than on one thread);
    several share them instead of each starting a pool per core, which on a busy machine slows
    every fit down many times over.
    """
    global _job_threads
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no types

    _job_threads = threads
    # threadpoolctl limits the pools of libraries already loaded; one the call loads for the
    # first time sizes its pool from these variables.
    _set_pool_variables(threads)
    function, args = with_locations(function, args)
    try:
        with threadpool_limits(limits=threads):
            return cast(R, function(*args))
    finally:
        _job_threads = None


def _set_pool_variables(threads: int) -> None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


@dataclass(frozen=True)
class Remote:
    """Where `run_cpu` and `run_with_deadline` send work instead of this machine's processes:
    lanes whose calls run elsewhere, and a job runner (args, deadline, cancel event)."""

    lanes: dict[Lane, FairPool]
    run_with_deadline: Callable[
        [Callable[..., Any], tuple[Any, ...], float, threading.Event], Awaitable[Any]
    ]


_remote: Remote | None = None


def route_to(remote: Remote | None) -> Remote | None:
    """Send CPU work to `remote` from now on (None: back to this machine); returns the former."""
    global _remote
    with _lock:
        former, _remote = _remote, remote
    return former


def _prepare_worker(niceness: int) -> None:
    """Workers yield the CPU to the server process, which must keep answering at once.

    OpenMP and BLAS pools are sized to the usable cores (a container's cpuset, not the host's);
    each call then uses its share of them (`_run_call`).
    """
    os.nice(niceness)
    _set_pool_variables(usable_cores())
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker once the process that started it is gone.

    A server killed with SIGKILL, or `adk api_server` leaving without our shutdown, runs no
    clean-up: its workers would live on, holding memory and Python's resource tracker with them.
    An orphan is adopted by another process, so a changed parent id means the parent is gone.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def run_in_process(function: Callable[..., R], *args: Any, lane: Lane) -> R:
    """Run `function(*args)` in a worker process of `lane`; wait (from a thread, not the loop)."""
    return cast(R, _lanes[lane].submit(function, args).result())


async def run_cpu(function: Callable[..., R], *args: Any, lane: Lane) -> R:
    """Await `function(*args)` running in a worker process of `lane` (see the module docstring)."""
    lanes = _lanes if _remote is None else _remote.lanes
    return cast(R, await asyncio.wrap_future(lanes[lane].submit(function, args)))


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
    threads = thread_budget(running_calls() + 1)  # +1: this job, not yet counted
    if _remote is not None:
        job = _remote.run_with_deadline(
            _run_call, (threads, function, args), deadline, cancel or threading.Event()
        )
        return cast(R, await job)
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_run_and_send, args=(sender, threads, function, args), daemon=True
    )
    process.start()
    with _lock:
        _job_processes.add(process)
    sender.close()
    try:
        await run_blocking(_wait_for_answer, receiver, deadline, cancel or threading.Event())
        outcome, value = receiver.recv()
    finally:
        receiver.close()
        await run_blocking(_stop, process)
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


def _run_and_send(
    sender: Connection, threads: int, function: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    _prepare_worker(NICENESS["heavy"])
    try:
        sender.send(("ok", _run_call(threads, function, args)))
    except BaseException as error:  # every failure travels back to the caller, which re-raises
        sender.send(("error", error))
    finally:
        sender.close()


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    """End the job's process now: its answer is in (or its time is up), so nothing is lost."""
    if process.is_alive():
        process.terminate()
        process.join(timeout=STOP_SECONDS)
    if process.is_alive():
        process.kill()
    process.join()


def start_warm_up() -> None:
    """Start the quick lane's processes importing the heavy libraries, and return at once.

    A profile must not wait for a process to start. Calls sent meanwhile queue behind the
    warm-up (they wait, never fail). Fitting processes start with the first fits (a second or
    two against the fit's own seconds or minutes), so start-up costs no more than with one pool.
    """
    quick = _lanes["quick"]
    with _warming_lock:
        if not _warming:
            _warming.extend(quick.submit(_import_libraries, ()) for _ in range(quick.size))


def warm_up() -> None:
    """`start_warm_up` (unless started) and wait until it is done; raises if it failed (or was
    stopped by `shutdown`)."""
    start_warm_up()
    with _warming_lock:
        calls = list(_warming)
    for call in calls:
        call.result()


def _import_libraries() -> None:
    import sklearn.ensemble  # noqa: F401

    import data_science.storage.tables  # noqa: F401


def shutdown() -> None:
    """Stop every running job process and both lanes now (at server shutdown), whatever they
    are running: a warm-up, a fit."""
    with _lock:
        jobs = list(_job_processes)
    with _warming_lock:
        _warming.clear()  # a later start (tests start the app again) warms up again
    for process in jobs:
        _stop(process)
    for lane in _lanes.values():
        lane.close()
