"""AutoGluon on the shared 80/20 split (runs in its own process, under a hard deadline)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from data_science.ml.supervised import held_out_metrics, held_out_split
from data_science.storage.tables import TableFile

LEADERBOARD_ROWS = 10
IMPORTANCE_ROWS = 15
# Share of the budget given to AutoGluon's own fit; the rest covers starting the process,
# scoring on the test split and feature importance. Its own limit is known to overrun, hence
# the hard kill; importance is skipped when too little time is left.
FIT_SHARE = 0.55
IMPORTANCE_SHARE = 0.1
FINISH_BY_SHARE = 0.85
MIN_IMPORTANCE_SECONDS = 2.0
# Bagged presets fit every model k times; with less fitting time than this they may fit
# nothing at all, so short budgets fall back to the un-bagged preset.
BAGGED_PRESETS = {"good_quality", "high_quality", "best_quality"}
MIN_BAGGED_FIT_SECONDS = 30.0
FALLBACK_PRESET = "medium_quality"


def run_autogluon(
    table: TableFile, target: str, out_dir: Path, budget_seconds: float, preset: str
) -> dict[str, Any]:
    """Fit a TabularPredictor on the 80 %, score it on the 20 %; the predictor stays in out_dir."""
    from autogluon.tabular import TabularPredictor

    started = time.monotonic()
    logging.getLogger("autogluon").setLevel(logging.ERROR)
    split = held_out_split(table.load(), target)
    train = split.x_train.assign(**{target: split.y_train})
    problem_type = "regression"
    if split.task == "classification":
        problem_type = "binary" if split.y_train.nunique() == 2 else "multiclass"
    predictor = TabularPredictor(
        label=target, path=str(out_dir), problem_type=problem_type, verbosity=0
    )
    fit_seconds = budget_seconds * FIT_SHARE
    notes = []
    if preset in BAGGED_PRESETS and fit_seconds < MIN_BAGGED_FIT_SECONDS:
        notes.append(
            f"The {preset} preset needs a budget of at least "
            f"{MIN_BAGGED_FIT_SECONDS / FIT_SHARE:.0f} s; {FALLBACK_PRESET} was used instead."
        )
        preset = FALLBACK_PRESET
    predictor.fit(train, time_limit=fit_seconds, presets=preset)
    predicted = predictor.predict(split.x_test)
    scores = None
    if problem_type == "binary":
        probabilities = predictor.predict_proba(split.x_test)
        positive = probabilities.columns[-1]
        scores = (probabilities[positive].to_numpy(), positive)
    test = split.x_test.assign(**{target: split.y_test})
    leaderboard = predictor.leaderboard(test, silent=True).head(LEADERBOARD_ROWS)
    left = budget_seconds * FINISH_BY_SHARE - (time.monotonic() - started)
    importance = None
    if left > MIN_IMPORTANCE_SECONDS:
        importance = predictor.feature_importance(
            test,
            subsample_size=min(500, len(test)),
            time_limit=min(left, budget_seconds * IMPORTANCE_SHARE),
            silent=True,
        )
    return {
        "task": split.task,
        "target": target,
        "model": f"AutoGluon ({predictor.model_best})",
        "model_family": "autogluon",
        "framework": "autogluon",
        "preset": preset,
        "n_train": len(split.x_train),
        "n_test": len(split.x_test),
        "split": split.description,
        "test_metrics": held_out_metrics(
            split.y_test, pd.Series(predicted).to_numpy(), split.task, scores
        ),
        "leaderboard": [
            {"model": row["model"], "test_score": row["score_test"], "fit_seconds": row["fit_time"]}
            for _, row in leaderboard.iterrows()
        ],
        "feature_importance": {
            str(feature): float(value)
            for feature, value in importance["importance"].head(IMPORTANCE_ROWS).items()
        }
        if importance is not None
        else "skipped: too little of the time budget was left",
        "features": split.plan.features,
        "dropped_columns": split.plan.dropped,
        "classes": sorted(str(label) for label in split.y_train.unique())
        if split.task == "classification"
        else None,
        "notes": notes,
    }
