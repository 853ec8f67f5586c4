"""Long jobs: the jobs route shows progress against the budget, and cancel stops the work."""

import asyncio
import time

import httpx
import pandas as pd
from google.adk.tools.tool_context import ToolContext

from data_science.runtime import workers
from data_science.tools.automl import automl, search_models
from data_science.tools.base import workspace_for
from data_science.tools.tuning import tune_model
from tests.conftest import add_dataset, call_error

BUDGET = 120


def jobs_url(tool_context: ToolContext) -> str:
    """The jobs route of the tool context's own chat."""
    return f"/api/users/{tool_context.user_id}/sessions/{tool_context.session.id}/jobs"


async def wait_for_job(client: httpx.AsyncClient, url: str) -> dict[str, object]:
    for _ in range(100):
        listed = (await client.get(url)).json()["jobs"]
        if listed:
            return dict(listed[0])
        await asyncio.sleep(0.1)
    raise AssertionError("the long job never appeared in the jobs route")


async def test_a_running_automl_shows_progress_and_stops_when_cancelled(
    client: httpx.AsyncClient, tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    running = asyncio.ensure_future(
        call_error(
            automl,
            tool_context,
            "cancelled",
            dataset_id=dataset_id,
            target="species",
            time_budget_seconds=BUDGET,
        )
    )
    own_url = jobs_url(tool_context)
    job = await wait_for_job(client, own_url)
    assert job["tool"] == "automl" and job["state"] == "running"
    assert job["budget_seconds"] == BUDGET
    assert 0 <= float(str(job["progress"])) < 1

    cancelled_at = time.monotonic()
    answer = await client.post(f"{own_url}/{job['job_id']}/cancel")
    assert answer.status_code == 202 and answer.json()["state"] == "cancelling"
    await running

    assert time.monotonic() - cancelled_at < 10  # stopped, not left to run out its budget
    assert not workers._job_processes  # the job's process is gone
    assert (await client.get(own_url)).json() == {"jobs": []}
    models = [record for record in workspace_for(tool_context).items() if record.kind == "model"]
    assert models == []  # nothing half-made is kept


async def test_a_job_cannot_be_cancelled_from_another_session(
    client: httpx.AsyncClient, tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    running = asyncio.ensure_future(
        call_error(
            search_models,
            tool_context,
            "cancelled",
            dataset_id=dataset_id,
            target="species",
            time_budget_seconds=60,
        )
    )
    own_url = jobs_url(tool_context)
    job = await wait_for_job(client, own_url)

    other_session = f"/api/users/{tool_context.user_id}/sessions/another-session/jobs"
    other_user = f"/api/users/mallory/sessions/{tool_context.session.id}/jobs"
    assert (await client.get(other_session)).json() == {"jobs": []}
    assert (await client.get(other_user)).json() == {"jobs": []}
    refused = await client.post(f"{other_user}/{job['job_id']}/cancel")
    assert refused.status_code == 404 and "No running job" in refused.json()["message"]

    await client.post(f"{own_url}/{job['job_id']}/cancel")
    await running


async def test_cancelling_an_unknown_job_says_what_to_do(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/users/alice/sessions/s1/jobs/nope/cancel")
    assert answer.status_code == 404
    assert answer.json()["error"] == "unknown_job"


async def test_a_tuning_search_can_be_followed_and_cancelled_without_a_budget(
    client: httpx.AsyncClient, tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    running = asyncio.ensure_future(
        call_error(
            tune_model,
            tool_context,
            "cancelled",
            dataset_id=dataset_id,
            target="species",
            model="hist_gradient_boosting",
        )
    )
    own_url = jobs_url(tool_context)
    job = await wait_for_job(client, own_url)
    assert job["tool"] == "tune_model"
    assert job["budget_seconds"] is None and job["progress"] is None  # no budget to measure
    await client.post(f"{own_url}/{job['job_id']}/cancel")
    await running
    assert not workers._job_processes
