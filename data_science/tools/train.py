"""Supervised models: train on 80 % of the rows, report honest metrics on the other 20 %."""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext

from data_science.ml.supervised import fit_and_evaluate
from data_science.tools.base import ToolError, resolve_column, run_blocking, tool, workspace_for
from data_science.workers import run_cpu

PREDICTION_PREVIEW_ROWS = 5


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
    model, report = await run_cpu(fit_and_evaluate, frame, target)
    record = await run_blocking(
        workspace.save_model,
        model,
        name=f"{report['model']} predicting {target}",
        parent_id=dataset_id,
        details=report,
    )
    return {"model_id": record.id, "dataset_id": dataset_id, **report}


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
    predictions = await run_cpu(model.predict, frame[features])
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
