"""The code shown for select_features and the help tools: feature rankings rerun to the same
scores; help tools are comments; suggestions and analyze_and_model show the profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools.features import select_features
from data_science.tools.guidance import (
    analyze_and_model,
    describe_capabilities,
    describe_model_families,
    suggest_next_steps,
)
from tests.conftest import Tool, add_dataset
from tests.reproduce_checks import Replay

SELECTIONS: list[tuple[str, dict[str, Any]]] = [
    ("univariate classes", {"target": "species", "k": 3}),
    ("univariate numbers", {"target": "body_mass_g", "k": 4}),
    ("mutual information", {"target": "species", "method": "mutual_info", "k": 3}),
    ("forest importance", {"target": "body_mass_g", "method": "model_importance", "k": 3}),
    ("rfe linear", {"target": "sex", "method": "rfe", "k": 3}),
    ("rfe tree", {"target": "body_mass_g", "method": "rfe", "estimator": "tree", "k": 2}),
    ("rfecv", {"target": "island", "method": "rfecv"}),
    ("sequential", {"target": "flipper_length_mm", "method": "sequential", "k": 2}),
]


@pytest.mark.parametrize("args", [c[1] for c in SELECTIONS], ids=[c[0] for c in SELECTIONS])
async def test_a_feature_ranking_reruns_to_the_same_scores(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path, args: dict[str, Any]
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(select_features, dataset_id=dataset_id, **args)
    numbers = [
        entry[key]
        for entry in result["ranking"]
        for key in ("score", "p_value", "rank")
        if entry.get(key) is not None
    ]
    if "best_cv_score" in result:
        numbers += [result["best_cv_score"], result["k"]]
    assert numbers
    replay.assert_shows(*numbers)
    for entry in result["ranking"]:  # every selected feature is named in the output
        assert not entry["selected"] or entry["feature"] in replay.printed


@pytest.mark.parametrize("tool", [describe_capabilities, describe_model_families])
async def test_a_help_tool_is_a_comment(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path, tool: Tool
) -> None:
    add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    await replay.run_step(tool)
    assert all(line.startswith("#") for line in replay.code.strip().splitlines())


async def test_suggestions_show_the_profile_they_rest_on(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(suggest_next_steps, dataset_id=dataset_id)
    missing = penguins.isna().sum()
    replay.assert_shows(result["rows"], result["columns"], *missing[missing > 0].tolist())
    for suggestion in result["suggestions"]:
        assert f"# - {suggestion['tool']}" in replay.code


async def test_analyze_and_model_shows_its_profile(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(analyze_and_model, dataset_id=dataset_id, target="species")
    profile = result["profile"]
    replay.assert_shows(
        profile["rows"], profile["columns"], profile["duplicate_rows"], *profile["missing"].values()
    )
    for model in (result["baseline"]["model"], result["strong_model"]["model"]):
        assert f"model={model!r}" in replay.code
