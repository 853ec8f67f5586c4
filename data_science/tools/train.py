"""Supervised models: train on 80 % of the rows, report honest metrics on the other 20 %."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from google.adk.tools.tool_context import ToolContext
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
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
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from data_science.tools.base import ToolError, resolve_column, run_blocking, tool, workspace_for

SEED = 42
TEST_SIZE = 0.2
MIN_ROWS = 20
CV_FOLDS = 5
MAX_CLASSES_FOR_NUMERIC_TARGET = 20
ROW_ID_NAME = re.compile(r"^(id|index|row|row_?id|.*_id|unnamed: ?0)$", re.IGNORECASE)
PREDICTION_PREVIEW_ROWS = 5


@dataclass(frozen=True)
class FeaturePlan:
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str]

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


@tool
async def train(dataset_id: str, target: str, tool_context: ToolContext) -> dict[str, Any]:
    """Train a model that predicts `target` from the other columns, and report test metrics.

    The task (classification or regression) is detected from the target. Rows are split 80/20
    with a fixed seed (stratified for classification); the model (gradient-boosted trees with
    imputation and one-hot encoding) is fitted on the 80 % and scored on the unseen 20 %, with
    5-fold cross-validation on the training part. Row ids and the target are never features.
    Returns a `model_id` for `predict`, the test metrics and n_train / n_test.
    """
    workspace = workspace_for(tool_context)
    frame = await run_blocking(workspace.load_frame, dataset_id)
    target = resolve_column(frame, target, "target column")
    fitted = await run_blocking(fit_and_evaluate, frame, target)
    model, report = fitted
    record = await run_blocking(
        workspace.save_model,
        model,
        name=f"{report['model']} predicting {target}",
        parent_id=dataset_id,
        details=report,
    )
    return {"model_id": record.id, "dataset_id": dataset_id, **report}


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
        if ROW_ID_NAME.match(str(column)) and distinct >= 0.95 * rows:
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


def build_pipeline(plan: FeaturePlan, task: str) -> Pipeline:
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), plan.numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30,
                                  sparse_output=False),
                ),
                plan.categorical,
            ),
        ]
    )
    estimator = (
        HistGradientBoostingClassifier(random_state=SEED)
        if task == "classification"
        else HistGradientBoostingRegressor(random_state=SEED)
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def fit_and_evaluate(frame: pd.DataFrame, target: str) -> tuple[Pipeline, dict[str, Any]]:
    labelled = frame[frame[target].notna()]
    if len(labelled) < MIN_ROWS:
        raise ToolError(
            f"Only {len(labelled)} rows have a value for '{target}'; at least {MIN_ROWS} are "
            "needed to train and test a model.",
            code="too_few_rows",
        )
    task = detect_task(labelled[target])
    plan = plan_features(labelled, target)
    features, labels = labelled[plan.features], labelled[target]
    if task == "classification":
        labels = labels.astype(str)
        if labels.nunique() < 2:
            raise ToolError(f"'{target}' has a single class; nothing to predict.", "single_class")
    stratify = labels if task == "classification" and labels.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=TEST_SIZE, random_state=SEED, stratify=stratify
    )
    pipeline = build_pipeline(plan, task)
    cv_scoring = "accuracy" if task == "classification" else "r2"
    folds = min(CV_FOLDS, int(y_train.value_counts().min())) if task == "classification" else CV_FOLDS
    cv_scores = (
        cross_val_score(pipeline, x_train, y_train, cv=folds, scoring=cv_scoring)
        if folds >= 2
        else np.array([])
    )
    pipeline.fit(x_train, y_train)
    report: dict[str, Any] = {
        "task": task,
        "target": target,
        "model": type(pipeline.named_steps["model"]).__name__,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "split": f"{int((1 - TEST_SIZE) * 100)}/{int(TEST_SIZE * 100)}, seed {SEED}"
        + (", stratified" if stratify is not None else ""),
        "test_metrics": score_on_test_split(pipeline, x_test, y_test, task),
        "cross_validation": {
            "scoring": cv_scoring,
            "folds": len(cv_scores),
            "mean": float(cv_scores.mean()) if len(cv_scores) else None,
            "std": float(cv_scores.std()) if len(cv_scores) else None,
        },
        "features": plan.features,
        "dropped_columns": plan.dropped,
    }
    if task == "classification":
        report["classes"] = [str(label) for label in pipeline.classes_]
    return pipeline, report


def score_on_test_split(
    model: Pipeline, x_test: pd.DataFrame, y_test: pd.Series, task: str
) -> dict[str, float]:
    predicted = model.predict(x_test)
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
    if len(model.classes_) == 2 and y_test.nunique() == 2:
        positive = model.predict_proba(x_test)[:, 1]
        metrics["roc_auc"] = float(roc_auc_score(y_test == model.classes_[1], positive))
    return metrics


@tool
async def predict(model_id: str, dataset_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Apply a trained model to a dataset and store the predictions as a new dataset.

    `model_id` comes from `train` (or `list_data_files`); `dataset_id` is any dataset with the
    model's feature columns (the target column may be missing). Returns the new dataset's id
    and the first few predictions.
    """
    workspace = workspace_for(tool_context)
    record, model = await run_blocking(workspace.load_model, model_id)
    frame = await run_blocking(workspace.load_frame, dataset_id)
    features: list[str] = record.details["features"]
    missing = [column for column in features if column not in frame.columns]
    if missing:
        raise ToolError(
            f"The dataset lacks the model's feature columns: {', '.join(missing)}. "
            f"The model needs: {', '.join(features)}.",
            code="missing_features",
        )
    target = record.details["target"]
    predictions = await run_blocking(model.predict, frame[features])
    result = frame.assign(**{f"predicted_{target}": predictions})
    saved = await run_blocking(
        workspace.save_frame,
        result,
        name=f"predictions of {target}",
        parent_id=dataset_id,
        description=f"{record.name} applied to {dataset_id}",
    )
    preview = result[[f"predicted_{target}"]].head(PREDICTION_PREVIEW_ROWS)
    return {"dataset_id": saved.id, "rows": len(result), "preview": preview}
