"""Unsupervised grouping of rows."""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext

from data_science.ml.clustering import cluster_to_file
from data_science.tools.base import (
    column_names,
    resolve_column,
    run_blocking,
    staged_file,
    tool,
    workspace_for,
)
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
    record = await run_blocking(workspace.get, dataset_id, "table")
    chosen = [resolve_column(column_names(record), c) for c in columns] if columns else None
    table = await run_blocking(workspace.table_file, dataset_id)
    async with staged_file(workspace, "data.parquet") as out_path:
        report = await run_cpu(cluster_to_file, table, chosen, n_clusters, out_path)
        saved = await run_blocking(
            workspace.adopt_file,
            out_path,
            kind="table",
            name=f"clusters of {record.name}",
            stored_name=out_path.name,
            summary=report.pop("summary"),
            parent_id=dataset_id,
            description=(
                f"k-means with k={report['n_clusters']} on {', '.join(report['columns_used'])}"
            ),
        )
    return {"dataset_id": saved.id, **report}
