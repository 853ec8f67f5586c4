"""Supervised models: train on 80 % of the rows, report honest metrics on the other 20 %."""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext

from data_science.ml.estimators import ModelName
from data_science.ml.supervised import fit_to_file, predict_to_file
from data_science.runtime.workers import run_cpu
from data_science.tools.base import (
    derive_table,
    open_with_target,
    run_blocking,
    save_model,
    tool,
    workspace_for,
)


@tool
async def train(
    dataset_id: str, target: str, tool_context: ToolContext, model: ModelName = "auto"
) -> dict[str, Any]:
    """Train a model that predicts `target` from the other columns, and report test metrics.

    The task (classification or regression) is detected from the target. Rows are split 80/20
    with a fixed seed (stratified for classification; by time, latest 20 % as test, when the
    rows have a date column); the model is fitted on the 80 % and
    scored on the unseen 20 %, with 5-fold cross-validation on the training part. Row ids and
    the target are never features; gaps are imputed and text columns one-hot encoded.

    `model` picks the family: "auto" (on up to 5,000 training rows it cross-validates
    gradient-boosted trees, a random forest and a linear model on the training part and keeps
    the best, listed in `model_selection`; on more rows gradient-boosted trees),
    "hist_gradient_boosting", "random_forest", "extra_trees", "gradient_boosting", "lightgbm",
    "xgboost", "catboost", "logistic" (classification), "linear", "ridge", "lasso", "svm",
    "knn", "naive_bayes" (classification). Returns a `model_id` for `predict`, the test metrics
    (classification: accuracy, balanced accuracy, macro F1, ROC AUC when binary; regression:
    RMSE, MAE, R²), n_train and n_test.
    """
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)
    saved, report = await save_model(
        workspace,
        parent_id=dataset_id,
        produce=lambda path: run_cpu(fit_to_file, table, target, path, model, lane="heavy"),
        name=lambda report: f"{report['model']} predicting {target}",
    )
    return {"model_id": saved.id, "dataset_id": dataset_id, **report}


@tool
async def predict(model_id: str, dataset_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Apply a trained model to a dataset and store the predictions as a new dataset.

    `model_id` comes from `train` (or `list_data_files`); `dataset_id` is any dataset with the
    model's feature columns (the target column may be missing). Returns the new dataset's id
    and the first few predictions.
    """
    workspace = workspace_for(tool_context)
    record, model_path = await run_blocking(workspace.model_file, model_id)
    table = await run_blocking(workspace.table_file, dataset_id)
    target = record.details["target"]
    features = record.details["features"]
    saved, result = await derive_table(
        workspace,
        parent_id=dataset_id,
        name=f"predictions of {target}",
        produce=lambda path: run_cpu(
            predict_to_file, model_path, table, features, f"predicted_{target}", path, lane="quick"
        ),
        description=f"{record.name} applied to {dataset_id}",
    )
    return {"dataset_id": saved.id, "rows": result["rows"], "preview": result["preview"]}
