"""Supervised models: train on one part of the rows, report honest metrics on the other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.ml.arguments import ModelName, ModelOptions
from data_science.ml.common import SEED
from data_science.ml.split import TEST_SIZE, SplitOptions
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import model_sample
from data_science.tools.base import (
    derive_table,
    open_with_target,
    run_blocking,
    save_model,
    tool,
    workspace_for,
)

if TYPE_CHECKING:
    from data_science.ml import supervised
else:  # computed in the worker processes only (runtime/remote.py)
    supervised = in_workers("data_science.ml.supervised")


@tool
async def train(
    dataset_id: str,
    target: str,
    tool_context: ToolContext,
    model: ModelName = "auto",
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
    max_depth: int | None = None,
    class_weight: Literal["balanced"] | None = None,
) -> dict[str, Any]:
    """Train a model that predicts `target` from the other columns, and report test metrics.

    The task (classification or regression) is detected from the target. The rows are split
    once: `test_size` of them (0.2 = an 80/20 split; 0.3 for 70/30) are held out at random
    with `seed`, keeping each class's share when `stratify` (classification only; a numeric
    target is never stratified). When the rows have a date column the split is by time
    instead: the latest `test_size` of the rows are the test set, whatever the seed. The model
    is fitted on the training part and scored on the unseen test part, with 5-fold
    cross-validation on the training part when it has at most 100,000 rows (past that the
    test part measures the model closely and the result says cross-validation was left out;
    `cross_validate` runs it on request). Row ids and the target are never features; gaps
    are imputed and text columns one-hot encoded. The result reports the split used (`split`,
    `test_size`, `seed`, `stratified`).

    `model` picks the family: "auto" (on up to 5,000 training rows it cross-validates
    gradient-boosted trees, a random forest and a linear model on the training part and keeps
    the best, listed in `model_selection`; on more rows gradient-boosted trees),
    "decision_tree", "hist_gradient_boosting", "random_forest", "extra_trees",
    "gradient_boosting", "lightgbm", "xgboost", "catboost", "logistic" (classification),
    "linear", "ridge", "lasso", "svm", "knn", "naive_bayes" (classification). "linear" is
    always an ordinary least-squares linear regression: on a 0/1 target it predicts the
    numbers (a linear probability model) and says so in `notes`; on text classes it is
    refused. For a linear classifier use "logistic".

    `max_depth` bounds the depth of the trees (decision_tree, random_forest, extra_trees,
    gradient_boosting, hist_gradient_boosting, lightgbm, xgboost, catboost); `class_weight=
    "balanced"` weighs classes by their inverse frequency (decision_tree, random_forest,
    extra_trees, hist_gradient_boosting, lightgbm, catboost, logistic, ridge, lasso, svm).
    A family without the setting is refused with the families that have it; with "auto" only
    the compared families that have it are tried. `seed` also seeds the model itself.

    Returns a `model_id` for `predict`, the test metrics (classification: accuracy, balanced
    accuracy, macro F1, ROC AUC when binary; regression: RMSE, MAE, R²), n_train and n_test.
    On a very large table the model learns from a random sample of its rows, given in `sample`.
    """
    split = SplitOptions(test_size, seed, stratify)
    options = ModelOptions(max_depth, class_weight)
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)
    saved, report = await save_model(
        workspace,
        parent_id=dataset_id,
        produce=lambda path: run_cpu(
            supervised.fit_to_file, table, target, path, model, split, options, lane="heavy"
        ),
        name=lambda report: f"{report['model']} predicting {target}",
    )
    return {"model_id": saved.id, "dataset_id": dataset_id, **report, **model_sample(table)}


@tool
async def predict(model_id: str, dataset_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Apply a trained model to a dataset and store the predictions as a new dataset.

    `model_id` comes from `train` (or `list_data_files`); `dataset_id` is any dataset with the
    model's feature columns (the target column may be missing). Returns the new dataset's id
    and the first few predictions, in the new `column` (`predicted_<target>`).
    """
    workspace = workspace_for(tool_context)
    record, model_path = await run_blocking(workspace.model_file, model_id)
    table = await run_blocking(workspace.table_file, dataset_id)
    target = record.details["target"]
    column = f"predicted_{target}"
    features = record.details["features"]
    saved, result = await derive_table(
        workspace,
        parent_id=dataset_id,
        name=f"predictions of {target}",
        produce=lambda path: run_cpu(
            supervised.predict_to_file, model_path, table, features, column, path, lane="quick"
        ),
        description=f"{record.name} applied to {dataset_id}",
    )
    return {
        "dataset_id": saved.id,
        "column": column,
        "rows": result["rows"],
        "preview": result["preview"],
    }
