"""AutoGluon on the shared held-out split (runs in its own process, under a hard deadline).

The answer is due at `answer_by`, a time.time() instant set by the caller when the job
started (wall-clock time: the job may run on another machine of a Ray cluster, whose monotonic
clock is its own), so the seconds spent starting this
process and importing AutoGluon count against the budget too. The last part of the budget is
kept for scoring the winner; AutoGluon gets FIT_SHARE of the time before that as its own limit,
since its limit is known to overrun on a busy machine, and `automl_stop.wrap_up_at` ends the
fit when that time is up, with the models trained so far. The caller kills the process 10 %
after `answer_by` whatever happens.
"""

from __future__ import annotations

import logging
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pandas as pd

from data_science.ml.split import HeldOutSplit, SplitOptions, held_out_split
from data_science.ml.supervised import held_out_metrics
from data_science.runtime.workers import DeadlineExceeded
from data_science.storage.tables import TableFile

LEADERBOARD_ROWS = 10
IMPORTANCE_ROWS = 15
SCORING_SHARE = 0.15
MIN_SCORING_SECONDS = 2.0
FIT_SHARE = 0.8
MIN_FIT_SECONDS = 2.0
IMPORTANCE_SHARE = 0.1
MIN_IMPORTANCE_SECONDS = 2.0
# Bagged presets fit every model k times; with a shorter budget they may fit nothing at all,
# so short budgets fall back to the un-bagged preset.
BAGGED_PRESETS = {"good_quality", "high_quality", "best_quality"}
MIN_BAGGED_BUDGET_SECONDS = 55.0
FALLBACK_PRESET = "medium_quality"
# AutoGluon's neural networks need torch, which is not installed here; left in the plan, they
# fail only after seconds of import attempts (many seconds on a busy machine).
TORCH_MODELS = ["FASTAI", "NN_TORCH"]


def run_autogluon(
    table: TableFile,
    target: str,
    out_dir: Path,
    budget_seconds: float,
    preset: str,
    answer_by: float,
    options: SplitOptions | None = None,
) -> dict[str, Any]:
    """Fit a TabularPredictor on the training part, score it on the test part (`options`: the
    split); the predictor stays in out_dir.

    Short of time, the best model trained so far is scored and kept (`cut_short`); only when
    not one model could be trained in time does it raise DeadlineExceeded.
    """
    from autogluon.tabular import TabularPredictor

    logging.getLogger("autogluon").setLevel(logging.ERROR)
    split = held_out_split(table.load(), target, options)
    problem_type = "regression"
    if split.task == "classification":
        problem_type = "binary" if split.y_train.nunique() == 2 else "multiclass"
    predictor = TabularPredictor(
        label=target, path=str(out_dir), problem_type=problem_type, verbosity=0
    )
    notes = []
    if preset in BAGGED_PRESETS and budget_seconds < MIN_BAGGED_BUDGET_SECONDS:
        notes.append(
            f"The {preset} preset needs a budget of at least {MIN_BAGGED_BUDGET_SECONDS:.0f} s; "
            f"{FALLBACK_PRESET} was used instead."
        )
        preset = FALLBACK_PRESET
    stop_at = answer_by - max(MIN_SCORING_SECONDS, budget_seconds * SCORING_SHARE)
    train = split.x_train.assign(**{target: split.y_train})
    cut_short = _fit_until(predictor, train, preset, stop_at)
    if cut_short:
        notes.append(
            f"AutoML ran out of time before trying every model of the {preset} preset; this is "
            f"the best of the {len(predictor.model_names())} it trained. A larger "
            "time_budget_seconds lets it try more."
        )
    report = _scores(predictor, split, target, answer_by, budget_seconds)
    return {**report, "preset": preset, "cut_short": cut_short, "notes": notes}


def _fit_until(predictor: Any, train: pd.DataFrame, preset: str, stop_at: float) -> bool:
    """Fit, wrapped up at `stop_at`; True when time ran out before the preset's plan did.

    AutoGluon's own limit is FIT_SHARE of the time left (at least MIN_FIT_SECONDS, so that a
    process slow to start still tries one model). No model at all is DeadlineExceeded when the
    time ran out, AutoGluon's own error otherwise.
    """
    from data_science.ml.automl_stop import wrap_up_at

    fit_seconds = max(MIN_FIT_SECONDS, (stop_at - time.time()) * FIT_SHARE)
    fit_started = time.monotonic()
    with wrap_up_at(stop_at) as wrap_up:
        predictor.fit(
            train,
            time_limit=fit_seconds,
            presets=preset,
            callbacks=[wrap_up],
            excluded_model_types=TORCH_MODELS if find_spec("torch") is None else [],
            raise_on_no_models_fitted=False,
        )
    if not predictor.model_names():
        if time.monotonic() - fit_started >= fit_seconds:
            raise DeadlineExceeded("AutoGluon could not train a single model in the time left.")
        raise RuntimeError("AutoGluon trained no model on this table.")
    return wrap_up.cut_short


def _scores(
    predictor: Any, split: HeldOutSplit, target: str, answer_by: float, budget_seconds: float
) -> dict[str, Any]:
    """The best model's test metrics, the leaderboard and (if time is left) feature importance."""
    predicted = predictor.predict(split.x_test)
    scores = None
    if predictor.problem_type == "binary":
        probabilities = predictor.predict_proba(split.x_test)
        positive = probabilities.columns[-1]
        scores = (probabilities[positive].to_numpy(), positive)
    test = split.x_test.assign(**{target: split.y_test})
    leaderboard = predictor.leaderboard(test, silent=True).head(LEADERBOARD_ROWS)
    left = answer_by - time.time()
    importance = None
    if left > 2 * MIN_IMPORTANCE_SECONDS:  # half of what is left: its limit can overrun too
        importance = predictor.feature_importance(
            test,
            subsample_size=min(500, len(test)),
            time_limit=min(left / 2, budget_seconds * IMPORTANCE_SHARE),
            silent=True,
        )
    return {
        "task": split.task,
        "target": target,
        "model": f"AutoGluon ({predictor.model_best})",
        "model_family": "autogluon",
        "framework": "autogluon",
        "n_train": len(split.x_train),
        "n_test": len(split.x_test),
        "split": split.description,
        **split.settings,
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
    }
