"""The retention sweep: a background task that removes what is older than DATA_RETENTION_DAYS.

Before it starts, at start-up, everything a crash of the previous run left is removed, whatever
its age: nothing is running yet, so every quarantine file is an upload that was cut off (each is
audited as aborted) and every staging directory a job that died. With one server per DATA_DIR
that is all of them. With replicas (a PostgreSQL session store) other servers are running: each
replica has a quarantine folder of its own (`Settings.quarantine_dir`), and only that one is
cleared at start-up; staging directories, which a live replica's job may be writing, are left
to the sweep below, which removes them by age.

Then the sweep runs at once and every RETENTION_SWEEP_SECONDS. Each run removes work a crash
left behind untouched for STALE_WORK_SECONDS (requests are live by then: younger work may be in
progress) and, when DATA_RETENTION_DAYS is above 0, every session not updated within that many
days (files, artifacts and history, through `data_stores.delete_session_data`) and every file
stored before then. With replicas, that second part runs on one replica at a time: it holds a
PostgreSQL advisory lock while it runs, and a replica that finds the lock taken skips its pass
(the holder is doing the same work). Removing debris by age is safe on every replica at once.
Each removal is audited. Disk work runs in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import text

from data_science.config import APP_NAME
from data_science.intake.pipeline import UploadPipeline
from data_science.observability.logging import get_logger
from data_science.runtime.threads import run_blocking
from data_science.server.data_stores import DataStores, delete_session_data
from data_science.storage.workspace import directory_key, remove_expired_items, remove_stale_work

log = get_logger(__name__)
DAY_SECONDS = 86_400
# Untouched this long, a staging directory or quarantine file belongs to no running request.
STALE_WORK_SECONDS = 600
SWEEP_LOCK_KEY = 727_162  # the PostgreSQL advisory lock a replica holds while it sweeps
TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")


@dataclass
class SweepReport:
    """What one sweep removed."""

    stale_work: int = 0
    sessions: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: bool = False  # another replica was sweeping


@asynccontextmanager
async def exclusive_sweep(stores: DataStores) -> AsyncIterator[bool]:
    """Whether this replica may run the retention pass now: True unless another replica holds
    the sweep's advisory lock (always True on SQLite: one server per DATA_DIR)."""
    engine = stores.sessions.db_engine
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with engine.connect() as connection:
        taken = bool(await connection.scalar(TRY_LOCK, {"key": SWEEP_LOCK_KEY}))
        try:
            yield taken
        finally:
            if taken:  # a session-level lock outlives the transaction: hand it back
                await connection.execute(UNLOCK, {"key": SWEEP_LOCK_KEY})
                await connection.commit()


async def sweep(stores: DataStores, now: float | None = None) -> SweepReport:
    """Run one retention pass (see the module docstring) and say what went."""
    now = time.time() if now is None else now
    settings = stores.settings
    report = SweepReport()
    report.stale_work = await run_blocking(remove_stale_work, settings, now - STALE_WORK_SECONDS)
    if not settings.DATA_RETENTION_DAYS:
        return report
    async with exclusive_sweep(stores) as ours:
        if ours:
            await _expire(stores, now - settings.DATA_RETENTION_DAYS * DAY_SECONDS, report)
        else:
            report.skipped = True
    return report


async def _expire(stores: DataStores, cutoff: float, report: SweepReport) -> None:
    """Remove (and audit) every session not updated, and every file stored, before `cutoff`."""
    settings = stores.settings
    listed = await stores.sessions.list_sessions(app_name=APP_NAME)
    owners: dict[tuple[str, str], str] = {}
    for session in listed.sessions:
        if session.last_update_time < cutoff:
            await delete_session_data(stores, session.user_id, session.id, reason="retention")
            report.sessions.append(session.id)
        else:
            owners[directory_key(session.user_id), directory_key(session.id)] = session.user_id
    expired = await run_blocking(remove_expired_items, settings, cutoff)
    for item in expired:
        # A file whose session is gone (deleted through ADK's own route) has no known owner.
        user_id = owners.get((item.user_key, item.session_key))
        await run_blocking(
            stores.audit.record,
            "deletion",
            user_id=user_id,
            scope="file",
            reason="retention",
            item_id=item.item_id,
            kind=item.kind,
            **({} if user_id else {"user_key": item.user_key}),
        )
        report.files.append(item.item_id)


async def _sweep_forever(stores: DataStores) -> None:
    while True:
        try:
            report = await sweep(stores)
        except Exception:  # a failed pass must not end the schedule; the next one retries
            log.exception("retention.failed")
        else:
            log.info(
                "retention.swept",
                skipped=report.skipped,
                stale_work=report.stale_work,
                sessions=len(report.sessions),
                files=len(report.files),
            )
        await asyncio.sleep(stores.settings.RETENTION_SWEEP_SECONDS)


async def sweep_after_restart(stores: DataStores) -> None:
    """Audit and remove every interrupted upload and staging directory (see the docstring)."""
    pipeline = UploadPipeline(stores.settings, stores.audit)
    try:
        uploads = await run_blocking(pipeline.sweep_interrupted)
        # With replicas, live jobs elsewhere may be staging: the periodic sweep goes by age.
        staging = (
            0
            if stores.settings.replicated
            else await run_blocking(remove_stale_work, stores.settings, math.inf)
        )
    except Exception:  # the periodic sweep retries what is left, by age
        log.exception("retention.restart_sweep_failed")
        return
    log.info("retention.restart_swept", interrupted_uploads=uploads, stale_work=staging)


@asynccontextmanager
async def retention_sweeps(stores: DataStores) -> AsyncIterator[None]:
    """Clear what the previous run left, then sweep in the background for the block's lifetime."""
    await sweep_after_restart(stores)
    task = asyncio.create_task(_sweep_forever(stores), name="retention-sweep")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
