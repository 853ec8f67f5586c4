"""Open the port at once, build the app behind it: the front door while the server warms up.

Importing ADK, pandas and scikit-learn and walking a warm-up turn take tens of seconds. A load
balancer, a supervisor or a person should not see a closed port all that time, so `main.py`
serves this small ASGI app first:

- `/healthz` answers at once (the process is alive and its event loop turns);
- `/readyz` answers 503 "warming up" until the app is built and warmed up;
- every other request waits for the app, then goes through it unchanged (auth included): a chat
  turn sent during warm-up is answered late, never refused;
- if the app cannot be built, the failure is logged, waiting requests get a 503 in the one error
  shape, and the process stops with a non-zero status.

The app itself is built in a thread (its imports are most of the wait) and its own lifespan
(retention sweeps, and the warm-up of the workers and one throwaway turn, in the background)
runs inside this one's. Once built, the app serves everything: a turn sent while the workers
still warm up is answered (one that needs a worker waits for it), and the app's /readyz says
"warming up" until they are warm. SIGTERM at any moment stops the workers, warming or not.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from starlette.types import Receive, Scope, Send

from data_science.config import Settings
from data_science.observability.logging import get_logger
from data_science.runtime import workers
from data_science.runtime.threads import run_blocking
from data_science.server.shutdown import ShutdownState

log = get_logger(__name__)


def build_server_app(settings: Settings) -> Any:
    """The real FastAPI app (imported here, in the builder's thread: the imports are the wait).

    The worker processes start first and import the computing libraries (which this process
    never imports) meanwhile, on the other cores and at a lower priority; the app serves before
    they are done (its /readyz says "warming up" until then), so the two waits overlap.
    """
    workers.start_warm_up()
    from data_science.server.app import create_app

    return create_app(settings)


class BootingApp:
    """Serves probes while `build(settings)` makes the real app, then hands everything to it."""

    def __init__(
        self,
        settings: Settings,
        build: Callable[[Settings], Any] = build_server_app,
        on_failure: Callable[[], None] = lambda: signal.raise_signal(signal.SIGTERM),
    ) -> None:
        """`on_failure` stops the server when the app cannot be built (by default the same way
        SIGTERM does, so that a supervisor restarts the process)."""
        self.settings = settings
        self.build = build
        self.on_failure = on_failure
        self.shutdown = ShutdownState()
        self.failed: str | None = None
        self._app: Any = None
        self._settled = asyncio.Event()
        self._lifespans = AsyncExitStack()
        self._boot: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
        elif self._app is not None:
            await self._app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] in ("/healthz", "/readyz"):
            await self._answer_probe(scope["path"], send)
        else:
            await self._settled.wait()
            if self._app is not None:
                await self._app(scope, receive, send)
            elif scope["type"] == "http":
                await _send_json(send, 503, _start_failed(self.failed))
            else:  # a websocket: refuse the handshake
                await send({"type": "websocket.close", "code": 1011})

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._boot = asyncio.create_task(self._build_and_warm_up())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._boot is not None and not self._boot.done():
                    self._boot.cancel()
                    # The app's lifespan, which stops the workers, has not started: stop the
                    # ones warming up here (the build's thread cannot be stopped; it is left).
                    await run_blocking(workers.shutdown)
                await self._lifespans.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _build_and_warm_up(self) -> None:
        try:
            app = await run_blocking(self.build, self.settings)
            app.state.shutdown = self.shutdown  # the signal handler's state is the app's
            await self._lifespans.enter_async_context(app.router.lifespan_context(app))
        except Exception as error:
            self.failed = f"{type(error).__name__}: {error}"
            log.critical("startup.failed", error=self.failed, exc_info=True)
            self._settled.set()
            self.on_failure()
            return
        self._app = app
        self._settled.set()
        log.info("startup.ready")

    async def _answer_probe(self, path: str, send: Send) -> None:
        if self.failed:
            await _send_json(send, 503, {"status": "failed", "checks": {"start": self.failed}})
        elif path == "/healthz":
            await _send_json(send, 200, {"status": "ok"})
        else:
            warming = "the app is still starting (imports and warm-up)"
            await _send_json(send, 503, {"status": "warming up", "checks": {"start": warming}})


def _start_failed(reason: str | None) -> dict[str, str]:
    return {
        "error": "start_failed",
        "message": f"The server could not start ({reason}); see its log, fix it and restart.",
    }


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
