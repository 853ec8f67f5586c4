"""Supervised learning on a DataFrame: task detection, feature choice, the 80/20 split, metrics.

Pure functions with no ADK import, so they can run in a worker process.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
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
from sklearn.model_selection import TimeSeriesSplit, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from data_science.errors import ToolError
from data_science.ml.common import SEED, is_row_id
from data_science.ml.estimators import DEFAULT_MODEL, family, make_estimator
from data_science.storage.tables import TableFile, write_parquet

TEST_SIZE = 0.2
MIN_ROWS = 20
CV_FOLDS = 5
MAX_CLASSES_FOR_NUMERIC_TARGET = 20
PREVIEW_ROWS = 5
TIME_NAME = re.compile(r"date|time|timestamp|month|period|day", re.IGNORECASE)
# `train` with model="auto" compares these by cross-validation and keeps the best, on up to
# AUTO_SELECT_MAX_ROWS training rows (beyond that the comparison costs more than it tells).
AUTO_CANDIDATES = {
    "classification": ("hist_gradient_boosting", "random_forest", "logistic"),
    "regression": ("hist_gradient_boosting", "random_forest", "ridge"),
}
AUTO_SELECT_MAX_ROWS = 5_000


@dataclass(frozen=True)
class FeaturePlan:
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str]

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


def detect_task(target: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        return "classification"
    distinct = target.nunique(dropna=True)
    if pd.api.types.is_integer_dtype(target) and distinct <= MAX_CLASSES_FOR_NUMERIC_TARGET:
        return "classification"
    return "regression"


def plan_features(frame: pd.DataFrame, target: str) -> FeaturePlan:
    """Choose feature columns; say why each other column was left out."""
    numeric, categorical, dropped = [], [], {}
    rows = len(frame)
    for column in frame.columns:
        if column == target:
            continue
        series = frame[column]
        distinct = series.nunique(dropna=True)
        if is_row_id(str(column), distinct, rows):
            dropped[column] = "row identifier"
        elif distinct <= 1:
            dropped[column] = "constant"
        elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            numeric.append(column)
        elif pd.api.types.is_datetime64_any_dtype(series):
            dropped[column] = "date/time (expand it into parts first)"
        elif distinct > max(50, 0.5 * rows):
            dropped[column] = "free text or identifier (too many distinct values)"
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise ToolError(
            f"No usable feature columns remain besides '{target}'. Dropped: {dropped}.",
            code="no_features",
        )
    return FeaturePlan(numeric, categorical, dropped)


def build_pipeline(plan: FeaturePlan, task: str, model: str = "auto") -> Pipeline:
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
    return Pipeline([("preprocess", preprocess), ("model", make_estimator(model, task))])


def fit_to_file(
    table: TableFile, target: str, model_path: Path, model: str = "auto"
) -> dict[str, Any]:
    """Fit and score a model (see `fit_and_evaluate`), save it with joblib, return the report.

    Meant for a worker process: the fitted model never travels back to the server.
    """
    fitted, report = fit_and_evaluate(table.load(), target, model)
    joblib.dump(fitted, model_path)
    return report


@dataclass(frozen=True)
class HeldOutSplit:
    """The one 80/20 split every model of a target is trained and scored on."""

    task: str
    plan: FeaturePlan
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    stratified: bool
    time_column: str | None = None

    @property
    def description(self) -> str:
        shares = f"{int((1 - TEST_SIZE) * 100)}/{int(TEST_SIZE * 100)}"
        if self.time_column:
            return f"{shares} temporal on '{self.time_column}' (the latest 20 % is the test set)"
        return f"{shares}, seed {SEED}" + (", stratified" if self.stratified else "")

    def cross_validation_folds(self, folds: int) -> Any:
        """Time-ordered folds for time-indexed data (never train on the future), else k-fold."""
        return TimeSeriesSplit(n_splits=folds) if self.time_column else folds


def find_time_column(frame: pd.DataFrame, target: str) -> str | None:
    """The column that orders the rows in time, if there is one (dates, not years)."""
    for column in frame.columns:
        if column != target and pd.api.types.is_datetime64_any_dtype(frame[column]):
            return str(column)
    for column in frame.columns:
        if column == target or not TIME_NAME.search(str(column)):
            continue
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.9:
            return str(column)
    return None


def labelled_rows(
    frame: pd.DataFrame, target: str, purpose: str
) -> tuple[pd.DataFrame, str, FeaturePlan, pd.Series]:
    """The rows with a value for `target`, the task, the feature plan and the labels (text for
    classification); too few rows or a single class is explained, naming the `purpose`."""
    labelled = frame[frame[target].notna()]
    if len(labelled) < MIN_ROWS:
        raise ToolError(
            f"Only {len(labelled)} rows have a value for '{target}'; at least {MIN_ROWS} are "
            f"needed {purpose}.",
            code="too_few_rows",
        )
    task = detect_task(labelled[target])
    plan = plan_features(labelled, target)
    labels = labelled[target]
    if task == "classification":
        labels = labels.astype(str)
        if labels.nunique() < 2:
            raise ToolError(f"'{target}' has a single class; nothing to predict.", "single_class")
    return labelled, task, plan, labels


def held_out_split(frame: pd.DataFrame, target: str) -> HeldOutSplit:
    """Rows with a target, split 80/20: by time when the rows are time-indexed (the latest
    20 % is the test set), else at random with seed 42 (stratified for classification)."""
    labelled, task, plan, labels = labelled_rows(frame, target, "to train and test a model")
    features = labelled[plan.features]
    time_column = find_time_column(labelled, target)
    if time_column is not None:
        order = pd.to_datetime(labelled[time_column], errors="coerce", format="mixed").argsort(
            kind="stable"
        )
        cut = len(labelled) - math.ceil(TEST_SIZE * len(labelled))
        train_rows, test_rows = order[:cut], order[cut:]
        return HeldOutSplit(
            task,
            plan,
            features.iloc[train_rows],
            features.iloc[test_rows],
            labels.iloc[train_rows],
            labels.iloc[test_rows],
            False,
            time_column,
        )
    stratify = labels if task == "classification" and labels.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=TEST_SIZE, random_state=SEED, stratify=stratify
    )
    return HeldOutSplit(task, plan, x_train, x_test, y_train, y_test, stratify is not None)


def fit_and_evaluate(
    frame: pd.DataFrame, target: str, model: str = "auto"
) -> tuple[Pipeline, dict[str, Any]]:
    """Split 80/20, fit on the 80 %, score on the 20 %, cross-validate on the 80 %.

    `auto` on up to AUTO_SELECT_MAX_ROWS training rows cross-validates a boosted-tree, a forest
    and a linear model on the training part and keeps the best; the test rows play no part.
    """
    split = held_out_split(frame, target)
    x_train, y_train, notes = _capped_training_part(split, model)
    cv_scoring = "accuracy" if split.task == "classification" else "r2"
    folds = CV_FOLDS
    if split.task == "classification":
        folds = min(CV_FOLDS, int(y_train.value_counts().min()))
    candidates = [DEFAULT_MODEL] if model == "auto" else [model]
    if model == "auto" and folds >= 2 and len(x_train) <= AUTO_SELECT_MAX_ROWS:
        candidates = list(AUTO_CANDIDATES[split.task])
    cv_by_family = {
        name: _cv_scores(split, name, x_train, y_train, folds, cv_scoring) for name in candidates
    }
    chosen = max(candidates, key=lambda name: _mean_or_lowest(cv_by_family[name]))
    pipeline = build_pipeline(split.plan, split.task, chosen)
    pipeline.fit(x_train, y_train)
    cv_scores = cv_by_family[chosen]
    report = _fit_report(pipeline, split, target, chosen, len(x_train), cv_scoring, cv_scores)
    if len(candidates) > 1:
        report["model_selection"] = {
            name: round(float(scores.mean()), 4) for name, scores in cv_by_family.items()
        }
        notes.append(
            f"'auto' compared {', '.join(candidates)} by {folds}-fold cross-validation "
            f"({cv_scoring}) on the training part and kept {chosen}."
        )
    if notes:
        report["notes"] = notes
    if split.task == "classification":
        report["classes"] = [str(label) for label in pipeline.classes_]
    return pipeline, report


def _capped_training_part(
    split: HeldOutSplit, model: str
) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The training part, sampled (seed 42) down to the family's row cap if it has one."""
    x_train, y_train = split.x_train, split.y_train
    notes = []
    cap = family(model).max_train_rows
    if cap and len(x_train) > cap:
        x_train = x_train.sample(cap, random_state=SEED)
        y_train = y_train.loc[x_train.index]
        notes.append(family(model).note)
    return x_train, y_train, notes


def _cv_scores(
    split: HeldOutSplit,
    name: str,
    x_train: pd.DataFrame,
    y_train: pd.Series,
    folds: int,
    scoring: str,
) -> np.ndarray:
    """Cross-validated scores of family `name` on the training part (none below 2 folds)."""
    if folds < 2:
        return np.array([])
    pipeline = build_pipeline(split.plan, split.task, name)
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
