"""cluster, choose_k and find_anomalies on real data, checked against scikit-learn run here."""

import json

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.datasets import load_iris, load_wine, make_blobs
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_science.tools.cluster import choose_k, cluster, find_anomalies
from tests.conftest import Refusal, add_dataset, call, load_table

PNG = b"\x89PNG"


def scaled(frame: pd.DataFrame) -> np.ndarray:
    pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return np.asarray(pipeline.fit_transform(frame.astype(float)))


def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame.drop(columns="target")


async def chart_bytes(tool_context: ToolContext, result: dict) -> bytes:
    part = await tool_context.load_artifact(result["chart"])
    assert part is not None and part.inline_data is not None
    data = part.inline_data.data
    assert data is not None
    return data


async def test_kmeans_silhouette_pca_and_chart_match_sklearn(tool_context: ToolContext) -> None:
    frame = iris()
    dataset_id = add_dataset(tool_context, frame, "iris.csv")
    result = await call(cluster, tool_context, dataset_id=dataset_id, n_clusters=3)
    json.dumps(result, allow_nan=False)
    data = scaled(frame)
    labels = KMeans(n_clusters=3, n_init=10, random_state=42).fit_predict(data)
    assert result["silhouette"] == pytest.approx(silhouette_score(data, labels), abs=1e-9)
    assert sorted(result["sizes"].values()) == sorted(np.bincount(labels).tolist())
    assert result["method"] == "kmeans" and result["k_chosen_by"] == "given"
    ratios = PCA(n_components=2).fit(data).explained_variance_ratio_
    assert result["pca_explained_variance"] == [round(float(r), 4) for r in ratios]
    assert len(result["profiles"]) == 3 and set(result["profile_columns"]) == set(frame.columns)
    assert (await chart_bytes(tool_context, result)).startswith(PNG)
    labelled = load_table(tool_context, result["dataset_id"])
    assert (labelled["cluster"].to_numpy() == labels).all()


@pytest.mark.parametrize("linkage", ["ward", "average"])
async def test_agglomerative_sizes_match_sklearn_on_wine(
    tool_context: ToolContext, linkage: str
) -> None:
    frame = load_wine(as_frame=True).frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "wine.csv")
    data = scaled(frame)
    result = await call(
        cluster,
        tool_context,
        dataset_id=dataset_id,
        method="agglomerative",
        linkage=linkage,
        n_clusters=3,
    )
    expected = AgglomerativeClustering(n_clusters=3, linkage=linkage).fit_predict(data)
    assert result["sizes"] == {str(k): int(v) for k, v in enumerate(np.bincount(expected))}
    assert result["silhouette"] == pytest.approx(silhouette_score(data, expected), abs=1e-9)
    assert len(result["profile_columns"]) == 10  # wine has 13 columns; the top 10 shown


async def test_chosen_k_is_the_best_silhouette(tool_context: ToolContext) -> None:
    dataset_id = add_dataset(tool_context, iris(), "iris.csv")
    result = await call(cluster, tool_context, dataset_id=dataset_id, method="agglomerative")
    scores = result["silhouette_by_k"]
    assert set(scores) == {str(k) for k in range(2, 9)}
    assert result["n_clusters"] == int(max(scores, key=scores.get))
    assert "silhouette" in result["k_chosen_by"]


async def test_dbscan_noise_count_and_default_eps(tool_context: ToolContext, penguins) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    numeric = penguins.select_dtypes("number").columns.tolist()
    data = scaled(penguins[numeric])
    given = await call(cluster, tool_context, dataset_id=dataset_id, method="dbscan", eps=0.8)
    labels = DBSCAN(eps=0.8, min_samples=5).fit_predict(data)
    assert given["noise_points"] == int((labels == -1).sum()) > 0
    assert given["sizes"]["-1"] == given["noise_points"]
    assert given["n_clusters"] == len(set(labels) - {-1})
    assert sum(given["sizes"].values()) == len(penguins)
    distances, _ = NearestNeighbors(n_neighbors=5).fit(data).kneighbors(data)
    eps = float(np.percentile(distances[:, -1], 90))
    chosen = await call(cluster, tool_context, dataset_id=dataset_id, method="dbscan")
    assert chosen["eps"] == round(eps, 6) and "k-distance" in chosen["eps_chosen_by"]
    expected = DBSCAN(eps=eps, min_samples=5).fit_predict(data)
    assert chosen["noise_points"] == int((expected == -1).sum())
    labelled = load_table(tool_context, chosen["dataset_id"])
    assert (labelled["cluster"].to_numpy() == expected).all()


async def test_gaussian_mixture_uses_bic(tool_context: ToolContext) -> None:
    blobs, _ = make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=0)
    frame = pd.DataFrame(blobs, columns=["a", "b"])
    dataset_id = add_dataset(tool_context, frame, "blobs.csv")
    result = await call(cluster, tool_context, dataset_id=dataset_id, method="gaussian_mixture")
    data = scaled(frame)
    bics = {
        k: GaussianMixture(n_components=k, n_init=3, random_state=42).fit(data).bic(data)
        for k in range(2, 9)
    }
    assert result["n_clusters"] == min(bics, key=bics.__getitem__) == 3
    assert "BIC" in result["k_chosen_by"] and set(result["bic_by_k"]) == {str(k) for k in bics}


async def test_choose_k_suggests_three_blobs(tool_context: ToolContext) -> None:
    blobs, _ = make_blobs(n_samples=400, centers=3, n_features=4, random_state=7)
    frame = pd.DataFrame(blobs, columns=["a", "b", "c", "d"])
    dataset_id = add_dataset(tool_context, frame, "blobs.csv")
    result = await call(choose_k, tool_context, dataset_id=dataset_id, max_k=8)
    assert result["suggested_k"] == 3 and result["elbow_k"] == 3
    assert [row["k"] for row in result["table"]] == list(range(2, 9))
    data = scaled(frame)
    model = KMeans(n_clusters=4, n_init=10, random_state=42).fit(data)
    row = result["table"][2]
    assert row["inertia"] == round(float(model.inertia_), 4)
    assert row["silhouette"] == pytest.approx(silhouette_score(data, model.labels_), abs=1e-9)
    assert (await chart_bytes(tool_context, result)).startswith(PNG)


async def test_find_anomalies_matches_isolation_forest(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(find_anomalies, tool_context, dataset_id=dataset_id)
    json.dumps(result, allow_nan=False)
    numeric = penguins.select_dtypes("number").columns.tolist()
    data = SimpleImputer(strategy="median").fit_transform(penguins[numeric].astype(float))
    forest = IsolationForest(contamination=0.05, random_state=42)
    flagged = forest.fit_predict(data) == -1
    assert result["anomalies"] == int(flagged.sum())
    top = result["most_anomalous"]
    assert len(top) == 10 and top[0]["row"] == int(np.argmin(forest.decision_function(data)))
    assert set(top[0]) == {"row", "anomaly_score", *numeric}
    labelled = load_table(tool_context, result["dataset_id"])
    assert labelled["anomaly"].dtype == bool and int(labelled["anomaly"].sum()) == int(
        flagged.sum()
    )
    assert (labelled.loc[labelled["anomaly"], "anomaly_score"] > 0).all()


TEXT_ONLY = pd.DataFrame({"name": ["a", "b", "c", "d"]})
IRIS = iris()


@pytest.mark.parametrize(
    ("frame", "case"),
    [
        *(
            pytest.param(
                TEXT_ONLY,
                Refusal(tool, {}, "no_numeric"),
                id=f"{tool.__name__}-of-text-only-columns",
            )
            for tool in (cluster, choose_k, find_anomalies)
        ),
        pytest.param(
            IRIS, Refusal(cluster, {"n_clusters": 1}, "bad_k", ["between 2"]), id="one-cluster"
        ),
        pytest.param(
            IRIS, Refusal(choose_k, {"max_k": 99}, "bad_k"), id="choose-k-beyond-the-limit"
        ),
        pytest.param(
            IRIS,
            Refusal(cluster, {"method": "spectral"}, "bad_method", ["dbscan"]),
            id="unknown-method",
        ),
        pytest.param(
            IRIS,
            Refusal(
                cluster, {"columns": ["petal lenght"]}, "unknown_column", ["petal length (cm)"]
            ),
            id="misspelt-column-suggests-the-right-one",
        ),
        pytest.param(
            IRIS,
            Refusal(find_anomalies, {"contamination": 0.9}, "bad_contamination"),
            id="anomaly-share-too-large",
        ),
        pytest.param(
            IRIS, Refusal(cluster, {"method": "dbscan", "eps": -1}, "bad_eps"), id="negative-eps"
        ),
    ],
)
async def test_wrong_arguments_give_helpful_errors(
    tool_context: ToolContext, frame: pd.DataFrame, case: Refusal
) -> None:
    await case.check(tool_context, dataset_id=add_dataset(tool_context, frame, "data.csv"))
