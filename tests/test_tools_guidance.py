"""Help tools and the one-shot pass."""

import numpy as np
import pandas as pd
from google.adk.tools.tool_context import ToolContext

from data_science.ml.supervised import fit_and_evaluate
from data_science.tools import ALL_TOOLS
from data_science.tools.guidance import (
    analyze_and_model,
    describe_capabilities,
    describe_model_families,
    suggest_next_steps,
)
from data_science.tools.train import predict
from tests.conftest import add_dataset, call


async def test_capabilities_list_every_tool(tool_context: ToolContext) -> None:
    result = await call(describe_capabilities, tool_context)
    assert {tool["name"] for tool in result["tools"]} == {f.__name__ for f in ALL_TOOLS}
    assert all(tool["does"] for tool in result["tools"])


async def test_model_families_say_which_tasks_they_serve(tool_context: ToolContext) -> None:
    result = await call(describe_model_families, tool_context)
    families = {family["name"]: family["tasks"] for family in result["families"]}
    assert families["naive_bayes"] == ["classification"] and "regression" in families["lightgbm"]
    assert families["linear"] == ["regression"]  # the linear classifier is "logistic"
    assert families["decision_tree"] == ["classification", "regression"]
    options = {f["name"]: (f["max_depth"], f["class_weight"]) for f in result["families"]}
    assert options["decision_tree"] == options["lightgbm"] == (True, True)
    assert options["xgboost"] == (True, False) and options["logistic"] == (False, True)
    assert options["knn"] == options["linear"] == (False, False)


async def test_next_steps_follow_the_data(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    frame = penguins.assign(observed=pd.date_range("2020-01-01", periods=len(penguins)).astype(str))
    dataset_id = add_dataset(tool_context, frame, "p.csv")
    result = await call(suggest_next_steps, tool_context, dataset_id=dataset_id)
    tools = {step["tool"] for step in result["suggestions"]}
    assert {"impute_missing", "correlations", "expand_dates", "train", "cluster"} <= tools
    assert result["likely_target"] == "species"
    imputing = next(s for s in result["suggestions"] if s["tool"] == "impute_missing")
    assert set(imputing["columns"]) == {c for c in penguins.columns if penguins[c].isna().any()}


async def test_one_shot_reports_a_baseline_and_a_stronger_model(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "p.csv")
    result = await call(analyze_and_model, tool_context, dataset_id=dataset_id, target="species")
    assert result["profile"]["missing"]["sex"] == 11
    expected = fit_and_evaluate(penguins, "species", "logistic")[1]["test_metrics"]["accuracy"]
    assert np.isclose(result["baseline"]["test_metrics"]["accuracy"], expected)
    assert result["strong_model"]["n_test"] == 69
    assert result["improvement"]["metric"] == "accuracy" and result["next_steps"]
    await call(predict, tool_context, model_id=result["model_id"], dataset_id=dataset_id)
