"""Feature selection: which columns predict a target, ranked, with a chosen subset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import model_sample
from data_science.tools.base import (
    derive_table,
    open_with_target,
    tool,
)

if TYPE_CHECKING:
    from data_science.ml import feature_selection
else:  # computed in the worker processes only (runtime/remote.py)
    feature_selection = in_workers("data_science.ml.feature_selection")


@tool
async def select_features(
    dataset_id: str,
    target: str,
    tool_context: ToolContext,
    method: Literal[
        "univariate", "mutual_info", "rfe", "rfecv", "sequential", "model_importance"
    ] = "univariate",
    k: int = 10,
    estimator: Literal["linear", "tree"] = "linear",
    keep_only_selected: bool = False,
) -> dict[str, Any]:
    """Rank the features that best predict `target` and pick the best `k`; use before training.

    Classification or regression is detected from the target, as in `train`. The target and
    row ids are never features; numeric columns are median-imputed and text columns one-hot
    encoded into `column=value` features, which is what gets ranked.
    `method`: 'univariate' (F-test per feature, fast, all rows), 'mutual_info' (mutual
    information, catches non-linear links), 'rfe' (recursive feature elimination with a
    model), 'rfecv' (RFE that picks the number of features by 5-fold cross-validation; `k` is
    ignored), 'sequential' (forward selection by 3-fold CV score, linear model, slowest),
    'model_importance' (random-forest importances). `estimator` ('linear' or 'tree') is the
    model for rfe/rfecv. Large tables are sampled (up to 20,000 rows; 5,000 for rfecv,
    sequential and tree-based rfe), which the result says.
    `keep_only_selected`: also save a new dataset with only the selected columns + target.
    Returns `ranking` (top 50: feature, source column, score or rank, selected),
    `selected_features`, `selected_columns`, and `dataset_id` when a dataset was saved.
    """
    # The kept columns are saved for every row, so that table is not sampled.
    workspace, record, table, target = await open_with_target(
        tool_context, dataset_id, target, sample=not keep_only_selected
    )
    if not keep_only_selected:
        report = await run_cpu(
            feature_selection.select_features_to_file,
            table,
            target,
            method,
            k,
            estimator,
            None,
            lane="heavy",
        )
        return {"source_dataset_id": dataset_id, **report, **model_sample(table)}
    saved, report = await derive_table(
        workspace,
        parent_id=dataset_id,
        name=f"{record.name} (selected features for {target})",
        produce=lambda path: run_cpu(
            feature_selection.select_features_to_file,
            table,
            target,
            method,
            k,
            estimator,
            path,
            lane="heavy",
        ),
        description=lambda report: (
            f"{method} feature selection for '{target}': kept "
            f"{', '.join(report['selected_columns'])} and the target"
        ),
    )
    return {"dataset_id": saved.id, "source_dataset_id": dataset_id, **report}
