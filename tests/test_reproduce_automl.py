"""The code of `search_models` (FLAML) and `automl` (AutoGluon), run.

Both search under a time budget, so their chosen models and metrics need not repeat across
runs; what is deterministic is checked exactly (the split's sizes, the settings written into
the cell) and the rest by running the cell and reading the metrics it prints: the same names
the tool reported, each a number in its range.

The searches run in this process through the tools' own computations (`ml.search.run_flaml`,
`ml.automl.run_autogluon`) with small budgets: the tools add a worker process whose start-up,
on a machine shared with other test runs, can take longer than a small budget allows (their
deadlines are tested in tests/test_automl.py). The report is the tool's but for the ids.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.jsonsafe import to_jsonable
from data_science.ml.automl import run_autogluon
from data_science.ml.search import run_flaml
from data_science.ml.split import SplitOptions
from data_science.tools.base import workspace_for
from tests.reproduce_checks import Replay, printed_lines


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


def assert_same_split_and_metric_names(result: dict[str, Any], output: str) -> None:
    printed = printed_lines(output)
    assert (printed["n_train"], printed["n_test"]) == (
        str(result["n_train"]),
        str(result["n_test"]),
    )
    shown = {label.removeprefix("test "): value for label, value in printed.items()}
    assert set(result["test_metrics"]) <= set(shown), output
    for name in set(result["test_metrics"]) - {"rmse", "mae"}:
        assert -1 <= float(shown[name]) <= 1


async def test_search_models_code_runs_flaml_on_the_same_split(
    chat: Replay, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = chat.upload(penguins.iloc[::2], "penguins.csv")
    table = workspace_for(chat.tool_context).table_file(dataset_id)
    args = {"dataset_id": dataset_id, "target": "sex", "time_budget_seconds": 5, "seed": 9}
    report = run_flaml(table, "sex", tmp_path / "flaml.joblib", 5.0, SplitOptions(seed=9))
    result = {"model_id": "model_flaml", **to_jsonable(report)}
    code = chat.record("search_models", args, result)
    assert "time_budget=4.0" in code and "seed=9" in code and "need not repeat" in code

    namespace, output = chat.run()

    assert_same_split_and_metric_names(result, output)
    assert "roc_auc" in result["test_metrics"]
    assert namespace["model"].best_estimator in {"lgbm", "rf", "extra_tree", "lrl1", "kneighbor"}


async def test_automl_code_runs_autogluon_with_the_same_preset(
    chat: Replay, penguins: pd.DataFrame, tmp_path: Path, settings: Settings
) -> None:
    dataset_id = chat.upload(penguins.iloc[::2], "penguins.csv")
    table = workspace_for(chat.tool_context).table_file(dataset_id)
    budget = 10
    report = run_autogluon(
        table,
        "body_mass_g",
        tmp_path / "autogluon",
        float(budget),
        settings.AUTOML_PRESET,
        time.monotonic() + budget,
    )
    result = {"model_id": "model_ag", "budget_seconds": budget, **to_jsonable(report)}
    args = {"dataset_id": dataset_id, "target": "body_mass_g", "time_budget_seconds": budget}
    code = chat.record("automl", args, result)
    assert f"presets={result['preset']!r}" in code and "need not repeat" in code
    chat.record(
        "predict",
        {"model_id": "model_ag", "dataset_id": dataset_id},
        {"dataset_id": "ds_predicted", "column": "predicted_body_mass_g", "rows": 172},
    )

    namespace, output = chat.run()

    assert_same_split_and_metric_names(result, output)
    assert namespace["df_2"]["predicted_body_mass_g"].notna().all()
    assert "rows: 172" in output
