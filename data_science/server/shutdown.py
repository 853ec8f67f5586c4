"""Graceful shutdown: readiness turns 503 at once, jobs stop, in-flight requests finish.

On SIGTERM (what `docker stop`, systemd and Kubernetes send):
1. `/readyz` answers 503 from that moment, and every running long job (AutoML, model search)
   is cancelled: its process is stopped and its tool call answers "cancelled", so the chat
   request that waits on it finishes promptly instead of running out its budget;
2. for SHUTDOWN_DRAIN_SECONDS the server keeps serving, so a load balancer polling readiness
   stops sending new requests before the listener closes;
3. uvicorn then stops listening and gives in-flight requests SHUTDOWN_TIMEOUT_SECONDS to finish
   (its `timeout_graceful_shutdown`), after which the app's lifespan closes the session store and
   stops every worker process.
SIGINT (Ctrl+C) does the same without the drain wait; a second signal quits at once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from data_science.config import Settings
from data_science.observability.logging import get_logger
from data_science.runtime.jobs import jobs

log = get_logger(__name__)


class ShutdownState:
    """Whether the server is on its way out (then it is no longer ready)."""

    def __init__(self) -> None:
        self.draining = False

    def begin(self) -> None:
        """Mark the server as leaving and cancel the running jobs (idempotent)."""
        if not self.draining:
            self.draining = True
            log.info("shutdown.draining", cancelled_jobs=jobs.cancel_all())


class GracefulServer(uvicorn.Server):
    """uvicorn's server with a drain period between the signal and closing the listener."""

    def __init__(self, config: uvicorn.Config, state: ShutdownState, drain_seconds: float) -> None:
        super().__init__(config)
        self.state = state
        self.drain_seconds = drain_seconds
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler may interrupt code holding any lock: only hand the work to the loop.
        loop = self._loop
        if loop is None or self.state.draining:
            super().handle_exit(sig, frame)
            return
        loop.call_soon_threadsafe(self._drain_then_exit, loop, sig, frame)

    def _drain_then_exit(
        self, loop: asyncio.AbstractEventLoop, sig: int, frame: FrameType | None
    ) -> None:
        if self.state.draining:  # a second signal while draining: stop now
            super().handle_exit(sig, frame)
            return
        self.state.begin()
        drain = self.drain_seconds if sig == signal.SIGTERM else 0.0
        loop.call_later(drain, self._exit, sig, frame)

    def _exit(self, sig: int, frame: FrameType | None) -> None:
        jobs.cancel_all()  # any job started while draining
        super().handle_exit(sig, frame)


def serve(app: ASGIApp, state: ShutdownState, settings: Settings) -> None:
    """Run `app` under uvicorn with the graceful shutdown above (blocks until it ends); `state`
    is the one the app's readiness and jobs look at."""
    config = uvicorn.Config(
        app,
        host=settings.HOST,
        port=settings.PORT,
        log_config=None,
        timeout_graceful_shutdown=settings.SHUTDOWN_TIMEOUT_SECONDS,
    )
    GracefulServer(config, state, settings.SHUTDOWN_DRAIN_SECONDS).run()
