"""Unsupervised tools: grouping rows, choosing the number of groups, flagging unusual rows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.llm.model_view import rows_for_model
from data_science.ml.arguments import LINKAGES, METHODS, Linkage, Method
from data_science.ml.common import SEED
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import for_models, model_sample
from data_science.storage.workspace import ItemRecord
from data_science.tools.base import (
    ToolError,
    column_names,
    derive_table,
    resolve_column,
    run_blocking,
    settings_for,
    tool,
    workspace_for,
)

METHOD_WORDS = {
    "kmeans": "k-means",
    "dbscan": "DBSCAN",
    "agglomerative": "agglomerative",
    "gaussian_mixture": "Gaussian mixture",
}

if TYPE_CHECKING:
    from data_science.ml import clustering
else:  # computed in the worker processes only (runtime/remote.py)
    clustering = in_workers("data_science.ml.clustering")


@tool
async def cluster(
    dataset_id: str,
    tool_context: ToolContext,
    n_clusters: int | None = None,
    columns: list[str] | None = None,
    method: Method = "kmeans",
    linkage: Linkage = "ward",
    eps: float | None = None,
    min_samples: int = 5,
) -> dict[str, Any]:
    """Group the rows of a dataset into clusters on its numeric columns (gaps filled with the
    median, then standardised). Use it to find segments or natural groups; use `choose_k`
    first when unsure how many groups there are.

    Arguments:
    - `method`: "kmeans" (default, round groups of similar size), "agglomerative"
      (hierarchical; `linkage` "ward" (default), "average" or "complete"; at most 20,000
      rows), "gaussian_mixture" (elliptical groups of different sizes), or "dbscan"
      (dense regions of any shape; finds the number of clusters itself and marks outliers as
      noise, cluster -1).
    - `n_clusters`: k for kmeans/agglomerative/gaussian_mixture, 2-50. Leave empty to choose
      k from 2 to 8: best silhouette score (gaussian_mixture: lowest BIC).
    - `eps`, `min_samples` (dbscan only): neighbourhood radius in standard deviations
      (empty: chosen from the data, the 90th percentile of each point's distance to its
      `min_samples`-th neighbour) and points needed for a dense core (default 5).
    - `columns`: cluster on these columns only (default: every numeric column).
    Returns the new dataset (`dataset_id`) with a `cluster` column, cluster sizes, the
    silhouette score (-1..1, higher = better separated), each cluster's mean over the most
    distinguishing columns, how k or eps was chosen, and a scatter chart of the clusters on
    the two main principal components (with their explained variance).
    """
    if method not in METHODS:
        raise ToolError(
            f"Unknown method '{method}'. Use one of: {', '.join(METHODS)}.", code="bad_method"
        )
    if linkage not in LINKAGES:
        raise ToolError(
            f"Unknown linkage '{linkage}'. Use one of: {', '.join(LINKAGES)}.",
            code="unknown_linkage",
        )
    ignored = _ignored_arguments(method, n_clusters, linkage, eps, min_samples)
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    chosen = _resolve(record, columns)
    table = await run_blocking(workspace.table_file, dataset_id)

    def describe(report: dict[str, Any]) -> str:
        setting = (
            f"eps={report['eps']:.3g}, min_samples={report['min_samples']}"
            if method == "dbscan"
            else f"k={report['n_clusters']}"
        )
        return f"{METHOD_WORDS[method]} with {setting} on {', '.join(report['columns_used'])}"

    saved, report = await derive_table(
        workspace,
        parent_id=dataset_id,
        name=f"clusters of {record.name}",
        produce=lambda path: run_cpu(
            clustering.cluster_to_file,
            table,
            chosen,
            n_clusters,
            path,
            method,
            linkage,
            eps,
            min_samples,
            lane="heavy",
        ),
        description=describe,
    )
    chart = await _save_png(tool_context, f"{method} clusters {record.name}", report.pop("png"))
    notes = {"ignored_arguments": ignored} if ignored else {}
    return {"dataset_id": saved.id, **report, **chart, **notes}


@tool
async def choose_k(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    max_k: int = 10,
) -> dict[str, Any]:
    """Help decide how many clusters a dataset has before calling `cluster`.

    Runs k-means for k = 2..`max_k` (3-20, default 10) on the numeric columns (or `columns`),
    median-imputed and standardised. Returns a table of inertia (the elbow curve: within-
    cluster spread, always falls as k grows) and silhouette score (higher = better separated)
    per k, the suggested k (best silhouette), the elbow k, and a chart of both curves shown in
    the chat.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    chosen = _resolve(record, columns)
    table = await run_blocking(workspace.table_file, dataset_id)
    table = await run_blocking(for_models, table, settings_for(tool_context), SEED)
    report = await run_cpu(clustering.choose_k_report, table, chosen, max_k, lane="heavy")
    chart = await _save_png(tool_context, f"choose k {record.name}", report.pop("png"))
    return {"dataset_id": dataset_id, **report, **chart, **model_sample(table)}


@tool
async def find_anomalies(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    contamination: float = 0.05,
) -> dict[str, Any]:
    """Flag unusual rows (outliers across several numeric columns at once) with an isolation
    forest. Use it to find suspicious records, errors or rare cases.

    Works on the numeric columns (or `columns`), gaps filled with the median. `contamination`
    is the expected share of anomalies (above 0, at most 0.5; default 0.05 flags about 5 %).
    Returns the number flagged, the 10 most anomalous rows (0-based row number, score and
    their values, at most 10 columns), and a new dataset (`dataset_id`) with an `anomaly`
    (true/false) and an `anomaly_score` column (higher = more unusual; above 0 is flagged).
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    chosen = _resolve(record, columns)
    table = await run_blocking(workspace.table_file, dataset_id)
    saved, report = await derive_table(
        workspace,
        parent_id=dataset_id,
        name=f"anomalies in {record.name}",
        produce=lambda path: run_cpu(
            clustering.anomalies_to_file, table, chosen, contamination, path, lane="heavy"
        ),
        description=lambda report: (
            f"isolation forest (contamination {contamination:g}) on "
            f"{', '.join(report['columns_used'])}"
        ),
    )
    report["most_anomalous"] = rows_for_model(
        workspace.settings, report["most_anomalous"], keep=("row", "anomaly_score")
    )
    return {"dataset_id": saved.id, **report}


def _resolve(record: ItemRecord, columns: list[str] | None) -> list[str] | None:
    if not columns:
        return None
    names = column_names(record)
    return list(dict.fromkeys(resolve_column(names, column) for column in columns))


def _ignored_arguments(
    method: str, n_clusters: int | None, linkage: str, eps: float | None, min_samples: int
) -> list[str]:
    ignored = []
    if method == "dbscan" and n_clusters is not None:
        ignored.append("n_clusters (DBSCAN finds the number of clusters itself)")
    if method != "dbscan" and (eps is not None or min_samples != 5):
        ignored.append("eps/min_samples (only used by method='dbscan')")
    if method != "agglomerative" and linkage != "ward":
        ignored.append("linkage (only used by method='agglomerative')")
    return ignored


async def _save_png(tool_context: ToolContext, title: str, png: bytes) -> dict[str, Any]:
    filename = f"{re.sub(r'[^a-z0-9]+', '_', title.lower()).strip('_')[:60] or 'chart'}.png"
    version = await tool_context.save_artifact(
        filename, types.Part.from_bytes(data=png, mime_type="image/png")
    )
    return {"chart": filename, "chart_version": version}
