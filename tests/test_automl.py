"""AutoGluon through the `automl` tool: same split, honest budget, usable model."""

import importlib
import time

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.tools.automl import automl, search_models
from data_science.tools.base import workspace_for
from data_science.tools.train import predict
from tests.conftest import add_dataset

BUDGET = 20


async def test_automl_scores_on_the_held_out_split_within_its_budget(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    started = time.monotonic()
    result = await automl(
        dataset_id=dataset_id,
        target="species",
        time_budget_seconds=BUDGET,
        tool_context=tool_context,
    )
    elapsed = time.monotonic() - started
    assert result["status"] == "ok", result
    assert elapsed <= BUDGET * 1.1 + 1  # the promise: budget + 10 % (plus this test's own calls)
    assert (result["n_train"], result["n_test"]) == (275, 69)
    assert result["test_metrics"]["accuracy"] > 0.9
    assert result["leaderboard"] and result["feature_importance"]
    # A 20 s budget is too short for the default bagged preset; the report says what ran.
    assert result["preset"] == "medium_quality"
    assert "good_quality preset needs a budget of at least 55 s" in result["notes"][0]
    predicted = await predict(
        model_id=result["model_id"], dataset_id=dataset_id, tool_context=tool_context
    )
    assert predicted["status"] == "ok" and predicted["rows"] == 344


async def test_a_budget_too_small_to_finish_is_cut_off_cleanly(
    tool_context: ToolContext, penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    automl_module = importlib.import_module("data_science.tools.automl")
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    # A deadline of 0.5 s: no AutoGluon run can make it.
    monkeypatch.setattr(automl_module, "DEADLINE_MARGIN", 0.05)
    started = time.monotonic()
    result = await automl(
        dataset_id=dataset_id, target="species", time_budget_seconds=10, tool_context=tool_context
    )
    assert result["status"] == "error" and result["error"] == "budget_exceeded"
    assert time.monotonic() - started < 8
    assert workspace_for(tool_context).items("model") == []


@pytest.mark.parametrize(("budget", "code"), [(5, "bad_budget"), (100_000, "bad_budget")])
async def test_budgets_outside_the_limits_are_refused(
    tool_context: ToolContext, penguins: pd.DataFrame, budget: int, code: str
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await automl(
        dataset_id=dataset_id,
        target="species",
        time_budget_seconds=budget,
        tool_context=tool_context,
    )
    assert result["status"] == "error" and result["error"] == code


async def test_automl_can_be_switched_off(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "ENABLE_AUTOML", False)
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await automl(dataset_id=dataset_id, target="species", tool_context=tool_context)
    assert result["status"] == "error" and "ENABLE_AUTOML" in result["message"]


async def test_search_models_picks_a_family_and_scores_it_on_the_held_out_split(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    started = time.monotonic()
    result = await search_models(
        dataset_id=dataset_id, target="species", time_budget_seconds=10, tool_context=tool_context
    )
    assert result["status"] == "ok", result
    assert time.monotonic() - started <= 10 * 1.1 + 5
    assert result["n_test"] == 69 and result["test_metrics"]["accuracy"] > 0.9
    assert result["families_tried"] and result["best_config"] is not None
    predicted = await predict(
        model_id=result["model_id"], dataset_id=dataset_id, tool_context=tool_context
    )
    assert predicted["status"] == "ok"
