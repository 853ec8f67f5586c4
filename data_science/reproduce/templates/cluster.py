"""Code templates for the tools of `data_science.tools.cluster`: clustering, choosing k and
flagging anomalies, with the seeds, ranges and scaling of `ml.clustering`."""

from __future__ import annotations

from data_science.ml.clustering import (
    CHOOSE_K_SAMPLE,
    EPS_PERCENTILE,
    GMM_INIT,
    K_RANGE,
    KMEANS_INIT,
    SILHOUETTE_SAMPLE,
    TOP_ANOMALIES,
)
from data_science.ml.common import SEED
from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates.heldout import Cell

SCALED = (
    "prepared = make_pipeline(SimpleImputer(strategy='median'), StandardScaler())"
    ".fit_transform({frame}[columns].astype(float))"
)


def _scaled(cell: Cell, step: Step, names: Names) -> str:
    """The columns the tool used, median-filled and standardised; the frame's variable."""
    frame = names.frame(str(step.args["dataset_id"]))
    cell.need(
        "import numpy as np",
        "import pandas as pd",
        "from sklearn.impute import SimpleImputer",
        "from sklearn.metrics import silhouette_score",
        "from sklearn.pipeline import make_pipeline",
        "from sklearn.preprocessing import StandardScaler",
    )
    cell.add(
        f"columns = {literal(list(step.result['columns_used']))}",
        SCALED.format(frame=frame),
        "",
        "",
        "def silhouette(points, labels):",
        f'    """Silhouette score (on a seeded sample of {SILHOUETTE_SAMPLE:,} rows for big '
        "data); None",
        '    below 2 clusters."""',
        "    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):",
        "        return None",
        f"    sample = min({SILHOUETTE_SAMPLE}, len(labels))",
        f"    return silhouette_score(points, labels, sample_size=sample, random_state={SEED})",
        "",
        "",
    )
    return frame


def _labels_for_k(cell: Cell, method: str, linkage: str) -> str:
    """An expression fitting `method` with `k` clusters on `prepared`, giving the labels."""
    if method == "kmeans":
        cell.need("from sklearn.cluster import KMeans")
        return (
            f"KMeans(n_clusters=k, n_init={KMEANS_INIT}, random_state={SEED}).fit_predict(prepared)"
        )
    if method == "agglomerative":
        cell.need("from sklearn.cluster import AgglomerativeClustering")
        return (
            f"AgglomerativeClustering(n_clusters=k, linkage={literal(linkage)})"
            ".fit_predict(prepared)"
        )
    cell.need("from sklearn.mixture import GaussianMixture")
    return (
        f"GaussianMixture(n_components=k, n_init={GMM_INIT}, random_state={SEED})"
        ".fit(prepared).predict(prepared)"
    )


@code_for("cluster")
def cluster_code(step: Step, names: Names) -> str:
    """The clustering `ml.clustering.fit_clusters` made, its choice of k, and the new table."""
    cell = Cell()
    frame = _scaled(cell, step, names)
    result, args = step.result, step.args
    method = str(result["method"])
    if method == "dbscan":
        _dbscan(cell, step)
    elif args.get("n_clusters"):
        cell.add(
            f"k = {literal(int(args['n_clusters']))}",
            f"labels = {_labels_for_k(cell, method, str(args.get('linkage', 'ward')))}",
        )
    elif method == "gaussian_mixture":
        cell.need("from sklearn.mixture import GaussianMixture")
        cell.add(
            "# k of 2..8 with the lowest BIC.",
            "fits = {}",
            f"for k in [k for k in range({K_RANGE.start}, {K_RANGE.stop}) if k < len(prepared)]:",
            f"    mixture = GaussianMixture(n_components=k, n_init={GMM_INIT}, "
            f"random_state={SEED}).fit(prepared)",
            "    fits[k] = (mixture.bic(prepared), mixture.predict(prepared))",
            "    print(f'BIC k={k}: {fits[k][0]:.3f}')",
            "k = min(fits, key=lambda candidate: fits[candidate][0])",
            "labels = fits[k][1]",
        )
    else:
        labels = _labels_for_k(cell, method, str(args.get("linkage", "ward")))
        cell.add(
            "# k of 2..8 with the best silhouette.",
            "scored = {}",
            f"for k in [k for k in range({K_RANGE.start}, {K_RANGE.stop}) if k < len(prepared)]:",
            f"    found = {labels}",
            "    scored[k] = (silhouette(prepared, found), found)",
            "    print(f'silhouette k={k}: {scored[k][0]:.4f}')",
            "k = max(scored, key=lambda candidate: scored[candidate][0] or -1.0)",
            "labels = scored[k][1]",
        )
    made = names.new_frame(str(result["dataset_id"]))
    cell.add(
        f"{made} = {frame}.assign(cluster=labels)",
        "clustered = labels != -1  # DBSCAN's noise is -1; the silhouette leaves it out",
        "print(f'n_clusters: {len(np.unique(labels[clustered]))}')",
        "score = silhouette(prepared[clustered], labels[clustered])",
        "print(f'silhouette: {score:.4f}' if score is not None else 'silhouette: none')",
        "sizes = pd.Series(labels).value_counts()",
        "print('sizes:', {int(c): int(sizes[c]) for c in sorted(sizes.index)})",
    )
    return cell.render()


def _dbscan(cell: Cell, step: Step) -> None:
    """DBSCAN at the given eps, else at the 90th percentile of the k-distance curve."""
    cell.need("from sklearn.cluster import DBSCAN")
    min_samples = literal(int(step.args.get("min_samples", 5)))
    eps = step.args.get("eps")
    if eps is None:
        cell.need("from sklearn.neighbors import NearestNeighbors")
        cell.add(
            "# eps: the distance at which most points have min_samples neighbours (themselves "
            "counted).",
            f"distances, _ = NearestNeighbors(n_neighbors={min_samples}).fit(prepared)"
            ".kneighbors(prepared)",
            f"eps = float(np.percentile(distances[:, -1], {EPS_PERCENTILE}))",
        )
    else:
        cell.add(f"eps = {literal(float(eps))}")
    cell.add(
        f"labels = DBSCAN(eps=eps, min_samples={min_samples}).fit_predict(prepared)",
        "print('eps:', round(eps, 6))",
        "print(f'noise_points: {(labels == -1).sum()}')",
    )


KNEEDLE = """\
def elbow_k(ks, inertias):
    \"\"\"The k farthest below the straight line from the first to the last inertia.\"\"\"
    if len(ks) < 3:
        return ks[0]
    x = (np.asarray(ks) - ks[0]) / (ks[-1] - ks[0])
    span = inertias[0] - inertias[-1]
    y = (np.asarray(inertias) - inertias[-1]) / span if span > 0 else np.zeros(len(ks))
    return int(ks[int(np.argmax((1 - x) - y))])

"""


@code_for("choose_k")
def choose_k_code(step: Step, names: Names) -> str:
    """k-means inertia and silhouette for each k, the best-silhouette k and the elbow k."""
    cell = Cell()
    _scaled(cell, step, names)
    cell.need("from sklearn.cluster import KMeans")
    if any("random sample" in str(note) for note in step.result.get("notes") or []):
        cell.add(
            f"chosen = np.random.default_rng({SEED}).choice(len(prepared), {CHOOSE_K_SAMPLE}, "
            "replace=False)",
            "prepared = prepared[chosen]",
        )
    max_k = literal(int(step.args.get("max_k", 10)))
    cell.add(
        KNEEDLE,
        f"ks = list(range(2, {max_k} + 1))",
        "inertias, scores = [], []",
        "for k in ks:",
        f"    fitted = KMeans(n_clusters=k, n_init={KMEANS_INIT}, random_state={SEED})"
        ".fit(prepared)",
        "    inertias.append(round(float(fitted.inertia_), 4))",
        "    scores.append(silhouette(prepared, fitted.labels_))",
        "    print(f'inertia k={k}: {inertias[-1]:.4f}')",
        "    print(f'silhouette k={k}: {scores[-1]:.4f}')",
        "best = int(np.argmax([score if score is not None else -1.0 for score in scores]))",
        "print(f'suggested_k: {ks[best]}')",
        "print(f'elbow_k: {elbow_k(ks, inertias)}')",
    )
    return cell.render()


@code_for("find_anomalies")
def find_anomalies_code(step: Step, names: Names) -> str:
    """An isolation forest on the median-filled columns; the flagged rows and their scores."""
    frame = names.frame(str(step.args["dataset_id"]))
    result = step.result
    made = names.new_frame(str(result["dataset_id"]))
    cell = Cell()
    cell.need(
        "import numpy as np",
        "from sklearn.ensemble import IsolationForest",
        "from sklearn.impute import SimpleImputer",
    )
    cell.add(
        f"columns = {literal(list(result['columns_used']))}",
        f"forest = IsolationForest(contamination={literal(float(result['contamination']))}, "
        f"random_state={SEED})",
        f"data = SimpleImputer(strategy='median').fit_transform({frame}[columns].astype(float))",
        "flagged = forest.fit_predict(data) == -1",
        "scores = -forest.decision_function(data)  # higher is more unusual; above 0 is flagged",
        f"{made} = {frame}.assign(anomaly=flagged, anomaly_score=scores)",
        "print(f'anomalies: {flagged.sum()}')",
        f"for row in np.argsort(-scores, kind='stable')[:{TOP_ANOMALIES}]:",
        "    print(f'row {row} anomaly_score: {scores[row]:.4f}')",
    )
    return cell.render()
