"""The code of `cross_validate`, `tune_model` and `train_ensemble`, run: the same folds, search
and members, so the same numbers at the printed precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools import cross_validate, train, train_ensemble, tune_model
from tests.reproduce_model_checks import Chat, assert_printed, expected_metrics
from tests.test_reproduce_train import dated_sales


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Chat:
    return Chat(tool_context, tmp_path / "notebook" / "data")


@pytest.fixture
def small_penguins(penguins: pd.DataFrame) -> pd.DataFrame:
    """Every third penguin: all three species, quick to search."""
    return penguins.iloc[::3].reset_index(drop=True)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"target": "species", "model": "logistic", "folds": 4}, id="classes"),
        pytest.param({"target": "sex", "model": "naive_bayes", "seed": 5}, id="binary-auc"),
        pytest.param({"target": "flipper_length_mm", "model": "ridge"}, id="regression"),
    ],
)
async def test_cross_validate_code_prints_every_metrics_mean_and_std(
    chat: Chat, small_penguins: pd.DataFrame, options: dict[str, Any]
) -> None:
    dataset_id = chat.upload(small_penguins, "penguins.csv")
    result, _ = await chat.step(cross_validate, dataset_id=dataset_id, **options)

    _, output = chat.run()

    expected = {"n_train": str(result["n_train"])}
    for metric, scores in result["metrics"].items():
        expected |= expected_metrics(f"cv {metric}", {"mean": scores["mean"], "std": scores["std"]})
    assert_printed(output, expected)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"model": "decision_tree", "search": "grid", "folds": 3}, id="grid"),
        pytest.param(
            {"model": "knn", "search": "random", "n_iter": 6, "seed": 11}, id="random-knn"
        ),
        pytest.param({"model": "ridge", "target": "body_mass_g", "folds": 3}, id="regression"),
    ],
)
async def test_tune_model_code_finds_the_same_best_settings_and_scores(
    chat: Chat, small_penguins: pd.DataFrame, options: dict[str, Any]
) -> None:
    dataset_id = chat.upload(small_penguins, "penguins.csv")
    arguments = {"target": "species", **options}
    result, _ = await chat.step(tune_model, dataset_id=dataset_id, **arguments)

    namespace, output = chat.run()

    assert f"best_params: {result['best_params']}" in output
    validation = result["cross_validation"]
    assert_printed(
        output,
        {"candidates": str(result["search"]["candidates"])}
        | expected_metrics(
            "cross-validation", {"mean": validation["mean"], "std": validation["std"]}
        )
        | expected_metrics("test", result["test_metrics"]),
    )
    assert type(namespace["model"].named_steps["model"]).__name__ == result["model"]


@pytest.mark.parametrize(
    ("options", "frame"),
    [
        pytest.param(
            {"target": "species", "models": ["logistic", "knn"], "method": "voting"},
            "penguins",
            id="soft-voting",
        ),
        pytest.param(
            {"target": "sex", "models": ["ridge", "decision_tree"], "method": "voting"},
            "penguins",
            id="hard-voting",
        ),
        pytest.param(
            {"target": "species", "models": ["naive_bayes", "logistic"], "method": "stacking"},
            "penguins",
            id="stacking-classes",
        ),
        pytest.param(
            {"target": "sales", "models": ["ridge", "knn"], "method": "stacking"},
            "sales",
            id="stacking-in-time",
        ),
    ],
)
async def test_train_ensemble_code_prints_the_ensemble_and_each_member(
    chat: Chat, small_penguins: pd.DataFrame, options: dict[str, Any], frame: str
) -> None:
    table = small_penguins if frame == "penguins" else dated_sales()
    dataset_id = chat.upload(table, f"{frame}.csv")
    result, _ = await chat.step(train_ensemble, dataset_id=dataset_id, **options)

    _, output = chat.run()

    expected = expected_metrics("ensemble test", result["test_metrics"])
    for member, metrics in result["member_test_metrics"].items():
        expected |= expected_metrics(f"{member} test", metrics)
    assert_printed(output, expected)


async def test_a_model_of_train_and_a_tuned_one_live_side_by_side(
    chat: Chat, small_penguins: pd.DataFrame
) -> None:
    dataset_id = chat.upload(small_penguins, "penguins.csv")
    await chat.step(train, dataset_id=dataset_id, target="species", model="logistic")
    tuned, code = await chat.step(
        tune_model, dataset_id=dataset_id, target="species", model="logistic", folds=3
    )
    assert "model_2 = search.best_estimator_" in code

    namespace, output = chat.run()

    assert namespace["model"] is not namespace["model_2"]
    assert_printed(output, expected_metrics("test", tuned["test_metrics"]))
