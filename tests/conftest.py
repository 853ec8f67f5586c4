"""Shared fixtures: isolated settings, real datasets, a real ADK tool context, a live server."""

from __future__ import annotations

import functools
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pandas as pd
import pytest
from google.adk.agents.invocation_context import InvocationContext
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.adk.tools.tool_context import ToolContext
from palmerpenguins import load_penguins

from data_science.config import Settings
from data_science.runtime.threads import run_blocking
from data_science.storage.tables import write_parquet
from data_science.storage.workspace import ItemRecord, Workspace
from data_science.tools.base import TABLE_FILE, workspace_for

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A start takes about 20 s of CPU (ADK, LiteLLM, pandas, two worker processes): a minute or
# more of wall time on a shared 2-core machine running other test processes.
START_SECONDS = 180


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose DATA_DIR is a fresh temporary directory, built here and handed to what the
    test builds (an agent, an app). The environment says the same, for the entry points that
    load their own settings (a child process, ADK's agent loader)."""
    for name in Settings.model_fields:  # nothing from the developer's shell leaks in
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env file from the working copy
    current = Settings(DATA_DIR=tmp_path / "data")
    current.create_data_dirs()
    return current


@pytest.fixture(scope="session")
def penguins() -> pd.DataFrame:
    return load_penguins()


@pytest.fixture
def penguins_csv(tmp_path: Path, penguins: pd.DataFrame) -> Path:
    path = tmp_path / "penguins.csv"
    penguins.to_csv(path, index=False)
    return path


@pytest.fixture
async def tool_context(settings: Settings) -> ToolContext:
    """A real ADK ToolContext for user 'alice' in a fresh in-memory session."""
    from data_science.agent import build_agent

    session_service = InMemorySessionService()
    session = await session_service.create_session(app_name="data_science", user_id="alice")
    invocation = InvocationContext(
        session_service=session_service,
        artifact_service=InMemoryArtifactService(),
        invocation_id="test-invocation",
        agent=build_agent(settings),
        session=session,
    )
    return ToolContext(invocation)


def store_frame(workspace: Workspace, frame: pd.DataFrame, name: str) -> ItemRecord:
    """Store `frame` as a table of `workspace` the way a tool does: a worker's Parquet file in
    a staging path, adopted into the workspace (`tools.base.derive_table`)."""
    path = workspace.staging_path(TABLE_FILE)
    try:
        summary = write_parquet(frame, path)
        return workspace.adopt_file(
            path, kind="table", name=name, stored_name=TABLE_FILE, summary=summary
        )
    finally:
        workspace.discard_staging(path)


def add_dataset(tool_context: ToolContext, frame: pd.DataFrame, name: str) -> str:
    """Store `frame` in the tool context's session as a dataset; return its id."""
    return store_frame(workspace_for(tool_context), frame, name).id


def load_table(tool_context: ToolContext, dataset_id: str) -> pd.DataFrame:
    """The stored table `dataset_id` of the tool context's session, as a tool reads it."""
    return workspace_for(tool_context).table_file(dataset_id).load()


ToolResult = dict[str, Any]
Tool = Callable[..., Awaitable[ToolResult]]
ERROR_SHAPE = {"status", "error", "message"}


async def call(tool: Tool, tool_context: ToolContext, /, **args: Any) -> ToolResult:
    """Call `tool` as the agent does and return its findings.

    Fails the test unless the tool answered `status == "ok"`, with the tool's own error code and
    message in the failure, so a test body states only what it expects of the findings.
    """
    result = await tool(tool_context=tool_context, **args)
    assert result["status"] == "ok", (
        f"{tool.__name__} answered {result.get('error')}: {result.get('message')}"
    )
    return result


async def call_error(
    tool: Tool,
    tool_context: ToolContext,
    code: str,
    /,
    *,
    says: Sequence[str] = (),
    **args: Any,
) -> ToolResult:
    """Call `tool` with arguments it must refuse; return the refusal.

    Fails the test unless the answer is exactly the one error shape of tools
    (`{"status": "error", "error": code, "message": sentence}`) with the expected `code`, and
    the message contains every fragment of `says` (the way forward it must offer).
    """
    result = await tool(tool_context=tool_context, **args)
    assert result["status"] == "error", f"{tool.__name__} should refuse {args}, answered {result}"
    assert set(result) == ERROR_SHAPE, f"not the tool error shape: {result}"
    assert result["error"] == code, f"{tool.__name__} refused with the wrong code: {result}"
    message = result["message"]
    assert isinstance(message, str) and message.strip(), f"an empty message: {result}"
    for fragment in says:
        assert fragment in message, f"{fragment!r} is not in {tool.__name__}'s message {message!r}"
    return result


class Refusal(NamedTuple):
    """One row of a table of refusals: a tool, the arguments it must refuse, the error code it
    must answer and the fragments its message must contain (the way forward)."""

    tool: Tool
    arguments: dict[str, Any]
    code: str
    says: Sequence[str] = ()

    async def check(self, tool_context: ToolContext, /, **context: Any) -> ToolResult:
        """Call the tool with the row's arguments and `context` (what only the test knows, such
        as the id of the table it stored); assert the refusal (`call_error`)."""
        return await call_error(
            self.tool, tool_context, self.code, says=self.says, **context, **self.arguments
        )


def refusal(name: str, tool: Tool, arguments: dict[str, Any], code: str, *says: str) -> Any:
    """A `Refusal` as a parametrized case whose id, `name`, says which behaviour it pins."""
    return pytest.param(Refusal(tool, arguments, code, says), id=name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The real app (`main.py` of `root`, this checkout by default, or another `command`) in a
    child process on a free port."""

    def __init__(
        self, data_dir: Path, extra_env: dict[str, str] | None = None, root: Path = PROJECT_ROOT
    ) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
            "DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            # Tests stop servers with SIGTERM; no load balancer needs the readiness drain here.
            "SHUTDOWN_DRAIN_SECONDS": "0",
            **(extra_env or {}),
        }
        self.command = [sys.executable, str(self.root / "main.py")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = START_SECONDS) -> LiveServer:
        """Start the server and wait until it answers; a server that does not is killed."""
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.root,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if self.warmed_up():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()  # else the server and its worker processes outlive the test run
        raise RuntimeError(f"server did not start within {timeout:.0f} s")

    def warmed_up(self) -> bool:
        """The port answers and the app behind it is built (server/boot.py): /readyz no longer
        says "warming up" (it may still say "not ready" for a reason a test set up)."""
        if httpx.get(f"{self.url}/healthz", timeout=1).status_code != 200:
            return False
        return bool(httpx.get(f"{self.url}/readyz", timeout=5).json()["status"] != "warming up")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "data").start()
    yield server
    server.stop()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app in-process, over ASGI."""
    from data_science.server.app import create_app

    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


@functools.cache
def postgres_test_url() -> str:
    """TEST_POSTGRES_URL when set; else a throwaway server started for this run (the system's
    PostgreSQL binaries, or the pgserver wheel's: tests/postgres_server.py)."""
    if configured := os.environ.get("TEST_POSTGRES_URL"):
        return configured
    from tests.postgres_server import postgres_binaries, start_postgres

    return start_postgres(postgres_binaries())


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards; yields its URL.

    Fails (never skips) when the server cannot be reached.
    """
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(await run_blocking(postgres_test_url))
    try:
        admin = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=10,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        pytest.fail(
            f"PostgreSQL at {url.host}:{url.port} is not reachable ({error}): check "
            "TEST_POSTGRES_URL, or unset it to let the tests start their own server."
        )
    name = f"dsagent_t_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def session_store_env(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """Environment choosing the session store: the SQLite default, or a fresh PostgreSQL DB."""
    if request.param == "sqlite":
        yield {}
        return
    async with fresh_postgres_database() as url:
        yield {"SESSION_SERVICE_URI": url}
