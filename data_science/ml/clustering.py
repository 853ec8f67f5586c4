"""Clustering, choosing k and anomaly detection. Pure functions with no ADK import (worker-safe).

Every method works on the table's numeric columns with gaps filled by the column median and
(except the isolation forest, which is scale-free) standardised to mean 0 and unit variance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_science.errors import ToolError
from data_science.ml.arguments import LINKAGES, METHODS
from data_science.ml.charts.canvas import figure_png
from data_science.ml.common import SEED, is_numeric
from data_science.storage.tables import TableFile, write_parquet

K_RANGE = range(2, 9)
MAX_K = 50
SILHOUETTE_SAMPLE = 5_000
KMEANS_INIT = 10
GMM_INIT = 3
EPS_PERCENTILE = 90  # default DBSCAN eps: this percentile of the k-distance curve
MAX_AGGLOMERATIVE_ROWS = 20_000  # memory grows with rows²
MAX_DBSCAN_ROWS = 200_000
CHOOSE_K_SAMPLE = 50_000
MAX_CHOOSE_K = 20
MAX_POINTS = 20_000  # points drawn in a scatter
MAX_PROFILE_COLUMNS = 10
MAX_LISTED = 50
MAX_ANOMALY_COLUMNS = 10
TOP_ANOMALIES = 10
GENERATED = ("cluster", "anomaly", "anomaly_score")  # columns our own tools add


# Shared preparation ------------------------------------------------------------------------------
def numeric_features(frame: pd.DataFrame, columns: list[str] | None) -> tuple[list[str], list[str]]:
    """The usable numeric columns among `columns` (default: all but ones our tools add), and
    the requested columns that had to be skipped (not numeric, or empty)."""
    chosen = columns or [c for c in frame.columns if c not in GENERATED]
    usable, skipped = [], []
    for column in chosen:
        series = frame[column]
        if is_numeric(series) and series.notna().any():
            usable.append(column)
        else:
            skipped.append(column)
    if not usable:
        where = f"among {', '.join(chosen)}" if columns else "in this dataset"
        raise ToolError(
            f"This needs numeric columns with values, and none were found {where}. Pass numeric "
            "`columns`, or convert text columns first (cast_column, encode_columns).",
            "no_numeric",
        )
    return usable, (skipped if columns else [])


def impute(features: pd.DataFrame) -> np.ndarray:
    """Gaps filled with the column median, as floats."""
    return np.asarray(SimpleImputer(strategy="median").fit_transform(features.astype(float)))


def scale(features: pd.DataFrame) -> np.ndarray:
    """Median-imputed and standardised: the data every clustering method sees."""
    pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return np.asarray(pipeline.fit_transform(features.astype(float)))


def silhouette(prepared: np.ndarray, labels: np.ndarray) -> float | None:
    """Silhouette score (on a seeded 5,000-row sample for big data); None below 2 clusters."""
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return None
    sample = min(SILHOUETTE_SAMPLE, len(labels))
    return float(silhouette_score(prepared, labels, sample_size=sample, random_state=SEED))


def k_distance_eps(prepared: np.ndarray, min_samples: int) -> float:
    """The EPS_PERCENTILE-th percentile of each point's distance to its min_samples-th nearest
    neighbour (the point itself counted, as DBSCAN counts it): at that eps about 90 % of the
    points are core points."""
    neighbours = NearestNeighbors(n_neighbors=min_samples).fit(prepared)
    distances, _ = neighbours.kneighbors(prepared)
    return float(np.percentile(distances[:, -1], EPS_PERCENTILE))


def _fit_labels(method: str, prepared: np.ndarray, k: int, linkage: str) -> np.ndarray:
    if method == "kmeans":
        model = KMeans(n_clusters=k, n_init=KMEANS_INIT, random_state=SEED)
        return np.asarray(model.fit_predict(prepared))
    if method == "agglomerative":
        return np.asarray(
            AgglomerativeClustering(n_clusters=k, linkage=linkage).fit_predict(prepared)
        )
    gmm = GaussianMixture(n_components=k, n_init=GMM_INIT, random_state=SEED)
    return np.asarray(gmm.fit(prepared).predict(prepared))


def _gmm_bic(prepared: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    gmm = GaussianMixture(n_components=k, n_init=GMM_INIT, random_state=SEED).fit(prepared)
    return float(gmm.bic(prepared)), np.asarray(gmm.predict(prepared))


# cluster -----------------------------------------------------------------------------------------
def fit_clusters(
    features: pd.DataFrame,
    method: str = "kmeans",
    n_clusters: int | None = None,
    linkage: str = "ward",
    eps: float | None = None,
    min_samples: int = 5,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Labels, the scaled data and the report for one clustering of `features`."""
    prepared = scale(features)
    if method == "dbscan":
        labels, report = _fit_dbscan(prepared, eps, min_samples)
    else:
        labels, report = _fit_with_k(prepared, method, n_clusters, linkage)
    return labels, prepared, {"method": method, **report}


def _fit_dbscan(
    prepared: np.ndarray, eps: float | None, min_samples: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """DBSCAN at the given eps, else at the k-distance percentile; noise is cluster -1."""
    rows = len(prepared)
    if rows > MAX_DBSCAN_ROWS:
        raise ToolError(
            f"DBSCAN is limited to {MAX_DBSCAN_ROWS:,} rows and this table has {rows:,}. "
            "Use method='kmeans' or 'gaussian_mixture', or sample the rows first.",
            "too_many_rows",
        )
    if not 2 <= min_samples <= max(2, rows - 1):
        raise ToolError(
            f"min_samples must be between 2 and {max(2, rows - 1)} (the default is 5).",
            "bad_min_samples",
        )
    chosen_by = "given" if eps is not None else f"k-distance {EPS_PERCENTILE}th percentile"
    eps = eps if eps is not None else k_distance_eps(prepared, min_samples)
    if not eps > 0:
        raise ToolError(
            "eps must be a positive distance (in standard deviations); leave it empty to "
            "choose it from the data.",
            "bad_eps",
        )
    labels = np.asarray(DBSCAN(eps=eps, min_samples=min_samples).fit_predict(prepared))
    clustered = labels != -1
    report: dict[str, Any] = {
        "eps": round(eps, 6),
        "eps_chosen_by": chosen_by,
        "min_samples": min_samples,
        "n_clusters": len(np.unique(labels[clustered])),
        "noise_points": int((~clustered).sum()),
        "silhouette": silhouette(prepared[clustered], labels[clustered]),
        "silhouette_note": "computed on the clustered points (noise, cluster -1, left out)",
    }
    if report["n_clusters"] < 2:
        report["note"] = (
            f"DBSCAN found {report['n_clusters']} cluster(s) at eps={eps:.3g}. Try a "
            f"{'smaller' if report['n_clusters'] == 1 else 'larger'} eps or a different "
            "min_samples."
        )
    return labels, report


def _fit_with_k(
    prepared: np.ndarray, method: str, n_clusters: int | None, linkage: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """k-means, agglomerative or a Gaussian mixture with the given k, else with the k of
    2..8 that scores best (silhouette; lowest BIC for a mixture)."""
    rows = len(prepared)
    report: dict[str, Any] = {}
    if method == "agglomerative":
        _check_agglomerative(linkage, rows)
        report["linkage"] = linkage
    limit = min(MAX_K, rows - 1)
    if n_clusters is not None and not 2 <= n_clusters <= limit:
        raise ToolError(
            f"n_clusters must be between 2 and {limit}, or empty to choose it.", "bad_k"
        )
    candidates = [n_clusters] if n_clusters else [k for k in K_RANGE if k < rows]
    if not candidates:
        raise ToolError("Clustering needs at least 3 rows.", "too_few_rows")
    if method == "gaussian_mixture" and n_clusters is None:
        fits = {k: _gmm_bic(prepared, k) for k in candidates}
        k = min(fits, key=lambda candidate: fits[candidate][0])
        labels = fits[k][1]
        report.update(
            n_clusters=k,
            k_chosen_by="lowest BIC over k=2..8",
            bic_by_k={candidate: round(fit[0], 3) for candidate, fit in fits.items()},
            silhouette=silhouette(prepared, labels),
        )
        return labels, report
    scored = {}
    for k in candidates:
        labels = _fit_labels(method, prepared, k, linkage)
        scored[k] = (silhouette(prepared, labels), labels)
    k = max(scored, key=lambda candidate: scored[candidate][0] or -1.0)
    score, labels = scored[k]
    report.update(
        n_clusters=k,
        k_chosen_by="given" if n_clusters else "best silhouette over k=2..8",
        silhouette=score,
        silhouette_by_k=None if n_clusters else {c: fit[0] for c, fit in scored.items()},
    )
    return labels, report


def _check_agglomerative(linkage: str, rows: int) -> None:
    """A known linkage, and few enough rows for a memory that grows with rows²."""
    if linkage not in LINKAGES:
        raise ToolError(
            f"Unknown linkage '{linkage}'. Use one of: {', '.join(LINKAGES)}.",
            "unknown_linkage",
        )
    if rows > MAX_AGGLOMERATIVE_ROWS:
        raise ToolError(
            f"Agglomerative clustering is limited to {MAX_AGGLOMERATIVE_ROWS:,} rows (its "
            f"memory grows with rows²) and this table has {rows:,}. Use method='kmeans' "
            "or 'gaussian_mixture'.",
            "too_many_rows",
        )


def describe_clusters(
    features: pd.DataFrame, prepared: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """Cluster sizes and mean profiles over the columns whose means differ most between
    clusters (spread of the standardised cluster means), for at most 50 clusters."""
    sizes = pd.Series(labels).value_counts()
    listed = sorted(sizes.index[:MAX_LISTED].tolist())
    scaled_means = pd.DataFrame(prepared, columns=features.columns).groupby(labels).mean()
    spread = scaled_means.loc[[c for c in listed if c != -1] or listed].std(ddof=0).fillna(0)
    top = spread.sort_values(ascending=False, kind="stable").index[:MAX_PROFILE_COLUMNS].tolist()
    profile = features[top].assign(cluster=labels).groupby("cluster").mean().round(3)
    result: dict[str, Any] = {
        "sizes": {int(c): int(sizes[c]) for c in listed},
        "profile_columns": top,
        "profiles": profile.loc[listed].reset_index().to_dict(orient="records"),
    }
    if len(sizes) > MAX_LISTED:
        result["sizes_note"] = f"{len(sizes)} clusters; the {MAX_LISTED} largest are listed."
    return result


def pca_scatter(prepared: np.ndarray, labels: np.ndarray, title: str) -> tuple[bytes, list[float]]:
    """A 2-D PCA scatter coloured by cluster (noise grey) and the components' explained
    variance ratios. Big data draws a seeded sample of MAX_POINTS points."""
    components = min(2, prepared.shape[1])
    pca = PCA(n_components=components, random_state=SEED)
    points = pca.fit_transform(prepared)
    if components == 1:
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
    if len(points) > MAX_POINTS:
        chosen = np.random.default_rng(SEED).choice(len(points), MAX_POINTS, replace=False)
        points, labels = points[chosen], labels[chosen]
    figure = Figure(figsize=(8.0, 6.5), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    colours = matplotlib.colormaps["tab10" if len(np.unique(labels)) <= 10 else "tab20"]
    for index, label in enumerate(np.unique(labels)):
        mask = labels == label
        noise = label == -1
        axes.scatter(
            points[mask, 0],
            points[mask, 1],
            s=8 if len(points) > 2_000 else 18,
            alpha=0.6,
            color="#9a9a9a" if noise else colours(index % colours.N),
            label="noise" if noise else f"cluster {label}",
        )
    if len(np.unique(labels)) <= 15:
        axes.legend(loc="best", fontsize="small", markerscale=1.5)
    ratios = [float(r) for r in pca.explained_variance_ratio_]
    axes.set_xlabel(f"PC1 ({ratios[0]:.1%} of variance)")
    axes.set_ylabel(f"PC2 ({ratios[1]:.1%} of variance)" if components == 2 else "")
    axes.set_title(title)
    return figure_png(figure), ratios


def cluster_to_file(
    table: TableFile,
    columns: list[str] | None,
    n_clusters: int | None,
    out_path: Path,
    method: str = "kmeans",
    linkage: str = "ward",
    eps: float | None = None,
    min_samples: int = 5,
) -> dict[str, Any]:
    """Cluster the table's numeric columns (or `columns`) and write it with a `cluster` column.

    The report carries `summary` (of the written table) and `png` (the PCA scatter) for the
    caller to take out.
    """
    if method not in METHODS:
        raise ToolError(
            f"Unknown method '{method}'. Use one of: {', '.join(METHODS)}.", "bad_method"
        )
    frame = table.load()
    numeric, skipped = numeric_features(frame, columns)
    features = frame[numeric]
    labels, prepared, report = fit_clusters(features, method, n_clusters, linkage, eps, min_samples)
    title = f"{method} clusters (k={report['n_clusters']}) on 2 principal components"
    png, ratios = pca_scatter(prepared, labels, title)
    summary = write_parquet(frame.assign(cluster=labels), out_path)
    return {
        "columns_used": numeric,
        **({"columns_skipped": skipped} if skipped else {}),
        **report,
        **describe_clusters(features, prepared, labels),
        "pca_explained_variance": [round(r, 4) for r in ratios],
        "summary": summary,
        "png": png,
    }


# choose_k ----------------------------------------------------------------------------------------
def elbow_k(ks: list[int], inertias: list[float]) -> int:
    """The k farthest below the straight line from the first to the last inertia (kneedle)."""
    if len(ks) < 3:
        return ks[0]
    x = (np.asarray(ks) - ks[0]) / (ks[-1] - ks[0])
    span = inertias[0] - inertias[-1]
    y = (np.asarray(inertias) - inertias[-1]) / span if span > 0 else np.zeros(len(ks))
    gap = (1 - x) - y  # the line runs from (0, 1) to (1, 0)
    return int(ks[int(np.argmax(gap))])


def choose_k_report(table: TableFile, columns: list[str] | None, max_k: int) -> dict[str, Any]:
    """k-means inertia and silhouette for k = 2..max_k, the suggested k, and a chart (`png`)."""
    frame = table.load()
    numeric, skipped = numeric_features(frame, columns)
    prepared = scale(frame[numeric])
    limit = min(MAX_CHOOSE_K, len(prepared) - 1)
    if limit < 3 or not 3 <= max_k <= limit:
        raise ToolError(
            f"max_k must be between 3 and {limit} for this table (default 10)."
            if limit >= 3
            else "Choosing k needs at least 4 rows.",
            "bad_k",
        )
    notes = []
    if len(prepared) > CHOOSE_K_SAMPLE:
        chosen = np.random.default_rng(SEED).choice(len(prepared), CHOOSE_K_SAMPLE, replace=False)
        prepared = prepared[chosen]
        notes.append(f"Fitted on a random sample of {CHOOSE_K_SAMPLE:,} rows.")
    ks = list(range(2, max_k + 1))
    inertias: list[float] = []
    scores: list[float | None] = []
    for k in ks:
        model = KMeans(n_clusters=k, n_init=KMEANS_INIT, random_state=SEED).fit(prepared)
        inertias.append(round(float(model.inertia_), 4))
        scores.append(silhouette(prepared, np.asarray(model.labels_)))
    rows = [
        {"k": k, "inertia": inertia, "silhouette": score}
        for k, inertia, score in zip(ks, inertias, scores, strict=True)
    ]
    best_k = ks[int(np.argmax([score if score is not None else -1.0 for score in scores]))]
    elbow = elbow_k(ks, inertias)
    figure = Figure(figsize=(11.0, 4.5), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2)
    left.plot(ks, inertias, marker="o", color="#4C72B0")
    left.axvline(elbow, color="#999999", linestyle="--", label=f"elbow k={elbow}")
    left.set(title="Elbow: k-means inertia", xlabel="k (clusters)", ylabel="inertia")
    left.legend(loc="best")
    drawn = [score if score is not None else np.nan for score in scores]
    right.plot(ks, drawn, marker="o", color="#DD8452")
    right.axvline(best_k, color="#999999", linestyle="--", label=f"best k={best_k}")
    right.set(title="Silhouette (higher is better)", xlabel="k (clusters)", ylabel="silhouette")
    right.legend(loc="best")
    for axes in (left, right):
        axes.set_xticks(ks)
    return {
        "columns_used": numeric,
        **({"columns_skipped": skipped} if skipped else {}),
        "table": rows,
        "suggested_k": best_k,
        "suggested_by": "best silhouette",
        "elbow_k": elbow,
        **({"notes": notes} if notes else {}),
        "png": figure_png(figure),
    }


# find_anomalies ----------------------------------------------------------------------------------
def anomalies_to_file(
    table: TableFile, columns: list[str] | None, contamination: float, out_path: Path
) -> dict[str, Any]:
    """IsolationForest on the median-imputed numeric columns; writes the table with `anomaly`
    and `anomaly_score` (higher is more unusual; above 0 is flagged) columns."""
    if not 0 < contamination <= 0.5:
        raise ToolError(
            "contamination is the expected share of anomalies: a number above 0 and at most "
            "0.5 (default 0.05).",
            "bad_contamination",
        )
    frame = table.load()
    numeric, skipped = numeric_features(frame, columns)
    if len(frame) < 2:
        raise ToolError("Finding anomalies needs at least 2 rows.", "too_few_rows")
    forest = IsolationForest(contamination=contamination, random_state=SEED)
    data = impute(frame[numeric])
    flagged = forest.fit_predict(data) == -1
    scores = -forest.decision_function(data)
    summary = write_parquet(frame.assign(anomaly=flagged, anomaly_score=scores), out_path)
    shown = numeric[:MAX_ANOMALY_COLUMNS]
    order = np.argsort(-scores, kind="stable")[:TOP_ANOMALIES]
    top = [
        {
            "row": int(i),
            "anomaly_score": round(float(scores[i]), 4),
            **frame.iloc[i][shown].to_dict(),
        }
        for i in order
    ]
    return {
        "columns_used": numeric,
        **({"columns_skipped": skipped} if skipped else {}),
        "contamination": contamination,
        "anomalies": int(flagged.sum()),
        "rows": len(frame),
        "most_anomalous": top,
        **(
            {"note": f"Rows show the first {MAX_ANOMALY_COLUMNS} of {len(numeric)} columns used."}
            if len(numeric) > MAX_ANOMALY_COLUMNS
            else {}
        ),
        "summary": summary,
    }
