"""The session's long-running jobs: progress for the chat page, and a way to cancel them.

`GET  /api/users/{user_id}/sessions/{session_id}/jobs` lists what runs now (time spent against
the budget), on whichever replica it runs; `POST .../jobs/{job_id}/cancel` asks one to stop:
at once when it runs in this process, else through its row in the session store, which the
replica running it reads within a heartbeat (runtime/jobs.py). The tool call that owns the job
then ends with a "cancelled" result, so the conversation shows what happened.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from data_science.runtime.jobs import job_table, jobs
from data_science.server.responses import error_response

router = APIRouter()


@router.get("/api/users/{user_id}/sessions/{session_id}/jobs")
async def list_jobs(request: Request, user_id: str, session_id: str) -> JSONResponse:
    """The session's running jobs, on every replica, oldest first."""
    listed: dict[str, dict[str, Any]] = {}
    table = job_table(request.app.state.session_service)
    if table is not None:
        listed.update((job["job_id"], job) for job in await table.for_chat(user_id, session_id))
    # This process's own jobs are described from memory: a cancel shows at once.
    listed.update((job.job_id, job.describe()) for job in jobs.for_session(user_id, session_id))
    running = sorted(listed.values(), key=lambda job: str(job["started_at"]))
    return JSONResponse({"jobs": running})


@router.post("/api/users/{user_id}/sessions/{session_id}/jobs/{job_id}/cancel")
async def cancel_job(request: Request, user_id: str, session_id: str, job_id: str) -> JSONResponse:
    """Ask a running job to stop; 404 when it is not running in this session."""
    table = job_table(request.app.state.session_service)
    asked = [] if table is None else await table.request_cancel(user_id, session_id, job_id)
    job = jobs.cancel(user_id, session_id, job_id)
    if job is not None:
        return JSONResponse(job.describe(), status_code=202)
    if asked:
        return JSONResponse(asked[0], status_code=202)
    return error_response(
        404,
        "unknown_job",
        "No running job with that id in this session; it may have finished already. "
        "GET the session's jobs to see what is running.",
    )
