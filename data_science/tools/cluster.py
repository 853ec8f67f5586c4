"""Unsupervised grouping of rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
from google.adk.tools.tool_context import ToolContext

from data_science.ml.clustering import fit_kmeans
from data_science.tools.base import ToolError, resolve_column, run_blocking, tool, workspace_for
from data_science.workers import run_cpu


@tool
async def cluster(
    dataset_id: str,
    tool_context: ToolContext,
    n_clusters: int | None = None,
    columns: list[str] | None = None,
) -> dict[str, Any]:
    """Group the rows of a dataset with k-means on its numeric columns (scaled, gaps imputed).

    Leave `n_clusters` empty to choose k from 2 to 8 by the best silhouette score; give
    `columns` to cluster on a subset. Returns cluster sizes, each cluster's mean profile, the
    silhouette score, and a new dataset (`dataset_id`) with a `cluster` column added.
    """
    workspace = workspace_for(tool_context)
    frame = await run_blocking(workspace.load_frame, dataset_id)
    if columns:
        chosen = [resolve_column(frame, column) for column in columns]
    else:
        chosen = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in chosen if pd.api.types.is_numeric_dtype(frame[c])]
    if not numeric:
        raise ToolError("Clustering needs numeric columns, and none were found.", "no_numeric")
    if n_clusters is not None and not 2 <= n_clusters <= min(50, len(frame) - 1):
        raise ToolError(f"n_clusters must be between 2 and {min(50, len(frame) - 1)}.", "bad_k")
    labels, report = await run_cpu(fit_kmeans, frame[numeric], n_clusters)
    result = frame.assign(cluster=labels)
    saved = await run_blocking(
        workspace.save_frame,
        result,
        name=f"clusters of {dataset_id}",
        parent_id=dataset_id,
        description=f"k-means with k={report['n_clusters']} on {', '.join(numeric)}",
    )
    return {"dataset_id": saved.id, "columns_used": numeric, **report}
