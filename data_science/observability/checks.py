"""Checks of the running environment, shared by `/readyz` and `verify_production.py`.

Each check returns a `Check`: a name, a status (ok, warn or fail) and a sentence for a person.
"""

from __future__ import annotations

import asyncio
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import magic

from data_science.config import APP_NAME, Settings, is_loopback_host

if TYPE_CHECKING:  # ADK takes a second to import; main.py checks the store before the port opens
    from google.adk.sessions.base_session_service import BaseSessionService

Status = Literal["ok", "warn", "fail"]
# A database host that drops packets would otherwise hold a probe for minutes.
SESSION_STORE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def data_dir_checks(settings: Settings) -> list[Check]:
    """Every data directory exists, is private (0700) and writable."""
    checks = []
    for name, directory in (
        ("data_dir", settings.DATA_DIR),
        ("quarantine_dir", settings.quarantine_dir),
        ("ready_dir", settings.ready_dir),
        ("sessions_dir", settings.sessions_dir),
        ("artifacts_dir", settings.artifacts_dir),
    ):
        checks.append(_directory_check(name, directory))
    return checks


def _directory_check(name: str, directory: Path) -> Check:
    if not directory.is_dir():
        return Check(name, "fail", f"{directory} does not exist")
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        return Check(name, "fail", f"{directory} has mode {mode:o}; it must be 700")
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        return Check(name, "fail", f"{directory} is not writable: {error.strerror}")
    return Check(name, "ok", f"{directory} (700, writable)")


def free_disk_check(settings: Settings) -> Check:
    free = settings.free_disk_bytes()
    if free < settings.MIN_FREE_DISK_BYTES:
        return Check(
            "free_disk",
            "fail",
            f"only {free:,} bytes free (MIN_FREE_DISK_BYTES={settings.MIN_FREE_DISK_BYTES:,})",
        )
    return Check("free_disk", "ok", f"{free / 1e9:.1f} GB free")


def object_store_check(uri: str, problem: str | None) -> Check:
    """The STORAGE_URI check: `problem` is `storage.objects.store_problem`'s answer."""
    if problem:
        return Check("object_store", "fail", problem)
    return Check("object_store", "ok", f"{uri} (the bucket answered a listing)")


def libmagic_check() -> Check:
    try:
        sniffed = magic.from_buffer(b"a,b\n1,2\n", mime=True)
    except (magic.MagicException, OSError) as error:
        return Check("libmagic", "fail", f"libmagic does not work: {error}")
    return Check("libmagic", "ok", f"content sniffing works ({sniffed})")


async def session_store_check(
    service: BaseSessionService, describe: Callable[[BaseException], str]
) -> Check:
    """The store answers a query within SESSION_STORE_TIMEOUT_SECONDS; `describe` words a
    failure without the driver's message (the store's own, `storage.session_store`)."""
    try:
        await asyncio.wait_for(
            service.list_sessions(app_name=APP_NAME, user_id="readiness-probe"),
            SESSION_STORE_TIMEOUT_SECONDS,
        )
    except TimeoutError:
        return Check(
            "session_store",
            "fail",
            f"no answer within {SESSION_STORE_TIMEOUT_SECONDS} s (is the database host reachable?)",
        )
    except Exception as error:  # any failure means the store is unusable; say which kind
        # In words, never the driver's message: /readyz answers anyone who asks.
        return Check("session_store", "fail", describe(error))
    return Check("session_store", "ok", "reachable")


def limits_check(settings: Settings) -> Check:
    if settings.MAX_UPLOAD_BYTES > settings.MAX_ZIP_UNCOMPRESSED_BYTES:
        return Check(
            "limits",
            "fail",
            "MAX_UPLOAD_BYTES exceeds MAX_ZIP_UNCOMPRESSED_BYTES: an accepted ZIP could "
            "never be extracted",
        )
    return Check(
        "limits",
        "ok",
        f"uploads ≤ {settings.MAX_UPLOAD_BYTES:,} B, ZIPs ≤ {settings.MAX_ZIP_ENTRIES} "
        f"entries / {settings.MAX_ZIP_UNCOMPRESSED_BYTES:,} B",
    )


def exposure_check(settings: Settings) -> Check:
    """Who can reach the app, and whether it asks them who they are."""
    if problem := settings.exposure_problem():
        return Check("exposure", "fail", problem)
    if is_loopback_host(settings.HOST):
        return Check("exposure", "ok", f"bound to {settings.HOST} (this machine only)")
    if settings.AUTH_MODE == "none":
        return Check(
            "exposure",
            "warn",
            f"HOST={settings.HOST} without authentication (ALLOW_UNAUTHENTICATED_NETWORK=true): "
            "everyone who reaches it can use every user's data",
        )
    if settings.AUTH_MODE == "header":
        return Check(
            "exposure",
            "warn",
            f"HOST={settings.HOST} trusts the {settings.AUTH_HEADER} header: make sure only "
            "the authenticating proxy can reach this address",
        )
    return Check("exposure", "ok", f"HOST={settings.HOST} with bearer-token authentication")


def auth_check(settings: Settings) -> Check:
    """The credentials the chosen AUTH_MODE needs are there (never shows a token)."""
    if settings.AUTH_MODE == "token":
        try:
            users = set(settings.auth_users_by_token().values())
        except ValueError as error:
            return Check("auth", "fail", str(error))
        return Check("auth", "ok", f"bearer tokens for {len(users)} user(s)")
    if settings.AUTH_MODE == "header":
        return Check("auth", "ok", f"user id from the {settings.AUTH_HEADER} header")
    return Check("auth", "ok", "none: one local user (AUTH_MODE=none)")


def code_execution_check(settings: Settings, hosted: bool, problem: str | None) -> Check:
    """Whether `run_python` is offered and, if not, why. `problem` is the sandbox probe's answer
    (`runtime.sandbox.sandbox_problem`), asked only when the settings would offer the tool."""
    name = "code_execution"
    if not settings.ENABLE_CODE_EXECUTION:
        return Check(name, "ok", "off (ENABLE_CODE_EXECUTION=false)")
    if settings.SUMMARY_MODE_ONLY:
        return Check(name, "ok", "off in summary mode (SUMMARY_MODE_ONLY): code could print cells")
    if problem is not None:
        return Check(
            name, "warn", f"run_python is not offered: the code sandbox does not work: {problem}"
        )
    if not hosted:
        return Check(name, "ok", "the sandbox works; run_python goes to hosted models only")
    return Check(name, "ok", "run_python offered: a trivial call ran in the sandbox")


def ray_check(settings: Settings, join: Callable[[Settings], tuple[Status, str]]) -> Check:
    """Whether the Ray cluster at RAY_ADDRESS can be joined, when it is set. `join` joins it for
    real and says how it went (`runtime.ray_compute.reachability`)."""
    if settings.RAY_ADDRESS is None:
        return Check("ray", "ok", "not used (RAY_ADDRESS unset): CPU work runs on this machine")
    status, detail = join(settings)
    return Check("ray", status, detail)
