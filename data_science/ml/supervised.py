"""Supervised learning on a DataFrame: the pipeline, fitting and scoring on the held-out split
(`split.held_out_split`), the held-out metrics, and predictions with a saved model.

Pure functions with no ADK import, so they can run in a worker process.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from data_science.errors import ToolError
from data_science.ml.arguments import ModelOptions
from data_science.ml.common import SEED
from data_science.ml.estimators import (
    BALANCED_PARAMETER,
    DEFAULT_MODEL,
    DEPTH_PARAMETER,
    family,
    make_estimator,
)
from data_science.ml.split import (
    FeaturePlan,
    HeldOutSplit,
    SplitOptions,
    detect_task,
    held_out_split,
)
from data_science.storage.tables import TableFile, write_parquet

CV_FOLDS = 5
PREVIEW_ROWS = 5
# `train` with model="auto" compares these by cross-validation and keeps the best, on up to
# AUTO_SELECT_MAX_ROWS training rows (beyond that the comparison costs more than it tells).
AUTO_CANDIDATES = {
    "classification": ("hist_gradient_boosting", "random_forest", "logistic"),
    "regression": ("hist_gradient_boosting", "random_forest", "ridge"),
}
AUTO_SELECT_MAX_ROWS = 5_000
# Past this many training rows `train` does not cross-validate: the held-out test rows (a
# quarter as many at least, with the default split) already measure the model closely, and the
# folds would cost five fits more than the one asked for (`cross_validate` still runs them).
CV_MAX_TRAIN_ROWS = 100_000


def build_pipeline(
    plan: FeaturePlan,
    task: str,
    model: str = "auto",
    seed: int = SEED,
    options: ModelOptions | None = None,
) -> Pipeline:
    """Imputation (and scaling where the model needs it), one-hot encoding, then the model."""
    numeric: Any = SimpleImputer(strategy="median")
    if family(model).scale:
        numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, plan.numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False
                    ),
                ),
                plan.categorical,
            ),
        ]
    )
    estimator = make_estimator(model, task, seed, options)
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def fit_to_file(
    table: TableFile,
    target: str,
    model_path: Path,
    model: str = "auto",
    split_options: SplitOptions | None = None,
    model_options: ModelOptions | None = None,
) -> dict[str, Any]:
    """Fit and score a model (see `fit_and_evaluate`), save it with joblib, return the report.

    Meant for a worker process: the fitted model never travels back to the server.
    """
    fitted, report = fit_and_evaluate(table.load(), target, model, split_options, model_options)
    joblib.dump(fitted, model_path)
    return report


def fit_and_evaluate(
    frame: pd.DataFrame,
    target: str,
    model: str = "auto",
    split_options: SplitOptions | None = None,
    model_options: ModelOptions | None = None,
) -> tuple[Pipeline, dict[str, Any]]:
    """Split (80/20 unless `split_options` say otherwise), fit on the training part, score on
    the test part, cross-validate on the training part (up to CV_MAX_TRAIN_ROWS rows).

    `auto` on up to AUTO_SELECT_MAX_ROWS training rows cross-validates a boosted-tree, a forest
    and a linear model on the training part and keeps the best (only those that take the
    `model_options` asked for); the test rows play no part.
    """
    options = model_options or ModelOptions()
    split = held_out_split(frame, target, split_options, model)
    x_train, y_train, notes = _capped_training_part(split, model)
    cv_scoring = "accuracy" if split.task == "classification" else "r2"
    folds = CV_FOLDS
    if split.task == "classification":
        folds = min(CV_FOLDS, int(y_train.value_counts().min()))
    if len(x_train) > CV_MAX_TRAIN_ROWS:
        folds = 0
    candidates = [DEFAULT_MODEL] if model == "auto" else [model]
    if model == "auto" and folds >= 2 and len(x_train) <= AUTO_SELECT_MAX_ROWS:
        candidates = _auto_candidates(split.task, options, notes)
    cv_by_family = {
        name: _cv_scores(split, name, options, x_train, y_train, folds, cv_scoring)
        for name in candidates
    }
    chosen = max(candidates, key=lambda name: _mean_or_lowest(cv_by_family[name]))
    pipeline = build_pipeline(split.plan, split.task, chosen, split.seed, options)
    pipeline.fit(x_train, y_train)
    cv_scores = cv_by_family[chosen]
    report = _fit_report(pipeline, split, target, chosen, len(x_train), cv_scoring, cv_scores)
    if len(x_train) > CV_MAX_TRAIN_ROWS:
        report["cross_validation"]["left_out"] = (
            f"Cross-validation was left out: on {len(x_train):,} training rows the "
            f"{len(split.x_test):,} held-out test rows measure the model closely already "
            f"({CV_FOLDS} more fits would add little); ask for cross_validate to run it."
        )
    if len(candidates) > 1:
        report["model_selection"] = {
            name: round(float(scores.mean()), 4) for name, scores in cv_by_family.items()
        }
        notes.append(
            f"'auto' compared {', '.join(candidates)} by {folds}-fold cross-validation "
            f"({cv_scoring}) on the training part and kept {chosen}."
        )
    if model == "linear" and detect_task(frame[target].dropna()) == "classification":
        notes.append(
            f"'linear' fitted a linear regression to the values of '{target}' as numbers, "
            "though they look like classes: its predictions are numbers, not classes. For a "
            "classifier use model='logistic'."
        )
    report.update(
        {key: value for key, value in vars(options).items() if value is not None},
    )
    if notes:
        report["notes"] = notes
    if split.task == "classification":
        report["classes"] = [str(label) for label in pipeline.classes_]
    return pipeline, report


def _auto_candidates(task: str, options: ModelOptions, notes: list[str]) -> list[str]:
    """The families 'auto' compares: those of the task that take the options asked for."""
    candidates = list(AUTO_CANDIDATES[task])
    fitting = [
        name
        for name in candidates
        if (options.max_depth is None or name in DEPTH_PARAMETER)
        and (options.class_weight is None or name in BALANCED_PARAMETER)
    ]
    if fitting != candidates:
        notes.append(
            f"'auto' left out {', '.join(n for n in candidates if n not in fitting)}, which "
            "cannot take the options asked for."
        )
    return fitting


def _capped_training_part(
    split: HeldOutSplit, model: str
) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The training part, sampled (with the split's seed) down to the family's row cap."""
    x_train, y_train = split.x_train, split.y_train
    notes = []
    cap = family(model).max_train_rows
    if cap and len(x_train) > cap:
        x_train = x_train.sample(cap, random_state=split.seed)
        y_train = y_train.loc[x_train.index]
        notes.append(family(model).note)
    return x_train, y_train, notes


def _cv_scores(
    split: HeldOutSplit,
    name: str,
    options: ModelOptions,
    x_train: pd.DataFrame,
    y_train: pd.Series,
    folds: int,
    scoring: str,
) -> np.ndarray:
    """Cross-validated scores of family `name` on the training part (none below 2 folds)."""
    if folds < 2:
        return np.array([])
    pipeline = build_pipeline(split.plan, split.task, name, split.seed, options)
    cv = split.cross_validation_folds(folds)
    return np.asarray(cross_val_score(pipeline, x_train, y_train, cv=cv, scoring=scoring))


def _fit_report(
    pipeline: Pipeline,
    split: HeldOutSplit,
    target: str,
    chosen: str,
    n_train: int,
    cv_scoring: str,
    cv_scores: np.ndarray,
) -> dict[str, Any]:
    """What `train` reports and stores with the model: the held-out metrics first."""
    return {
        "task": split.task,
        "target": target,
        "model": type(pipeline.named_steps["model"]).__name__,
        "model_family": chosen,
        "n_train": n_train,
        "n_test": len(split.x_test),
        "split": split.description,
        **split.settings,
        "test_metrics": score_on_test_split(pipeline, split.x_test, split.y_test, split.task),
        "cross_validation": {
            "scoring": cv_scoring,
            "folds": len(cv_scores),
            "mean": float(cv_scores.mean()) if len(cv_scores) else None,
            "std": float(cv_scores.std()) if len(cv_scores) else None,
        },
        "features": split.plan.features,
        "dropped_columns": split.plan.dropped,
    }


def _mean_or_lowest(scores: np.ndarray) -> float:
    return float(scores.mean()) if len(scores) else -math.inf


def score_on_test_split(
    model: Pipeline, x_test: pd.DataFrame, y_test: pd.Series, task: str
) -> dict[str, float]:
    predicted = np.ravel(model.predict(x_test))
    scores = None
    if task == "classification" and len(model.classes_) == 2:
        scores = (positive_scores(model, x_test), model.classes_[1])
    return held_out_metrics(y_test, predicted, task, scores)


def held_out_metrics(
    y_test: pd.Series, predicted: Any, task: str, scores: tuple[Any, Any] | None = None
) -> dict[str, float]:
    """The held-out metrics every model reports; `scores` = (positive-class scores, that class)."""
    if task == "regression":
        return {
            "rmse": float(root_mean_squared_error(y_test, predicted)),
            "mae": float(mean_absolute_error(y_test, predicted)),
            "r2": float(r2_score(y_test, predicted)),
        }
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    if scores is not None and y_test.nunique() == 2:
        positive, positive_class = scores
        metrics["roc_auc"] = float(roc_auc_score(y_test == positive_class, positive))
    return metrics


def predict_to_file(
    model_path: Path, table: TableFile, features: list[str], output_column: str, out_path: Path
) -> dict[str, Any]:
    """Add the saved model's predictions to the table and write it to `out_path` (worker)."""
    frame = table.load()
    missing = [column for column in features if column not in frame.columns]
    if missing:
        raise ToolError(
            f"The dataset lacks the model's feature columns: {', '.join(missing)}. "
            f"The model needs: {', '.join(features)}.",
            code="missing_features",
        )
    model = load_model(model_path)
    # ravel: CatBoost answers a column vector where others answer a flat array.
    result = frame.assign(**{output_column: np.ravel(model.predict(frame[features]))})
    summary = write_parquet(result, out_path)
    preview = result[output_column].head(PREVIEW_ROWS).tolist()
    return {"rows": len(result), "preview": preview, "summary": summary}


def positive_scores(model: Pipeline, x: pd.DataFrame) -> Any:
    """Scores for the second class: probabilities where the model has them, else margins."""
    if hasattr(model, "predict_proba"):  # a Pipeline exposes it only if its model has it
        return model.predict_proba(x)[:, 1]
    return model.decision_function(x)


def load_model(path: Path) -> Any:
    """A saved model: a joblib file, or an AutoGluon predictor directory."""
    if path.is_dir():
        from autogluon.tabular import TabularPredictor

        return TabularPredictor.load(str(path), require_py_version_match=False)
    return joblib.load(path)
