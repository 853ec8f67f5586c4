"""Unsupervised grouping of rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
from google.adk.tools.tool_context import ToolContext
from sklearn.cluster import KMeans
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_science.tools.base import ToolError, resolve_column, run_blocking, tool, workspace_for

SEED = 42
K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 5_000


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
    labels, report = await run_blocking(fit_kmeans, frame[numeric], n_clusters)
    result = frame.assign(cluster=labels)
    saved = await run_blocking(
        workspace.save_frame,
        result,
        name=f"clusters of {dataset_id}",
        parent_id=dataset_id,
        description=f"k-means with k={report['n_clusters']} on {', '.join(numeric)}",
    )
    return {"dataset_id": saved.id, "columns_used": numeric, **report}


def fit_kmeans(features: pd.DataFrame, n_clusters: int | None) -> tuple[Any, dict[str, Any]]:
    prepared = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit_transform(
        features
    )
    candidates = [n_clusters] if n_clusters else [k for k in K_RANGE if k < len(features)]
    if not candidates:
        raise ToolError("Clustering needs at least 3 rows.", "too_few_rows")
    fits = {}
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit_predict(prepared)
        sample = min(SILHOUETTE_SAMPLE, len(labels))
        fits[k] = (float(silhouette_score(prepared, labels, sample_size=sample, random_state=SEED)), labels)
    k = max(fits, key=lambda candidate: fits[candidate][0])
    score, labels = fits[k]
    scores = {candidate: fit[0] for candidate, fit in fits.items()}
    profile = features.assign(cluster=labels).groupby("cluster").mean().round(3)
    return labels, {
        "n_clusters": k,
        "silhouette": score,
        "silhouette_by_k": scores if n_clusters is None else None,
        "sizes": pd.Series(labels).value_counts().sort_index().to_dict(),
        "profiles": profile.reset_index().to_dict(orient="records"),
    }
