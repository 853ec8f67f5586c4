"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from data_science.config import Settings
from data_science.observability.checks import (
    Check,
    data_dir_checks,
    free_disk_check,
    libmagic_check,
    session_store_check,
)
from data_science.runtime.threads import run_blocking
from data_science.storage.session_store import describe_store_error

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and its event loop answers. Touches nothing else."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: not shutting down, session store answers, data dirs writable, enough disk,
    libmagic works."""
    if request.app.state.shutdown.draining:
        return JSONResponse(
            {"status": "shutting down", "checks": {"shutdown": "the server is stopping"}},
            status_code=503,
        )
    if warm_up := _warm_up_state(request):
        status, detail = warm_up
        return JSONResponse({"status": status, "checks": {"start": detail}}, status_code=503)
    settings: Settings = request.app.state.settings
    checks = [await session_store_check(request.app.state.session_service, describe_store_error)]
    checks += await run_blocking(_local_checks, settings)
    ready = all(check.status == "ok" for check in checks)
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": {
                check.name: "ok" if check.status == "ok" else check.detail for check in checks
            },
        },
        status_code=200 if ready else 503,
    )


def _warm_up_state(request: Request) -> tuple[str, str] | None:
    """(status, detail) while the warm-up the app's lifespan started (server/app.py) runs or
    after it failed; None once it is done."""
    warming: asyncio.Task[None] | None = getattr(request.app.state, "warming", None)
    if warming is None:
        return None
    if not warming.done():
        return "warming up", "the worker processes and the agent are warming up"
    if not warming.cancelled() and (error := warming.exception()) is not None:
        return "not ready", f"the warm-up failed ({type(error).__name__}: {error}); see the log"
    return None


def _local_checks(settings: Settings) -> list[Check]:
    return [*data_dir_checks(settings), free_disk_check(settings), libmagic_check()]
