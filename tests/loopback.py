"""A network namespace that holds only loopback, for tests of several servers talking over TCP.

On this machine some servers (a Ray head above all) advertise the machine's interface address
even when told 127.0.0.1; inside a namespace whose only interface is `lo` they can only use
127.0.0.1, and nothing they open is reachable from, or collides with, the rest of the machine.

`LoopbackNamespace()` is the Ray tests' `Namespace` (tests/ray_cluster.py): a holder process
started with `unshare -n` (the namespace lives as long as it does), `lo` brought up. Servers
start inside it with `namespace.command([...])` (a prefix of `nsenter --net=...`; nsenter execs
the program, so a Popen's pid is the server's own). The test talks to them through
`namespace.namespace_client(base_url)`: httpx calls made on threads that joined the namespace
with setns(2) (a socket belongs to the namespace of the thread that made it), several at once
so that a long turn and the polls beside it do not wait for each other. Needs root.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.conftest import PROJECT_ROOT, START_SECONDS, LiveServer
from tests.ray_cluster import Namespace

T = TypeVar("T")
CLIENT_THREADS = 8  # requests that may wait at once (a long turn and the polls beside it)


class LoopbackNamespace(Namespace):
    """The Ray tests' namespace (tests/ray_cluster.py: holder, `lo` up, `popen`, `run`), with
    commands run as another user, and several threads inside it for concurrent requests."""

    def __init__(self) -> None:
        super().__init__()
        self._threads = ThreadPoolExecutor(
            CLIENT_THREADS, thread_name_prefix="netns", initializer=self._join
        )

    def command(self, argv: Sequence[str], *, user: tuple[int, int] | None = None) -> list[str]:
        """`argv` run inside the namespace (as uid, gid `user` when given: nsenter switches)."""
        switch = ["-S", str(user[0]), "-G", str(user[1])] if user else []
        return [self.prefix[0], self.prefix[1], *switch, "--", *argv]

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run `function` on a thread inside the namespace (its sockets are made there)."""
        return self._threads.submit(function, *args, **kwargs)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.submit(function, *args, **kwargs).result()

    def namespace_client(self, base_url: str, timeout: float = 300) -> NamespaceClient:
        return NamespaceClient(self, base_url, timeout)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        super().close()


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
        self.client = namespace.namespace_client(self.url)

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
