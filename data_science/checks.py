"""Checks of the running environment, shared by `/readyz` and `verify_production.py`.

Each check returns a `Check`: a name, a status (ok, warn or fail) and a sentence for a person.
"""

from __future__ import annotations

import ipaddress
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import magic
from google.adk.sessions.base_session_service import BaseSessionService

from data_science.config import APP_NAME, Settings

Status = Literal["ok", "warn", "fail"]


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


def libmagic_check() -> Check:
    try:
        sniffed = magic.from_buffer(b"a,b\n1,2\n", mime=True)
    except (magic.MagicException, OSError) as error:
        return Check("libmagic", "fail", f"libmagic does not work: {error}")
    return Check("libmagic", "ok", f"content sniffing works ({sniffed})")


async def session_store_check(service: BaseSessionService) -> Check:
    try:
        await service.list_sessions(app_name=APP_NAME, user_id="readiness-probe")
    except Exception as error:  # any failure means the store is unusable; report which
        return Check("session_store", "fail", f"{type(error).__name__}: {error}"[:300])
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
    if is_loopback(settings.HOST):
        return Check("exposure", "ok", f"bound to {settings.HOST} (this machine only)")
    return Check(
        "exposure",
        "fail",
        f"HOST={settings.HOST} exposes the app to the network, and this version has no "
        "authentication; bind 127.0.0.1 behind an authenticating reverse proxy",
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
