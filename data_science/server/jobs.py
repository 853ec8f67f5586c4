"""The session's long-running jobs: progress for the chat page, and a way to cancel them.

`GET  /api/users/{user_id}/sessions/{session_id}/jobs` lists what runs now (time spent against
the budget); `POST .../jobs/{job_id}/cancel` asks one to stop. The tool call that owns the job
then ends with a "cancelled" result, so the conversation shows what happened.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from data_science.runtime.jobs import jobs
from data_science.server.responses import error_response

router = APIRouter()


@router.get("/api/users/{user_id}/sessions/{session_id}/jobs")
async def list_jobs(user_id: str, session_id: str) -> JSONResponse:
    """The session's running jobs, oldest first."""
    running = sorted(jobs.for_session(user_id, session_id), key=lambda job: job.started)
    return JSONResponse({"jobs": [job.describe() for job in running]})


@router.post("/api/users/{user_id}/sessions/{session_id}/jobs/{job_id}/cancel")
async def cancel_job(user_id: str, session_id: str, job_id: str) -> JSONResponse:
    """Ask a running job to stop; 404 when it is not running in this session."""
    job = jobs.cancel(user_id, session_id, job_id)
    if job is None:
        return error_response(
            404,
            "unknown_job",
            "No running job with that id in this session; it may have finished already. "
            "GET the session's jobs to see what is running.",
        )
    return JSONResponse(job.describe(), status_code=202)
