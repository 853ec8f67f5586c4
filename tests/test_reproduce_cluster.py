"""The code of `cluster`, `choose_k` and `find_anomalies`, run: the same scaling, seeds and
choice of k, so the same clusters, scores and flagged rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools import choose_k, cluster, find_anomalies
from tests.reproduce_checks import Replay, assert_printed, expected_metrics

COLUMNS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"columns": COLUMNS}, id="kmeans-chooses-k"),
        pytest.param(
            {"method": "agglomerative", "n_clusters": 3, "linkage": "average"}, id="agglomerative"
        ),
        pytest.param({"method": "gaussian_mixture", "columns": COLUMNS[:2]}, id="mixture-bic"),
        pytest.param({"method": "dbscan", "columns": COLUMNS, "min_samples": 6}, id="dbscan-eps"),
        pytest.param({"method": "dbscan", "columns": COLUMNS[2:], "eps": 0.4}, id="dbscan-given"),
    ],
)
async def test_cluster_code_finds_the_same_clusters(
    chat: Replay, penguins: pd.DataFrame, options: dict[str, Any]
) -> None:
    half = penguins.iloc[::2].reset_index(drop=True)  # quicker; the choices stay the same kind
    dataset_id = chat.upload(half, "penguins.csv")
    result, _ = await chat.step(cluster, dataset_id=dataset_id, **options)

    namespace, output = chat.run()

    expected = {"n_clusters": str(result["n_clusters"])}
    if result["silhouette"] is not None:
        expected["silhouette"] = f"{result['silhouette']:.4f}"
    for k, score in (result.get("silhouette_by_k") or {}).items():
        expected |= expected_metrics("silhouette", {f"k={k}": score})
    for k, bic in (result.get("bic_by_k") or {}).items():
        expected[f"BIC k={k}"] = f"{bic:.3f}"
    if options.get("method") == "dbscan":
        expected |= {"eps": str(result["eps"]), "noise_points": str(result["noise_points"])}
    assert_printed(output, expected)
    sizes = {int(k): v for k, v in result["sizes"].items()}
    assert f"sizes: {sizes}" in output
    assert namespace["df_2"]["cluster"].value_counts().to_dict() == sizes


async def test_choose_k_code_prints_the_elbow_table_and_both_ks(
    chat: Replay, penguins: pd.DataFrame
) -> None:
    dataset_id = chat.upload(penguins, "penguins.csv")
    result, _ = await chat.step(choose_k, dataset_id=dataset_id, max_k=5)

    _, output = chat.run()

    expected = {
        "suggested_k": str(result["suggested_k"]),
        "elbow_k": str(result["elbow_k"]),
    }
    for row in result["table"]:
        expected[f"inertia k={row['k']}"] = f"{row['inertia']:.4f}"
        expected[f"silhouette k={row['k']}"] = f"{row['silhouette']:.4f}"
    assert_printed(output, expected)


async def test_find_anomalies_code_flags_the_same_rows(
    chat: Replay, penguins: pd.DataFrame
) -> None:
    dataset_id = chat.upload(penguins, "penguins.csv")
    result, _ = await chat.step(
        find_anomalies, dataset_id=dataset_id, columns=COLUMNS, contamination=0.03
    )

    namespace, output = chat.run()

    expected = {"anomalies": str(result["anomalies"])}
    for row in result["most_anomalous"]:
        expected[f"row {row['row']} anomaly_score"] = f"{row['anomaly_score']:.4f}"
    assert_printed(output, expected)
    assert int(namespace["df_2"]["anomaly"].sum()) == result["anomalies"]
