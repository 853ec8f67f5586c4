"""The FastAPI application: ADK's HTTP API, the upload route, health probes and the chat page.

ADK's `ApiServer` provides the standard routes (sessions, /run, /run_sse, artifacts) on the
services built here, so the upload route and the agent share one session store.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from google.adk.agents import LlmAgent
from google.adk.agents.base_agent import BaseAgent
from google.adk.apps import App
from google.adk.auth.credential_service.in_memory_credential_service import (
    InMemoryCredentialService,
)
from google.adk.cli.api_server import ApiServer
from google.adk.cli.utils.base_agent_loader import BaseAgentLoader
from google.adk.evaluation.local_eval_set_results_manager import LocalEvalSetResultsManager
from google.adk.evaluation.local_eval_sets_manager import LocalEvalSetsManager
from google.adk.memory.in_memory_memory_service import InMemoryMemoryService
from google.adk.runners import Runner
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types

from data_science.agent import build_app
from data_science.config import APP_NAME, Settings
from data_science.intake.pipeline import UploadPipeline
from data_science.observability.audit import audit_log
from data_science.observability.logging import configure_logging, get_logger
from data_science.observability.tracing import configure_tracing
from data_science.offline.model import OfflineModel
from data_science.runtime import workers
from data_science.runtime.ray_compute import computing_on_ray
from data_science.runtime.threads import run_blocking
from data_science.server import (
    auth,
    deletion,
    files,
    health,
    jobs,
    metrics,
    notebook,
    status,
    store_errors,
    suggestions,
    uploads,
)
from data_science.server.data_stores import DataStores
from data_science.server.middleware import ObservabilityMiddleware
from data_science.server.path_guard import PathGuard
from data_science.server.responses import install_error_shape
from data_science.server.retention import retention_sweeps
from data_science.server.shutdown import ShutdownState
from data_science.server.turn_lock import TurnLeases, TurnLock
from data_science.storage.artifacts import artifact_service_for
from data_science.storage.session_store import open_session_store

log = get_logger(__name__)
WARM_UP_USER = "start-up-warm-up"
STATIC_DIR = Path(__file__).parent / "static"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SingleAppLoader(BaseAgentLoader):
    """Serves the one app this product is, built from the given settings."""

    def __init__(self, app: App) -> None:
        self.app = app

    def load_agent(self, agent_name: str) -> BaseAgent | App:
        if agent_name != APP_NAME:
            raise ValueError(f"No app named '{agent_name}'; this server runs '{APP_NAME}'.")
        return self.app

    def list_agents(self) -> list[str]:
        return [APP_NAME]


async def warm_up(agent_app: App) -> None:
    """Wait for the worker processes (boot.py started them, with the build) and walk one
    offline turn: ADK and the workers import much lazily, which would otherwise stall the first
    requests that need them. Turns are served meanwhile; /readyz says "warming up" until done.
    """
    try:
        await run_blocking(workers.warm_up)
        await warm_up_agent(agent_app)
    except Exception:
        log.critical("startup.warm_up_failed", exc_info=True)
        raise
    log.info("startup.warm")
    # Exempt the start-up heap (ADK, LiteLLM, pandas: millions of objects) from the cyclic
    # garbage collector: a full collection over it pauses the event loop for ~250 ms.
    gc.collect()
    gc.freeze()


async def warm_up_agent(agent_app: App) -> None:
    """Run one throwaway turn on the offline model in memory (no LLM call, nothing stored)."""
    root = agent_app.root_agent
    if not isinstance(root, LlmAgent):
        return
    offline = App(name=APP_NAME, root_agent=root.clone(update={"model": OfflineModel()}))
    sessions = InMemorySessionService()
    runner = Runner(app=offline, session_service=sessions)
    session = await sessions.create_session(app_name=APP_NAME, user_id=WARM_UP_USER)
    message = types.Content(role="user", parts=[types.Part(text="list my files")])
    async for _ in runner.run_async(
        user_id=WARM_UP_USER, session_id=session.id, new_message=message
    ):
        pass
    await runner.close()


def create_app(settings: Settings) -> FastAPI:
    """The server, everything in it built from `settings` (main.py loads them once)."""
    configure_logging(settings)
    configure_tracing(settings)  # before ADK's app, which would install its own exporters
    agent_app = build_app(settings)
    session_service = open_session_store(settings)
    artifact_service = artifact_service_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Serve at once: a turn that needs a worker waits for it in the lane's queue.
        app.state.warming = asyncio.create_task(warm_up(agent_app))
        try:
            async with (
                computing_on_ray(settings),
                retention_sweeps(DataStores(settings, session_service, artifact_service)),
            ):
                yield
        finally:
            app.state.warming.cancel()
            await session_service.close()
            # Stops the workers whatever they run, the warm-up included (its wait then ends).
            await run_blocking(workers.shutdown)

    server = ApiServer(
        agent_loader=SingleAppLoader(agent_app),
        session_service=session_service,
        memory_service=InMemoryMemoryService(),
        artifact_service=artifact_service,
        credential_service=InMemoryCredentialService(),
        eval_sets_manager=LocalEvalSetsManager(agents_dir=str(PROJECT_ROOT)),
        eval_set_results_manager=LocalEvalSetResultsManager(agents_dir=str(PROJECT_ROOT)),
        agents_dir=str(PROJECT_ROOT),
    )
    app = server.get_fast_api_app(lifespan=lifespan, bind_host=settings.HOST)
    app.state.settings = settings
    install_error_shape(app)
    app.state.session_service = session_service
    app.state.artifact_service = artifact_service
    app.state.shutdown = ShutdownState()
    store_errors.install(app)  # a failing store answers 503, never its SQL
    # One turn at a time per chat, across replicas: a lease in the session store (turn_lock.py).
    app.add_middleware(
        TurnLock, leases=TurnLeases(session_service.db_engine, settings.TURN_LEASE_SECONDS)
    )
    # Inside auth: every path parameter is checked before any route runs (path_guard.py).
    app.add_middleware(PathGuard)
    # Around every route, ADK's and ours: only authenticated requests get through (auth.py).
    app.add_middleware(auth.AuthMiddleware, settings=settings, public=auth.public_paths(STATIC_DIR))
    # Added last, so it wraps even auth: refusals are measured and logged with a request id.
    app.add_middleware(ObservabilityMiddleware, settings=settings)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    app.include_router(deletion.router)
    app.state.pipeline = UploadPipeline(settings, audit_log(settings))
    app.include_router(health.router)
    app.include_router(uploads.router)
    app.include_router(files.router)
    app.include_router(notebook.router)
    app.include_router(jobs.router)
    app.include_router(status.router)
    app.include_router(suggestions.router)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="ui")
    return app
