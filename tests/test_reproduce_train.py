"""The code of `train`, `predict` and `export_model`, run: the same split, pipeline and numbers.

Each case trains for real, writes the step as code, runs it in a fresh namespace and compares
every printed metric with the tool's at the printed precision (four decimals).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools import export_model, predict, train
from tests.reproduce_checks import HOSTILE, Replay, assert_printed, expected_metrics


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


def dated_sales(rows: int = 60) -> pd.DataFrame:
    """Daily rows with a trend, in shuffled order: `train` splits them by date."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2024-01-01", periods=rows, freq="D")
    frame = pd.DataFrame(
        {
            "day": days.strftime("%Y-%m-%d"),
            "price": rng.uniform(1, 10, rows).round(2),
            "region": rng.choice(["north", "south"], rows),
        }
    )
    frame["sales"] = 3 * frame["price"] + np.arange(rows) * 0.5 + rng.normal(0, 1, rows)
    return frame.sample(frac=1, random_state=1).reset_index(drop=True)


CASES = [
    pytest.param({"target": "species", "model": "decision_tree", "max_depth": 3}, id="tree-depth"),
    pytest.param(
        {"target": "sex", "model": "logistic", "class_weight": "balanced", "test_size": 0.3},
        id="logistic-binary-auc",
    ),
    pytest.param(
        {"target": "sex", "model": "auto", "seed": 7, "rows": 90}, id="auto-compares-three"
    ),
    pytest.param({"target": "body_mass_g", "model": "ridge"}, id="ridge-regression"),
    pytest.param({"target": "island", "model": "xgboost", "stratify": False}, id="xgboost-labels"),
    pytest.param({"target": "species", "model": "knn", "seed": 3}, id="knn-scaled"),
]


@pytest.mark.parametrize("options", CASES)
async def test_train_code_prints_the_tools_metrics(
    chat: Replay, penguins: pd.DataFrame, options: dict[str, Any]
) -> None:
    options = dict(options)
    rows = options.pop("rows", len(penguins))  # a small table keeps 'auto's comparison quick
    dataset_id = chat.upload(penguins.head(rows), "penguins.csv")
    result, code = await chat.step(train, dataset_id=dataset_id, **options)
    assert "import data_science" not in code and "from data_science" not in code

    namespace, output = chat.run()

    expected = {"n_train": str(result["n_train"]), "n_test": str(result["n_test"])}
    expected |= expected_metrics("test", result["test_metrics"])
    validation = result["cross_validation"]
    expected |= expected_metrics(
        f"cross-validation {validation['scoring']}",
        {"mean": validation["mean"], "std": validation["std"]},
    )
    if options["model"] == "auto":
        assert len(result["model_selection"]) == 3
        expected |= expected_metrics("auto candidate", result["model_selection"])
    assert_printed(output, expected)
    assert type(namespace["model"].named_steps["model"]).__name__ == result["model"]


async def test_a_time_indexed_table_is_split_by_date_in_the_code_too(chat: Replay) -> None:
    dataset_id = chat.upload(dated_sales(), "sales.csv")
    result, code = await chat.step(
        train, dataset_id=dataset_id, target="sales", model="random_forest", max_depth=4
    )
    assert "temporal on 'day'" in result["split"]
    assert "TimeSeriesSplit" in code and "train_test_split" not in code

    namespace, output = chat.run()

    validation = result["cross_validation"]
    assert_printed(
        output,
        expected_metrics("test", result["test_metrics"])
        | expected_metrics("cross-validation r2", {"mean": validation["mean"]}),
    )
    days = pd.to_datetime(namespace["rows"]["day"])
    assert days[namespace["X_test"].index].min() > days[namespace["X_train"].index].max()


async def test_predict_and_export_continue_from_the_trained_model(
    chat: Replay, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = chat.upload(penguins, "penguins.csv")
    new_rows = chat.upload(penguins.drop(columns="species").head(12), "new penguins.csv")
    trained, _ = await chat.step(train, dataset_id=dataset_id, target="species", model="logistic")
    predicted, _ = await chat.step(predict, model_id=trained["model_id"], dataset_id=new_rows)
    exported, export_cell = await chat.step(export_model, model_id=trained["model_id"])

    namespace, output = chat.run()

    made = namespace["df_3"]  # penguins, new penguins, then the predictions
    assert predicted["column"] == "predicted_species"
    assert made[predicted["column"]].head(5).tolist() == predicted["preview"]
    assert f"rows: {predicted['rows']}" in output
    assert repr(predicted["preview"]) in output
    assert exported["file"] in export_cell
    assert (tmp_path / exported["file"]).is_file()  # the tests' working folder


async def test_a_hostile_column_name_stays_a_string(
    chat: Replay, penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[str] = []
    monkeypatch.setattr(os, "system", commands.append)  # were the name code, it would call this
    frame = penguins.rename(columns={"bill_length_mm": HOSTILE})
    dataset_id = chat.upload(frame, "hostile.csv")
    result, code = await chat.step(train, dataset_id=dataset_id, target="species", model="logistic")
    assert repr(HOSTILE) in code

    _, output = chat.run()

    assert commands == []
    assert HOSTILE in result["features"]
    assert_printed(output, expected_metrics("test", result["test_metrics"]))
