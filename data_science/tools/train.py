"""Supervised models: train on 80 % of the rows, report honest metrics on the other 20 %."""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext

from data_science.ml.estimators import ModelName
from data_science.ml.supervised import fit_to_file, predict_to_file
from data_science.tools.base import (
    column_names,
    resolve_column,
    run_blocking,
    staged_file,
    tool,
    workspace_for,
)
from data_science.workers import run_cpu

MODEL_FILE = "model.joblib"
TABLE_FILE = "data.parquet"


@tool
async def train(
    dataset_id: str, target: str, tool_context: ToolContext, model: ModelName = "auto"
) -> dict[str, Any]:
    """Train a model that predicts `target` from the other columns, and report test metrics.

    The task (classification or regression) is detected from the target. Rows are split 80/20
    with a fixed seed (stratified for classification); the model is fitted on the 80 % and
    scored on the unseen 20 %, with 5-fold cross-validation on the training part. Row ids and
    the target are never features; gaps are imputed and text columns one-hot encoded.

    `model` picks the family: "auto" (gradient-boosted trees, a strong default),
    "hist_gradient_boosting", "random_forest", "extra_trees", "gradient_boosting", "lightgbm",
    "xgboost", "catboost", "logistic" (classification), "linear", "ridge", "lasso", "svm",
    "knn", "naive_bayes" (classification). Returns a `model_id` for `predict`, the test metrics
    (classification: accuracy, balanced accuracy, macro F1, ROC AUC when binary; regression:
    RMSE, MAE, R²), n_train and n_test.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    target = resolve_column(column_names(record), target, "target column")
    table = await run_blocking(workspace.table_file, dataset_id)
    async with staged_file(workspace, MODEL_FILE) as model_path:
        report = await run_cpu(fit_to_file, table, target, model_path, model)
        saved = await run_blocking(
            workspace.adopt_file,
            model_path,
            kind="model",
            name=f"{report['model']} predicting {target}",
            stored_name=MODEL_FILE,
            parent_id=dataset_id,
            details=report,
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
    async with staged_file(workspace, TABLE_FILE) as out_path:
        result = await run_cpu(
            predict_to_file,
            model_path,
            table,
            record.details["features"],
            f"predicted_{target}",
            out_path,
        )
        saved = await run_blocking(
            workspace.adopt_file,
            out_path,
            kind="table",
            name=f"predictions of {target}",
            stored_name=TABLE_FILE,
            summary=result["summary"],
            parent_id=dataset_id,
            description=f"{record.name} applied to {dataset_id}",
        )
    return {"dataset_id": saved.id, "rows": result["rows"], "preview": result["preview"]}
