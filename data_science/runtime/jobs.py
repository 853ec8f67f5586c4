"""Long-running tool jobs (AutoML, model search, forecasting): progress and cancellation.

A tool wraps its long work in `running_job(...)`; while it runs, the chat page polls
`GET .../jobs` for the time spent against the budget and may ask to cancel it. Cancelling sets
the job's event, which `workers.run_with_deadline` watches, so the job's process is stopped and
the tool answers "cancelled". Jobs are kept in memory: they live exactly as long as the call.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The bar stops short of full until the answer arrives: a budget is a limit, not a promise.
MAX_REPORTED_PROGRESS = 0.99


@dataclass
class Job:
    """One long-running call of a tool in one user's session."""

    user_id: str
    session_id: str
    tool: str
    label: str
    budget_seconds: float | None
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict[str, Any]:
        """The job as the jobs route shows it (no user id: the route is already per user)."""
        elapsed = time.monotonic() - self.started
        progress = (
            min(elapsed / self.budget_seconds, MAX_REPORTED_PROGRESS)
            if self.budget_seconds
            else None
        )
        return {
            "job_id": self.job_id,
            "tool": self.tool,
            "label": self.label,
            "state": "cancelling" if self.cancel.is_set() else "running",
            "started_at": self.started_at.isoformat(),
            "elapsed_seconds": round(elapsed, 1),
            "budget_seconds": self.budget_seconds,
            "progress": None if progress is None else round(progress, 3),
        }


class JobRegistry:
    """The process's running jobs, looked up by (user, session)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @contextmanager
    def running(
        self,
        *,
        user_id: str,
        session_id: str,
        tool: str,
        label: str,
        budget_seconds: float | None,
    ) -> Iterator[Job]:
        """Register a job for the duration of the `with` block."""
        job = Job(user_id, session_id, tool, label, budget_seconds)
        with self._lock:
            self._jobs[job.job_id] = job
        try:
            yield job
        finally:
            with self._lock:
                self._jobs.pop(job.job_id, None)

    def for_session(self, user_id: str, session_id: str) -> list[Job]:
        with self._lock:
            return [
                job
                for job in self._jobs.values()
                if job.user_id == user_id and job.session_id == session_id
            ]

    def cancel(self, user_id: str, session_id: str, job_id: str) -> Job | None:
        """Ask one of this session's jobs to stop; None when it is not (or no longer) running."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.user_id != user_id or job.session_id != session_id:
            return None
        job.cancel.set()
        return job

    def cancel_all(self) -> int:
        """Ask every job to stop (at shutdown); returns how many were running."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        return len(jobs)


jobs = JobRegistry()
