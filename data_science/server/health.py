"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

import magic
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from data_science.agent import APP_NAME
from data_science.config import Settings

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and its event loop answers. Touches nothing else."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: session store answers, data dirs writable, enough disk, libmagic works."""
    settings: Settings = request.app.state.settings
    checks: dict[str, Any] = {}
    try:
        await request.app.state.session_service.list_sessions(
            app_name=APP_NAME, user_id="readiness-probe"
        )
        checks["session_store"] = "ok"
    except Exception as error:  # any failure means not ready; say which
        checks["session_store"] = f"failed: {type(error).__name__}"
    checks.update(await asyncio.to_thread(_filesystem_checks, settings))
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def _filesystem_checks(settings: Settings) -> dict[str, str]:
    checks = {}
    for name, directory in (
        ("quarantine_dir", settings.quarantine_dir),
        ("ready_dir", settings.ready_dir),
        ("sessions_dir", settings.sessions_dir),
    ):
        try:
            with tempfile.TemporaryFile(dir=directory):
                checks[name] = "ok"
        except OSError as error:
            checks[name] = f"not writable: {error.strerror}"
    free = settings.free_disk_bytes()
    checks["free_disk"] = (
        "ok" if free >= settings.MIN_FREE_DISK_BYTES
        else f"only {free:,} bytes free (MIN_FREE_DISK_BYTES={settings.MIN_FREE_DISK_BYTES:,})"
    )
    try:
        magic.from_buffer(b"a,b\n1,2\n", mime=True)
        checks["libmagic"] = "ok"
    except (magic.MagicException, OSError) as error:
        checks["libmagic"] = f"failed: {error}"
    return checks
