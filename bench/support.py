"""What the #17 benchmarks share: the real app on a free port, uploads, chat turns, /healthz
probes, the whole app's memory, and the tables they write to bench/results/ (never a test)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_science.config import APP_NAME
from tests.conftest import LiveServer

RESULTS = Path(__file__).parent / "results"
USER = "bench"
STOP_SECONDS = 60


class BenchServer(LiveServer):
    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the app is not running")
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, as the tests stop it; a server that has not ended within `STOP_SECONDS`
        (a step still running in a worker) is killed with its processes, so a bench that
        reports a failing step never hangs or leaves the app behind."""
        if self.process is None or self.process.poll() is not None:
            super().stop()
            return
        family = psutil.Process(self.process.pid).children(recursive=True)
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            for process in [*family, psutil.Process(self.process.pid)]:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            self.process.wait()
        self.log.close()


@contextmanager
def running_app(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[BenchServer]:
    """`main.py` in its own process, warmed up; stopped (workers included) on the way out."""
    server = BenchServer(data_dir, env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def new_session(http: httpx.Client) -> str:
    return str(http.post(f"/apps/{APP_NAME}/users/{USER}/sessions", json={}).json()["id"])


def upload(http: httpx.Client, session_id: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        response = http.post(
            "/api/uploads",
            data={"user_id": USER, "session_id": session_id},
            files={"file": (path.name, handle, "text/csv")},
        )
    if response.is_error:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return dict(response.json())


@dataclass
class Turn:
    """What one chat turn gave back: the tools' results by tool name and the reply's text."""

    results: dict[str, dict[str, Any]]
    reply: str


def chat(http: httpx.Client, session_id: str, text: str) -> Turn:
    """One chat turn on the offline model. An HTTP error status raises with the app's message
    (the error shape's "message"), so a bench can report it instead of a bare status code."""
    request = {
        "app_name": APP_NAME,
        "user_id": USER,
        "session_id": session_id,
        "new_message": {"role": "user", "parts": [{"text": text}]},
    }
    response = http.post("/run", json=request)
    if response.is_error:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    results: dict[str, dict[str, Any]] = {}
    texts: list[str] = []
    for event in response.json():
        for part in (event.get("content") or {}).get("parts") or []:
            if part.get("functionResponse"):
                results[part["functionResponse"]["name"]] = part["functionResponse"]["response"]
            elif part.get("text") and not part.get("thought"):
                texts.append(part["text"])
    return Turn(results, "\n".join(texts))


def turn(http: httpx.Client, session_id: str, text: str) -> dict[str, dict[str, Any]]:
    """One chat turn on the offline model; the tools' results by tool name."""
    return chat(http, session_id, text).results


class HealthProbe:
    """Asks /healthz every `interval` seconds from a thread while the `with` block runs."""

    def __init__(self, url: str, interval: float = 0.02) -> None:
        self.url = url
        self.interval = interval
        self.latencies_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                http.get("/healthz").raise_for_status()
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                self._stop.wait(self.interval)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class PeakMemory:
    """The whole app's peak memory (the server and every process under it: workers, job
    processes, sandboxes), sampled from a thread: the resident sum every `interval` seconds and
    the proportional sum (a page several processes share counted once in all, so the fairer
    figure; reading it costs milliseconds per process) every `proportional_interval`."""

    def __init__(
        self, pid: int, interval: float = 0.05, proportional_interval: float = 1.0
    ) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.proportional_interval = proportional_interval
        self.peak_bytes = 0
        self.peak_proportional = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self.reset()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def reset(self) -> None:
        """Start a new peak from the memory in use now."""
        self.peak_bytes = self.now()
        self.peak_proportional = self.proportional()

    def _processes(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            return [self.root, *self.root.children(recursive=True)]
        return []

    def now(self) -> int:
        total = 0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):  # a worker that ended meanwhile
                total += process.memory_info().rss
        return total

    def proportional(self) -> int:
        total = 0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                total += process.memory_full_info().pss
        return total

    def _run(self) -> None:
        last_proportional = time.monotonic()
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, self.now())
            if time.monotonic() - last_proportional >= self.proportional_interval:
                self.peak_proportional = max(self.peak_proportional, self.proportional())
                last_proportional = time.monotonic()


def markdown_table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """A title line and a Markdown table."""
    lines = [
        title,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def write_result(name: str, text: str) -> None:
    """Write a bench's Markdown to bench/results/`name`.md."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)


def write_table(name: str, title: str, header: list[str], rows: list[list[str]]) -> str:
    """Write a Markdown table to bench/results/`name`.md and return it."""
    text = markdown_table(title, header, rows)
    write_result(name, text)
    return text


def met(value: float, goal: float) -> str:
    return "yes" if value <= goal else "no"


def write_labelled_csv(path: Path, rows: int) -> None:
    """Twelve normal features and a two-class label that depends on three of them (seeded)."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(rows, 12))
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(12)])
    frame["label"] = np.where(features[:, :3].sum(axis=1) + rng.normal(size=rows) > 0, "a", "b")
    frame.to_csv(path, index=False)
