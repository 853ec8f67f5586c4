"""k-means with k chosen by silhouette. Pure functions with no ADK import (worker-safe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.cluster import KMeans
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_science.errors import ToolError
from data_science.tables import TableFile, write_parquet

SEED = 42
K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 5_000


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
        fits[k] = (
            float(silhouette_score(prepared, labels, sample_size=sample, random_state=SEED)),
            labels,
        )
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


def cluster_to_file(
    table: TableFile, columns: list[str] | None, n_clusters: int | None, out_path: Path
) -> dict[str, Any]:
    """Cluster the table's numeric columns (or `columns`) and write it with a `cluster` column."""
    frame = table.load()
    chosen = columns or list(frame.columns)
    numeric = [c for c in chosen if pd.api.types.is_numeric_dtype(frame[c])]
    if not numeric:
        raise ToolError("Clustering needs numeric columns, and none were found.", "no_numeric")
    if n_clusters is not None and not 2 <= n_clusters <= min(50, len(frame) - 1):
        raise ToolError(f"n_clusters must be between 2 and {min(50, len(frame) - 1)}.", "bad_k")
    labels, report = fit_kmeans(frame[numeric], n_clusters)
    summary = write_parquet(frame.assign(cluster=labels), out_path)
    return {"columns_used": numeric, "summary": summary, **report}
