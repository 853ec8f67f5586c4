"""Compute on a Ray cluster: with RAY_ADDRESS set, the worker pool's work runs as Ray tasks.

`connect(settings)` joins the cluster once, at start-up, and routes `workers.run_cpu` and
`workers.run_with_deadline` here; unset, nothing here runs and the local pool does the work.

- `run_cpu` calls become tasks of one CPU each. In front of them the same per-chat waiting
  lines as the local pool's (`workers.FairPool`) decide which call is sent next, so one chat's
  ten fits still hold up another chat's single fit by one call; a lane sends at most as many
  calls as the cluster has CPUs, and Ray places them.
- A job (`run_with_deadline`: AutoML, model search, tuning) is one task, watched from here: past
  its deadline or when cancelled it is stopped with `ray.cancel(force=True)`, which kills its
  worker process and, recursively, the tasks it started (AutoGluon's folds, FLAML's trials).
- Uploads are still parsed on this machine (`workers.run_in_process`): a quarantined file has
  not passed its checks and never leaves the replica that received it.

Functions and arguments travel pickled, as to the local pool; a task's failure comes back as
the same exception it raised. Workers start from the cluster's environment, so the variables
named in `config.WORKER_ENVIRONMENT` (object-store location and credentials) are handed to
every task through Ray's `runtime_env`. Ray is an extra (`uv sync --extra ray`), imported only
when RAY_ADDRESS is set.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal

from data_science.config import Settings, worker_environment
from data_science.runtime import workers
from data_science.runtime.threads import run_blocking

NAMESPACE = "data_science"
# A head that does not answer within this is as good as absent (start-up must not hang).
CONNECT_TIMEOUT_SECONDS = 5.0
# CPUs asked of Ray per call and per job (a job's library spreads further by itself).
TASK_CPUS = 1
# How long a stopped job may take to be reported gone before the caller moves on.
STOP_WAIT_SECONDS = 10.0

_remote_call: Any = None  # `_call` as a Ray remote function, made by `connect`


def _ray() -> Any:
    """Ray, imported only when RAY_ADDRESS is set (an extra; and a second to import)."""
    import ray

    return ray


def _call(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    """Runs in a Ray worker: the outcome travels back as a value, so that the caller re-raises
    the function's own exception, not Ray's wrapper of it."""
    try:
        return "ok", function(*args)
    except Exception as error:  # every failure travels back to the caller, which re-raises
        return "error", error


def connect(settings: Settings) -> str | None:
    """Join the Ray cluster at RAY_ADDRESS and route CPU work to it; a sentence saying what is
    wrong when it cannot be joined. Nothing to do when RAY_ADDRESS is unset or already joined."""
    address = settings.RAY_ADDRESS
    if address is None or _remote_call is not None:
        return None
    if problem := _unreachable(address):
        return problem
    ray = _ray()

    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            runtime_env={"env_vars": worker_environment()},
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except Exception as error:  # Ray's reasons vary (auth, version, timeout): say which
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return (
            f"The Ray cluster at RAY_ADDRESS={address} could not be joined "
            f"({type(error).__name__}: {reason}); check the address and its token, or unset "
            "RAY_ADDRESS to compute on this machine."
        )
    _route(ray)
    return None


def _unreachable(address: str) -> str | None:
    """A sentence when nothing answers at `address` ("host:port"); Ray itself would retry for
    a long time before saying so. "auto" (a cluster this machine belongs to) is left to Ray."""
    if address == "auto":
        return None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return f"RAY_ADDRESS={address} is not host:port (for example 10.0.0.5:6379) or auto."
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_SECONDS).close()
    except OSError as error:
        return (
            f"Nothing answers at RAY_ADDRESS={address} ({error.strerror or error}): start the "
            "Ray head there (`ray start --head`), correct RAY_ADDRESS, or unset it to compute "
            "on this machine."
        )
    return None


def _route(ray: Any) -> None:
    global _remote_call
    _remote_call = ray.remote(max_retries=0)(_call)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    lanes: dict[workers.Lane, workers.FairPool] = {
        lane: workers.FairPool(lane, size=cpus, executor=RayLane(lane))
        for lane in ("quick", "heavy")
    }
    workers.route_to(workers.Remote(lanes=lanes, run_with_deadline=run_with_deadline))


def disconnect() -> None:
    """Stop routing work to Ray and leave the cluster (at server shutdown); running tasks of
    this process end with it (Ray stops the tasks of a driver that leaves)."""
    global _remote_call
    remote = workers.route_to(None)
    if remote is not None:
        for lane in remote.lanes.values():
            lane.close()
    if _remote_call is not None:
        ray = _ray()

        _remote_call = None
        ray.shutdown()


class RayLane(Executor):
    """A lane's calls as Ray tasks (what `workers.FairPool` hands work to when on Ray)."""

    def __init__(self, lane: workers.Lane) -> None:
        self.lane = lane
        self._running: set[Any] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        ref = _start(fn, args, name=f"{self.lane}:{_name(fn, args)}")
        outcome: Future[Any] = Future()
        outcome.set_running_or_notify_cancel()
        with self._lock:
            self._running.add(ref)
        ref.future().add_done_callback(partial(self._settle, ref, outcome))
        return outcome

    def _settle(self, ref: Any, outcome: Future[Any], done: Future[Any]) -> None:
        with self._lock:
            self._running.discard(ref)
        try:
            status, value = done.result()
        except BaseException as error:  # Ray's own failure (a worker died): the caller hears it
            outcome.set_exception(error)
            return
        if status == "error":
            outcome.set_exception(value)
        else:
            outcome.set_result(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        ray = _ray()

        with self._lock:
            running = list(self._running)
        for ref in running:
            ray.cancel(ref, force=True)


def _start(function: Callable[..., Any], args: tuple[Any, ...], name: str) -> Any:
    if _remote_call is None:
        raise RuntimeError("Ray compute is not connected (ray_compute.connect).")
    return _remote_call.options(num_cpus=TASK_CPUS, name=name).remote(function, args)


def _name(function: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """The name of the computation a task runs, for Ray's task list and logs: seen through the
    wrappers around it (the thread budget, stored locations)."""
    while args:
        if function is workers._run_call:  # (threads, function, args)
            function, args = args[1], tuple(args[2])
        elif getattr(function, "__name__", "") == "call_with_locations":  # (function, *args)
            function, args = args[0], tuple(args[1:])
        else:
            break
    return str(getattr(function, "__name__", None) or type(function).__name__)


async def run_with_deadline(
    function: Callable[..., Any], args: tuple[Any, ...], deadline: float, cancel: threading.Event
) -> Any:
    """`workers.run_with_deadline` on Ray: one task, stopped (with everything it started) past
    `deadline` s or when `cancel` is set; returns its value or re-raises its exception."""
    ref = _start(function, args, name=f"job:{_name(function, args)}")
    try:
        await run_blocking(_wait_for_answer, ref, deadline, cancel)
        status, value = await run_blocking(_answer, ref)
    finally:
        await run_blocking(_stop, ref)
    if status == "error":
        raise value
    return value


def _wait_for_answer(ref: Any, deadline: float, cancel: threading.Event) -> None:
    ray = _ray()

    ends = time.monotonic() + deadline
    while True:
        left = max(0.0, ends - time.monotonic())
        ready, _ = ray.wait([ref], timeout=min(workers.CANCEL_POLL_SECONDS, left))
        if ready:
            return
        if cancel.is_set():
            raise workers.JobCancelled("cancelled")
        if time.monotonic() >= ends:
            raise workers.DeadlineExceeded(f"stopped after {deadline:.0f} s")


def _answer(ref: Any) -> tuple[str, Any]:
    ray = _ray()

    answer: tuple[str, Any] = ray.get(ref)
    return answer


def _stop(ref: Any) -> None:
    """Kill the job's worker (and the tasks it started) unless it has ended; wait until Ray
    reports it gone, so that nothing of it outlives the call."""
    ray = _ray()

    ready, _ = ray.wait([ref], timeout=0)
    if ready:
        return
    ray.cancel(ref, force=True, recursive=True)
    ray.wait([ref], timeout=STOP_WAIT_SECONDS)  # ready once Ray has seen it killed


@asynccontextmanager
async def computing_on_ray(settings: Settings) -> AsyncIterator[None]:
    """The server's lifespan part: joined to RAY_ADDRESS while serving (if set), left after.

    `main.py` joins before the port opens (a wrong address stops it there with the sentence);
    this joins servers built otherwise (`create_app` in tests, `adk api_server`)."""
    if problem := await run_blocking(connect, settings):
        raise RuntimeError(problem)
    try:
        yield
    finally:
        await run_blocking(disconnect)


def reachability(settings: Settings) -> tuple[Literal["ok", "fail"], str]:
    """(status, sentence) of the Ray cluster at RAY_ADDRESS, joined for real: "ok" with its
    nodes and CPUs, "fail" with why it cannot be joined."""
    if problem := connect(settings):
        return "fail", problem
    ray = _ray()

    resources = ray.cluster_resources()
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return "ok", (
        f"{settings.RAY_ADDRESS}: {nodes} node(s), {int(resources.get('CPU', 0))} CPUs for "
        "CPU work and AutoML"
    )
