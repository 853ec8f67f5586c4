"""The code of `cross_validate`, `tune_model` and `train_ensemble`, run: the same folds, search
and members, so the same numbers at the printed precision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools import cross_validate, train, train_ensemble, tune_model
from tests.conftest import Tool
from tests.reproduce_checks import Replay, assert_printed, expected_metrics
from tests.test_reproduce_train import dated_sales


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


@pytest.fixture
def small_penguins(penguins: pd.DataFrame) -> pd.DataFrame:
    """Every third penguin: all three species, quick to search."""
    return penguins.iloc[::3].reset_index(drop=True)


Check = Callable[[dict[str, Any], Replay], None]


def cross_validated(result: dict[str, Any], chat: Replay) -> None:
    """Every metric's mean and std over the same folds."""
    expected = {"n_train": str(result["n_train"])}
    for metric, scores in result["metrics"].items():
        expected |= expected_metrics(f"cv {metric}", {"mean": scores["mean"], "std": scores["std"]})
    assert_printed(chat.printed, expected)


def tuned(result: dict[str, Any], chat: Replay) -> None:
    """The same best settings, scores and model."""
    assert f"best_params: {result['best_params']}" in chat.printed
    validation = result["cross_validation"]
    assert_printed(
        chat.printed,
        {"candidates": str(result["search"]["candidates"])}
        | expected_metrics(
            "cross-validation", {"mean": validation["mean"], "std": validation["std"]}
        )
        | expected_metrics("test", result["test_metrics"]),
    )
    assert type(chat.namespace["model"].named_steps["model"]).__name__ == result["model"]


def ensembled(result: dict[str, Any], chat: Replay) -> None:
    """The ensemble's test metrics and each member's."""
    expected = expected_metrics("ensemble test", result["test_metrics"])
    for member, metrics in result["member_test_metrics"].items():
        expected |= expected_metrics(f"{member} test", metrics)
    assert_printed(chat.printed, expected)


CASES: list[tuple[str, Tool, str, dict[str, Any], Check]] = [
    (
        "cv classes",
        cross_validate,
        "penguins",
        {"target": "species", "model": "logistic", "folds": 4},
        cross_validated,
    ),
    (
        "cv binary-auc",
        cross_validate,
        "penguins",
        {"target": "sex", "model": "naive_bayes", "seed": 5},
        cross_validated,
    ),
    (
        "cv regression",
        cross_validate,
        "penguins",
        {"target": "flipper_length_mm", "model": "ridge"},
        cross_validated,
    ),
    (
        "tune grid",
        tune_model,
        "penguins",
        {"target": "species", "model": "naive_bayes", "search": "grid", "folds": 3},
        tuned,
    ),
    (
        "tune random-knn",
        tune_model,
        "penguins",
        {"target": "species", "model": "knn", "search": "random", "n_iter": 6, "seed": 11},
        tuned,
    ),
    (
        "tune regression",
        tune_model,
        "penguins",
        {"target": "body_mass_g", "model": "ridge", "folds": 3},
        tuned,
    ),
    (
        "ensemble soft-voting",
        train_ensemble,
        "penguins",
        {"target": "species", "models": ["logistic", "knn"], "method": "voting"},
        ensembled,
    ),
    (
        "ensemble hard-voting",
        train_ensemble,
        "penguins",
        {"target": "sex", "models": ["ridge", "decision_tree"], "method": "voting"},
        ensembled,
    ),
    (
        "ensemble stacking-classes",
        train_ensemble,
        "penguins",
        {"target": "species", "models": ["naive_bayes", "logistic"], "method": "stacking"},
        ensembled,
    ),
    (
        "ensemble stacking-in-time",
        train_ensemble,
        "sales",
        {"target": "sales", "models": ["ridge", "knn"], "method": "stacking"},
        ensembled,
    ),
]


@pytest.mark.parametrize(
    ("tool", "frame", "options", "check"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_the_code_repeats_the_folds_search_and_members(
    chat: Replay,
    small_penguins: pd.DataFrame,
    tool: Tool,
    frame: str,
    options: dict[str, Any],
    check: Check,
) -> None:
    table = small_penguins if frame == "penguins" else dated_sales()
    dataset_id = chat.upload(table, f"{frame}.csv")
    result = await chat.run_step(tool, dataset_id=dataset_id, **options)
    check(result, chat)


async def test_a_model_of_train_and_a_tuned_one_live_side_by_side(
    chat: Replay, small_penguins: pd.DataFrame
) -> None:
    dataset_id = chat.upload(small_penguins, "penguins.csv")
    await chat.step(train, dataset_id=dataset_id, target="species", model="logistic")
    tuning, code = await chat.step(
        tune_model, dataset_id=dataset_id, target="species", model="logistic", folds=3
    )
    assert "model_2 = search.best_estimator_" in code

    namespace, output = chat.run()

    assert namespace["model"] is not namespace["model_2"]
    assert_printed(output, expected_metrics("test", tuning["test_metrics"]))
