"""A loopback-only network namespace, and a Ray head started in it with Ray's own CLI.

On this machine `ray start --head` advertises the machine's interface address even when told
127.0.0.1; in a network namespace that holds only loopback it runs on 127.0.0.1, so test
traffic never leaves the machine and no two test runs see each other's ports. `Namespace`
makes one (a holder process `unshare -n`, then `ip link set lo up`) and runs any command in it
(`nsenter --net=/proc/<holder>/ns/net`), each in its own process group so that it can be
stopped with everything it started; `Namespace.client` is an httpx client whose connections
are opened inside it (a thread that joined the namespace with setns(2)).

`RayHead` starts `ray start --head --block` there (its own temp dir, a few CPUs, token
authentication with a token of its own: `env` carries it to every process that connects) and
stops it by its process group: never `ray stop`, which stops every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

CLONE_NEWNET = 0x40000000
UNSHARE = "/usr/bin/unshare"
NSENTER = "/usr/bin/nsenter"
RAY_PORT = 6379  # free by construction: the namespace is this run's alone
START_SECONDS = 90.0
STOP_SECONDS = 20.0


class Namespace:
    """A network namespace with only loopback (up), alive until `close`."""

    def __init__(self) -> None:
        self.holder = subprocess.Popen(
            [UNSHARE, "--net", "sleep", "infinity"], start_new_session=True
        )
        self.path = f"/proc/{self.holder.pid}/ns/net"
        deadline = time.monotonic() + 10
        while Path(self.path).readlink() == Path("/proc/self/ns/net").readlink():  # not yet
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("unshare -n did not make a network namespace")
            time.sleep(0.02)
        subprocess.run([*self.prefix, "/usr/sbin/ip", "link", "set", "lo", "up"], check=True)
        self._thread = ThreadPoolExecutor(1, initializer=self._join, thread_name_prefix="netns")

    @property
    def prefix(self) -> list[str]:
        """What runs a command inside the namespace."""
        return [NSENTER, f"--net={self.path}", "--"]

    def popen(self, argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
        """Start `argv` in the namespace, in a process group of its own (see `stop`)."""
        return subprocess.Popen([*self.prefix, *argv], start_new_session=True, **options)

    def run(self, argv: Sequence[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.prefix, *argv], **options)

    def _join(self) -> None:
        """In the client thread: join the namespace (setns changes only the calling thread)."""
        libc = ctypes.CDLL(None, use_errno=True)
        with Path(self.path).open() as handle:
            if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the test namespace failed")

    def client(self, base_url: str = "", **options: Any) -> httpx.Client:
        """An httpx client that reaches addresses inside the namespace."""
        return httpx.Client(base_url=base_url, transport=_InNamespace(self._thread), **options)

    def close(self) -> None:
        if hasattr(self, "_thread"):
            self._thread.shutdown(wait=False)
        stop(self.holder)


class _InNamespace(httpx.BaseTransport):
    """Opens (and sends on) connections from the namespace's thread; the sockets stay in it."""

    def __init__(self, thread: ThreadPoolExecutor) -> None:
        self._thread = thread
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._thread.submit(self._inner.handle_request, request).result()

    def close(self) -> None:
        self._inner.close()


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> None:
    """End `process` and its whole process group: SIGTERM, then SIGKILL for what is left."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:  # its children may linger in the group: sweep them
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        break


class RayHead:
    """`ray start --head --block` inside `namespace`, with `cpus` CPUs; `address` to join it
    and `env` (its token, the namespace's Python for workers) for every process that does."""

    def __init__(self, namespace: Namespace, cpus: int) -> None:
        self.namespace = namespace
        # Short: Ray's unix sockets live under it, and socket paths are limited to 107 bytes.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="rayt", dir="/tmp"))
        self.address = f"127.0.0.1:{RAY_PORT}"
        self.env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
            # Workers run this checkout's Python: under `uv run`, Ray would start each one with
            # `uv run` in a copy of the checkout, which needs the network this namespace lacks.
            "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        self.log_path = self.temp_dir / "head.log"
        ray = Path(sys.executable).parent / "ray"
        with self.log_path.open("wb") as log:
            self.process = namespace.popen(
                [str(ray), "start", "--head", "--block", f"--port={RAY_PORT}",
                 f"--num-cpus={cpus}", f"--temp-dir={self.temp_dir}",
                 "--include-dashboard=false", "--disable-usage-stats"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait_started()

    def _wait_started(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while "Ray runtime started" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Ray head did not start: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def worker_logs(self) -> dict[int, str]:
        """Ray's worker log files by worker pid (Ray names them worker-<id>-<job>-<pid>.out)."""
        logs = {}
        for path in self.temp_dir.glob("session_*/logs/worker-*.*"):
            pid = path.stem.rsplit("-", 1)[-1]
            if pid.isdigit():
                logs[int(pid)] = logs.get(int(pid), "") + path.read_text(errors="replace")
        return logs

    def run_python(self, code: str, extra_env: Mapping[str, str] | None = None) -> str:
        """Run a driver script in the namespace with the head's environment; its stdout."""
        done = self.namespace.run(
            [sys.executable, "-c", code],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(done.stderr.decode(errors="replace")[-3000:])
        return done.stdout.decode()

    def close(self) -> None:
        stop(self.process)
