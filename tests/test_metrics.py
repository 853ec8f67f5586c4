"""Metrics of tools, AutoML runs and agent turns (the /metrics route: test_operations_e2e)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pandas as pd
import pytest
from google.adk.agents import LlmAgent
from google.adk.apps import App
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.adk.tools.tool_context import ToolContext
from google.genai import types
from prometheus_client import REGISTRY

from data_science.config import Settings
from data_science.plugins.observability import ObservabilityPlugin
from data_science.runtime.workers import DeadlineExceeded, JobCancelled
from data_science.tools import search_models, value_counts
from data_science.tools.automl import automl_run
from tests.conftest import add_dataset


def sample(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 when never recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_tool_calls_are_counted_by_outcome_ok_or_the_error_code(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins")
    ok = sample("dsagent_tool_calls_total", tool="value_counts", outcome="ok")
    wrong = sample("dsagent_tool_calls_total", tool="value_counts", outcome="unknown_column")
    timed = sample("dsagent_tool_duration_seconds_count", tool="value_counts")
    assert (await value_counts(dataset_id, "species", tool_context))["status"] == "ok"
    assert (await value_counts(dataset_id, "nope", tool_context))["error"] == "unknown_column"
    assert sample("dsagent_tool_calls_total", tool="value_counts", outcome="ok") == ok + 1
    assert (
        sample("dsagent_tool_calls_total", tool="value_counts", outcome="unknown_column")
        == wrong + 1
    )
    assert sample("dsagent_tool_duration_seconds_count", tool="value_counts") == timed + 2


# AutoML ------------------------------------------------------------------------------------


async def test_a_model_search_is_timed_under_the_flaml_engine(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins.dropna(), "penguins")
    before = sample("dsagent_automl_duration_seconds_count", engine="flaml", outcome="ok")
    result = await search_models(dataset_id, "species", tool_context, time_budget_seconds=5)
    assert result["status"] == "ok", result
    assert (
        sample("dsagent_automl_duration_seconds_count", engine="flaml", outcome="ok") == before + 1
    )
    assert sample("dsagent_automl_duration_seconds_sum", engine="flaml", outcome="ok") > 0


@pytest.mark.parametrize(
    ("error", "outcome"),
    [(DeadlineExceeded("late"), "budget_exceeded"), (JobCancelled("stop"), "cancelled"),
     (RuntimeError("bug"), "error")],
)  # fmt: skip
def test_an_automl_run_that_fails_is_counted_with_its_outcome(
    error: Exception, outcome: str
) -> None:
    before = sample("dsagent_automl_duration_seconds_count", engine="autogluon", outcome=outcome)
    with pytest.raises(type(error)), automl_run("autogluon"):
        raise error
    after = sample("dsagent_automl_duration_seconds_count", engine="autogluon", outcome=outcome)
    assert after == before + 1


# Active sessions ---------------------------------------------------------------------------


class GatedModel(BaseLlm):
    """A scripted model: each call waits for its session's gate, then answers or fails."""

    model: str = "gated"
    gates: dict[str, asyncio.Event]
    entered: asyncio.Queue[str]
    failing: set[str]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        text = "".join(
            part.text or "" for content in llm_request.contents for part in content.parts or []
        )
        session = text.split()[-1]
        await self.entered.put(session)
        await self.gates[session].wait()
        if session in self.failing:
            raise RuntimeError(f"the model failed for {session}")
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="done")]))


async def test_active_sessions_counts_sessions_with_a_running_turn_whatever_the_ending(
    settings: Settings,
) -> None:
    gauge = "dsagent_active_sessions"
    gates = {name: asyncio.Event() for name in ("fine", "broken", "abandoned")}
    model = GatedModel(gates=gates, entered=asyncio.Queue(), failing={"broken"})
    app = App(
        name="gauge_test",
        root_agent=LlmAgent(name="gauge", model=model, instruction="answer"),
        plugins=[ObservabilityPlugin(settings)],
    )
    sessions = InMemorySessionService()
    runner = Runner(app=app, session_service=sessions)
    ok_turns = sample(
        "dsagent_operation_duration_seconds_count", operation="agent.turn", outcome="ok"
    )
    failed_turns = sample(
        "dsagent_operation_duration_seconds_count", operation="agent.turn", outcome="error"
    )
    assert sample(gauge) == 0

    async def turn(session_id: str, word: str) -> None:
        message = types.Content(role="user", parts=[types.Part(text=f"please {word}")])
        async for _ in runner.run_async(user_id="u", session_id=session_id, new_message=message):
            pass

    ids = {}
    for word in gates:
        ids[word] = (await sessions.create_session(app_name="gauge_test", user_id="u")).id
    # Two turns in the "fine" session count as one session.
    tasks = {
        "fine": asyncio.create_task(turn(ids["fine"], "fine")),
        "fine again": asyncio.create_task(turn(ids["fine"], "fine")),
        "broken": asyncio.create_task(turn(ids["broken"], "broken")),
        "abandoned": asyncio.create_task(turn(ids["abandoned"], "abandoned")),
    }
    for _ in tasks:
        await asyncio.wait_for(model.entered.get(), timeout=10)
    assert sample(gauge) == 3

    gates["fine"].set()
    await asyncio.gather(tasks["fine"], tasks["fine again"])
    assert sample(gauge) == 2
    gates["broken"].set()
    with pytest.raises(RuntimeError, match="the model failed"):
        await tasks["broken"]
    assert sample(gauge) == 1
    tasks["abandoned"].cancel()  # a client that went away: no after_run, no on_run_error
    with pytest.raises(asyncio.CancelledError):
        await tasks["abandoned"]
    assert sample(gauge) == 0
    assert (
        sample("dsagent_operation_duration_seconds_count", operation="agent.turn", outcome="ok")
        == ok_turns + 2
    )
    assert (
        sample("dsagent_operation_duration_seconds_count", operation="agent.turn", outcome="error")
        == failed_turns + 1
    )
    await runner.close()
