"""Long-running tool jobs (AutoML, model search, forecasting): progress and cancellation.

A tool wraps its long work in `async with jobs.running(...)`; while it runs, the chat page polls
`GET .../jobs` for the time spent against the budget and may ask to cancel it. Cancelling sets
the job's event, which `workers.run_with_deadline` watches, so the job's process is stopped and
the tool answers "cancelled".

Every job is kept in the process (its event is the fast path for a cancel that arrives here) and,
when the call runs under a database session store (SQLite by default, PostgreSQL when
SESSION_SERVICE_URI names one), also as a row of the `running_jobs` table in that store's own
database, the way `server/turn_lock.py` keeps its leases. Any replica sharing the store lists
the row with its progress and may ask to cancel it by setting the row's `cancel_requested`. The
replica running the job renews the row's heartbeat every JOB_HEARTBEAT_SECONDS and reads that
flag in the same statement, setting the local event when it is on. A replica that dies leaves
its rows: one whose heartbeat is older than JOB_STALE_SECONDS is removed by the next listing,
so a dead job is never shown as running forever. The row goes when the call ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from data_science.observability.logging import get_logger
from data_science.runtime.shared_tables import SharedTable

log = get_logger(__name__)

# The bar stops short of full until the answer arrives: a budget is a limit, not a promise.
MAX_REPORTED_PROGRESS = 0.99
JOB_HEARTBEAT_SECONDS = 1.0  # how often a running job's replica renews its row and reads cancels
JOB_STALE_SECONDS = 30.0  # a row not renewed this long belongs to a replica that died
JOBS_TABLE = Table(
    "running_jobs",
    MetaData(),
    Column("job_id", String(32), primary_key=True),
    Column("chat_key", String(64), nullable=False, index=True),  # hash of user and session
    Column("tool", String(64), nullable=False),
    Column("label", String(200), nullable=False),
    Column("budget_seconds", Float, nullable=True),
    Column("started_at", Float, nullable=False),  # seconds since the epoch
    Column("heartbeat_at", Float, nullable=False),
    Column("replica", String(200), nullable=False),
    Column("cancel_requested", Boolean, nullable=False, default=False),
)


def chat_key(user_id: str, session_id: str) -> str:
    """The chat's key in the table: a hash, so the table holds no user ids."""
    return hashlib.sha256(f"{user_id}\0{session_id}".encode()).hexdigest()


def describe(
    *,
    job_id: str,
    tool: str,
    label: str,
    started_at: float,
    budget_seconds: float | None,
    cancelling: bool,
    replica: str,
) -> dict[str, Any]:
    """A job as the jobs route shows it (no user id: the route is already per user)."""
    elapsed = max(0.0, time.time() - started_at)
    progress = min(elapsed / budget_seconds, MAX_REPORTED_PROGRESS) if budget_seconds else None
    return {
        "job_id": job_id,
        "tool": tool,
        "label": label,
        "state": "cancelling" if cancelling else "running",
        "started_at": datetime.fromtimestamp(started_at, UTC).isoformat(),
        "elapsed_seconds": round(elapsed, 1),
        "budget_seconds": budget_seconds,
        "progress": None if progress is None else round(progress, 3),
        "replica": replica,
    }


@dataclass
class Job:
    """One long-running call of a tool in one user's session."""

    user_id: str
    session_id: str
    tool: str
    label: str
    budget_seconds: float | None
    replica: str = ""
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict[str, Any]:
        return describe(
            job_id=self.job_id,
            tool=self.tool,
            label=self.label,
            started_at=self.started,
            budget_seconds=self.budget_seconds,
            cancelling=self.cancel.is_set(),
            replica=self.replica,
        )


class JobTable:
    """The `running_jobs` rows, on a session store's engine (shared by its replicas)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._table = SharedTable(engine, JOBS_TABLE)

    async def add(self, job: Job) -> None:
        await self._table.prepare()
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(JOBS_TABLE).values(
                    job_id=job.job_id,
                    chat_key=chat_key(job.user_id, job.session_id),
                    tool=job.tool,
                    label=job.label,
                    budget_seconds=job.budget_seconds,
                    started_at=job.started,
                    heartbeat_at=time.time(),
                    replica=job.replica,
                    cancel_requested=job.cancel.is_set(),
                )
            )

    async def heartbeat(self, job_id: str) -> bool:
        """Renew the row; True when some replica asked the job to stop."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(JOBS_TABLE)
                .where(JOBS_TABLE.c.job_id == job_id)
                .values(heartbeat_at=time.time())
            )
            requested = await connection.scalar(
                select(JOBS_TABLE.c.cancel_requested).where(JOBS_TABLE.c.job_id == job_id)
            )
        return bool(requested)

    async def remove(self, job_id: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(delete(JOBS_TABLE).where(JOBS_TABLE.c.job_id == job_id))

    async def for_chat(self, user_id: str, session_id: str) -> list[dict[str, Any]]:
        """The chat's live jobs, described; rows of dead replicas are removed on the way."""
        await self._table.prepare()
        now = time.time()
        key = chat_key(user_id, session_id)
        async with self.engine.begin() as connection:
            stale = await connection.execute(
                delete(JOBS_TABLE).where(
                    JOBS_TABLE.c.chat_key == key,
                    JOBS_TABLE.c.heartbeat_at < now - JOB_STALE_SECONDS,
                )
            )
            rows = (
                await connection.execute(
                    select(JOBS_TABLE)
                    .where(JOBS_TABLE.c.chat_key == key)
                    .order_by(JOBS_TABLE.c.started_at)
                )
            ).all()
        if stale.rowcount:
            log.warning("jobs.stale_removed", jobs=stale.rowcount)
        return [_row_description(row._mapping) for row in rows]

    async def request_cancel(
        self, user_id: str, session_id: str, job_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Ask the chat's job (or all its jobs) to stop; the rows asked, described."""
        await self._table.prepare()
        where = [JOBS_TABLE.c.chat_key == chat_key(user_id, session_id)]
        where.append(JOBS_TABLE.c.heartbeat_at >= time.time() - JOB_STALE_SECONDS)
        if job_id is not None:
            where.append(JOBS_TABLE.c.job_id == job_id)
        async with self.engine.begin() as connection:
            await connection.execute(update(JOBS_TABLE).where(*where).values(cancel_requested=True))
            rows = (await connection.execute(select(JOBS_TABLE).where(*where))).all()
        return [_row_description(row._mapping) for row in rows]


def _row_description(row: Any) -> dict[str, Any]:
    return describe(
        job_id=row["job_id"],
        tool=row["tool"],
        label=row["label"],
        started_at=row["started_at"],
        budget_seconds=row["budget_seconds"],
        cancelling=bool(row["cancel_requested"]),
        replica=row["replica"],
    )


_tables: weakref.WeakKeyDictionary[AsyncEngine, JobTable] = weakref.WeakKeyDictionary()


def job_table(session_service: object) -> JobTable | None:
    """The job table in a session store's database; None for a store without one (in memory)."""
    engine = getattr(session_service, "db_engine", None)
    if not isinstance(engine, AsyncEngine):
        return None
    if engine not in _tables:
        _tables[engine] = JobTable(engine)
    return _tables[engine]


class JobRegistry:
    """The process's running jobs, looked up by (user, session); the table has every replica's."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @asynccontextmanager
    async def running(
        self,
        *,
        table: JobTable | None,
        replica: str,
        user_id: str,
        session_id: str,
        tool: str,
        label: str,
        budget_seconds: float | None,
    ) -> AsyncIterator[Job]:
        """Register a job for the duration of the `async with` block (see the docstring)."""
        job = Job(user_id, session_id, tool, label, budget_seconds, replica)
        with self._lock:
            self._jobs[job.job_id] = job
        watching: asyncio.Task[None] | None = None
        try:
            if table is not None and await _shared(table, job):
                watching = asyncio.create_task(_watch(table, job))
            yield job
        finally:
            with self._lock:
                self._jobs.pop(job.job_id, None)
            if watching is not None:
                watching.cancel()
                await asyncio.shield(_forget(table, job.job_id))

    def for_session(self, user_id: str, session_id: str) -> list[Job]:
        """This process's jobs of the session."""
        with self._lock:
            return [
                job
                for job in self._jobs.values()
                if job.user_id == user_id and job.session_id == session_id
            ]

    def cancel(self, user_id: str, session_id: str, job_id: str) -> Job | None:
        """Ask one of this process's jobs of the session to stop; None when it runs elsewhere
        (or no longer)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.user_id != user_id or job.session_id != session_id:
            return None
        job.cancel.set()
        return job

    def cancel_all(self) -> int:
        """Ask every job of this process to stop (at shutdown); returns how many were running."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        return len(jobs)


async def _watch(table: JobTable, job: Job) -> None:
    """Renew the job's row and pass on a cancel asked for on any replica."""
    while not job.cancel.is_set():
        await asyncio.sleep(JOB_HEARTBEAT_SECONDS)
        try:
            if await table.heartbeat(job.job_id):
                log.info("jobs.cancel_requested", job_id=job.job_id)
                job.cancel.set()
        except SQLAlchemyError as error:  # the next beat retries; a long outage marks it stale
            log.warning("jobs.heartbeat_failed", error_type=type(error).__name__)


async def _shared(table: JobTable, job: Job) -> bool:
    """Add the job's row; False (the job stays visible on this replica only) if the store fails."""
    try:
        await table.add(job)
    except SQLAlchemyError as error:
        log.warning("jobs.share_failed", error_type=type(error).__name__)
        return False
    return True


async def _forget(table: JobTable | None, job_id: str) -> None:
    if table is None:
        return
    try:
        await table.remove(job_id)
    except SQLAlchemyError as error:  # the row goes stale and the next listing removes it
        log.warning("jobs.remove_failed", error_type=type(error).__name__)


jobs = JobRegistry()
