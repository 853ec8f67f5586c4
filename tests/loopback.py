"""A network namespace that holds only loopback, for tests of several servers talking over TCP.

On this machine some servers (a Ray head above all) advertise the machine's interface address
even when told 127.0.0.1; inside a namespace whose only interface is `lo` they can only use
127.0.0.1, and nothing they open is reachable from, or collides with, the rest of the machine.

`LoopbackNamespace()` starts a holder process with `unshare -n` (the namespace lives as long as
it does) and brings `lo` up. Servers start inside it with `namespace.command([...])` (a prefix of
`nsenter --net=...`; nsenter execs the program, so a Popen's pid is the server's own). The test
itself talks to them through `namespace.client(base_url)`: an httpx client whose requests run on
threads that joined the namespace with setns(2) (Python 3.11 has no os.setns), since a socket
belongs to the namespace of the thread that made it. Needs root (CAP_SYS_ADMIN), as the tests
run here and in CI.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.conftest import PROJECT_ROOT, START_SECONDS, LiveServer

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
CLIENT_THREADS = 8  # requests that may wait at once (a long turn and the polls beside it)


def _tool(name: str) -> str:
    """The full path of a util-linux/coreutils program."""
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (util-linux)")
    return found


def _enter(netns: Path) -> None:
    """Move the calling thread into the network namespace at `netns`."""
    libc = ctypes.CDLL(None, use_errno=True)
    descriptor = os.open(netns, os.O_RDONLY)
    try:
        if libc.setns(descriptor, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into {netns}: {os.strerror(error)}")
    finally:
        os.close(descriptor)


class LoopbackNamespace:
    """A loopback-only network namespace, its holder process, and threads inside it."""

    def __init__(self) -> None:
        self.holder = subprocess.Popen([_tool("unshare"), "--net", _tool("sleep"), "infinity"])
        self.path = Path(f"/proc/{self.holder.pid}/ns/net")
        own = Path("/proc/self/ns/net").stat().st_ino
        deadline = time.monotonic() + 10
        # unshare runs before sleep is exec'd: wait until the holder's namespace is its own.
        while not self.path.exists() or self.path.stat().st_ino == own:
            if time.monotonic() > deadline or self.holder.poll() is not None:
                self.close()
                raise RuntimeError("unshare --net did not create a network namespace (root?)")
            time.sleep(0.02)
        subprocess.run(self.command(["ip", "link", "set", "lo", "up"]), check=True, timeout=30)
        self._threads = ThreadPoolExecutor(
            CLIENT_THREADS, thread_name_prefix="netns", initializer=_enter, initargs=(self.path,)
        )

    def command(self, argv: Sequence[str], *, user: tuple[int, int] | None = None) -> list[str]:
        """`argv` run inside the namespace (as uid, gid `user` when given: nsenter switches)."""
        switch = ["-S", str(user[0]), "-G", str(user[1])] if user else []
        return [_tool("nsenter"), f"--net={self.path}", *switch, "--", *argv]

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run `function` on a thread inside the namespace (its sockets are made there)."""
        return self._threads.submit(function, *args, **kwargs)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.submit(function, *args, **kwargs).result()

    def client(self, base_url: str, timeout: float = 300) -> NamespaceClient:
        return NamespaceClient(self, base_url, timeout)

    def close(self) -> None:
        if getattr(self, "_threads", None) is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait(timeout=10)


class NamespaceClient:
    """httpx.Client calls made from inside the namespace; `submit` runs one in the background."""

    def __init__(self, namespace: LoopbackNamespace, base_url: str, timeout: float) -> None:
        self.namespace = namespace
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.namespace.call(self.http.request, method, url, **kwargs)

    def submit(self, method: str, url: str, **kwargs: Any) -> Future[httpx.Response]:
        return self.namespace.submit(self.http.request, method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self.http.close()


class NamespacedServer(LiveServer):
    """The real app (`main.py`) started inside a loopback namespace."""

    def __init__(
        self, namespace: LoopbackNamespace, data_dir: Path, port: int, env: dict[str, str]
    ) -> None:
        super().__init__(data_dir, env)
        self.namespace = namespace
        self.port = port  # any port is free in a fresh namespace
        self.url = f"http://127.0.0.1:{port}"
        self.env["PORT"] = str(port)
        self.log_path = data_dir.parent / f"server-{port}.log"
        self.command = namespace.command([sys.executable, str(PROJECT_ROOT / "main.py")])
        self.client = namespace.client(self.url)

    def start(self, timeout: float = START_SECONDS) -> NamespacedServer:
        super().start(timeout)
        return self

    def warmed_up(self) -> bool:
        if self.client.get("/healthz", timeout=1).status_code != 200:
            return False
        return bool(self.client.get("/readyz", timeout=5).json()["status"] != "warming up")

    def kill(self) -> None:
        """kill -9: the replica dies mid-work, as a crashed machine's would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        self.log.close()
