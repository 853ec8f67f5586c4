"""The code shown for regression_report refits the same statsmodels model to the same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools.regression import regression_report
from tests.conftest import add_dataset
from tests.reproduce_checks import Replay


def report_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield from (result["n"], result["rows_dropped_missing"])
    for row in result["coefficients"]:
        yield from (row["coef"], row["std_err"], row.get("t", row.get("z")), row["p_value"])
        yield from row["ci_95"]
        if "odds_ratio" in row:
            yield row["odds_ratio"]
    fit = result["fit"]
    for key in (
        "r2",
        "adj_r2",
        "f_statistic",
        "f_p_value",
        "pseudo_r2",
        "ll_null",
        "llr",
        "llr_p_value",
        "log_likelihood",
        "aic",
        "bic",
    ):
        if key in fit:
            yield fit[key]
    if "held_out" in result:
        yield from result["held_out"]["test_metrics"].values()


CASES: list[tuple[str, dict[str, Any]]] = [
    ("ols", {"target": "body_mass_g", "features": ["flipper_length_mm", "Island", "sex"]}),
    ("ols every column", {"target": "bill_depth_mm"}),
    ("logit", {"target": "sex", "features": ["body_mass_g", "bill_depth_mm", "species"]}),
    (
        "ols held out",
        {
            "target": "body_mass_g",
            "features": ["flipper_length_mm", "species"],
            "held_out": True,
            "test_size": 0.3,
            "seed": 7,
        },
    ),
    (
        "logit held out",
        {
            "target": "sex",
            "features": ["body_mass_g", "bill_depth_mm"],
            "held_out": True,
            "stratify": False,
        },
    ),
]


@pytest.mark.parametrize("args", [case[1] for case in CASES], ids=[case[0] for case in CASES])
async def test_the_code_refits_the_regression_to_the_reported_numbers(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path, args: dict[str, Any]
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(regression_report, dataset_id=dataset_id, **args)
    replay.assert_shows(*report_numbers(result))


async def test_a_time_ordered_split_holds_out_the_latest_rows(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    frame = penguins.dropna().reset_index(drop=True)
    frame["measured"] = pd.date_range("2020-01-01", periods=len(frame), freq="D")[::-1]
    dataset_id = add_dataset(tool_context, frame, "dated.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(
        regression_report,
        dataset_id=dataset_id,
        target="body_mass_g",
        features=["flipper_length_mm"],
        held_out=True,
    )
    assert "temporal" in result["held_out"]["split"]
    replay.assert_shows(*report_numbers(result))
