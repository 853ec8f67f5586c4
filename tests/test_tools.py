"""Each tool against real data, with its numbers checked by an independent computation."""

import math
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.datasets import load_diabetes, load_iris
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split

from data_science.config import Settings
from data_science.tools import analyze_dataset, cluster, list_data_files, plot, predict, train
from data_science.tools.base import workspace_for
from tests.conftest import Refusal, Tool, add_dataset, call, call_error, load_table, refusal


async def test_list_data_files_shows_datasets_without_paths(
    tool_context: ToolContext, penguins: pd.DataFrame, settings: Settings
) -> None:
    empty = await call(list_data_files, tool_context)
    assert empty["datasets"] == [] and "upload" in empty["note"]
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    listed = await call(list_data_files, tool_context)
    assert listed["datasets"][0]["id"] == dataset_id
    assert listed["datasets"][0]["rows"] == 344
    assert str(settings.DATA_DIR) not in str(listed)


async def test_analyze_dataset_reports_correct_statistics(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(analyze_dataset, tool_context, dataset_id=dataset_id)
    assert (result["rows"], result["columns"]) == (344, 8)
    profiles = {column["name"]: column for column in result["column_profiles"]}
    bill = profiles["bill_length_mm"]
    assert math.isclose(bill["mean"], penguins["bill_length_mm"].mean())
    assert math.isclose(bill["q3"], float(np.nanpercentile(penguins["bill_length_mm"], 75)))
    assert bill["missing"] == int(penguins["bill_length_mm"].isna().sum()) == 2
    assert profiles["sex"]["missing"] == 11
    assert profiles["species"]["top_values"] == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}
    assert len(result["sample_rows"]) == 5


async def test_summary_mode_hides_cell_values(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(analyze_dataset, tool_context, dataset_id=dataset_id)
    assert "sample_rows" not in result
    assert "Adelie" not in str(result)


async def test_an_unknown_dataset_id_lists_the_real_ones(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    await call_error(
        analyze_dataset,
        tool_context,
        "unknown_id",
        says=[dataset_id],
        dataset_id="ds_does_not_exist",
    )


@pytest.mark.parametrize(
    "case",
    [
        refusal(
            "a-wrong-column-name-suggests-the-right-one",
            plot,
            {"x": "body_mass"},
            "unknown_column",
            "Did you mean 'body_mass_g'",
            "flipper_length_mm",
        ),
        refusal(
            "a-scatter-of-a-text-column-explains-what-works",
            plot,
            {"kind": "scatter", "x": "species", "y": "body_mass_g"},
            "wrong_column_type",
            "histogram",
        ),
    ],
)
async def test_a_wrong_chart_request_is_refused_with_the_way_forward(
    tool_context: ToolContext, penguins: pd.DataFrame, case: Refusal
) -> None:
    await case.check(tool_context, dataset_id=add_dataset(tool_context, penguins, "penguins.csv"))


async def test_histogram_and_scatter_are_saved_as_png_artifacts(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    histogram = await call(plot, tool_context, dataset_id=dataset_id, x="body_mass_g")
    scatter = await call(
        plot,
        tool_context,
        dataset_id=dataset_id,
        kind="scatter",
        x="bill_length_mm",
        y="bill_depth_mm",
        color_by="species",
    )
    for result in (histogram, scatter):
        part = await tool_context.load_artifact(result["chart"])
        assert part.inline_data.mime_type == "image/png"
        assert part.inline_data.data.startswith(b"\x89PNG")
    assert scatter["title"] == "bill_depth_mm vs bill_length_mm by species"


async def test_classification_reports_held_out_metrics(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="Species ")
    assert result["task"] == "classification" and result["target"] == "species"
    assert result["n_train"] + result["n_test"] == 344
    assert result["n_test"] == math.ceil(0.2 * 344)
    metrics = result["test_metrics"]
    assert set(metrics) == {"accuracy", "balanced_accuracy", "f1_macro"}
    assert metrics["accuracy"] > 0.9
    assert result["cross_validation"]["folds"] == 5
    assert "species" not in result["features"]


async def test_regression_rmse_matches_an_independent_computation(
    tool_context: ToolContext,
) -> None:
    data = load_diabetes(as_frame=True).frame
    dataset_id = add_dataset(tool_context, data, "diabetes.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="target")
    assert result["task"] == "regression"
    _, model_path = workspace_for(tool_context).model_file(result["model_id"])
    model = joblib.load(model_path)
    features = data.drop(columns="target")
    _, x_test, _, y_test = train_test_split(
        features, data["target"], test_size=0.2, random_state=42
    )
    expected = root_mean_squared_error(y_test, model.predict(x_test[result["features"]]))
    assert math.isclose(result["test_metrics"]["rmse"], expected)
    assert result["n_test"] == len(y_test) == 89
    assert result["test_metrics"]["r2"] > 0.2


async def test_binary_classification_adds_roc_auc_and_drops_row_ids(
    tool_context: ToolContext,
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": range(400), "usage": rng.normal(size=400)})
    frame["churn"] = np.where(frame["usage"] + rng.normal(scale=0.5, size=400) > 0, "yes", "no")
    dataset_id = add_dataset(tool_context, frame, "churn.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="churn")
    assert "roc_auc" in result["test_metrics"] and result["test_metrics"]["roc_auc"] > 0.8
    assert result["dropped_columns"] == {"customer_id": "row identifier"}


async def test_training_on_too_few_rows_is_explained(tool_context: ToolContext) -> None:
    dataset_id = add_dataset(tool_context, pd.DataFrame({"x": [1, 2, 3], "y": [1, 0, 1]}), "tiny")
    await call_error(train, tool_context, "too_few_rows", dataset_id=dataset_id, target="y")


async def test_predict_stores_predictions_as_a_new_dataset(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="species")
    new_rows = add_dataset(tool_context, penguins.drop(columns="species").head(10), "new.csv")
    result = await call(predict, tool_context, model_id=trained["model_id"], dataset_id=new_rows)
    assert result["rows"] == 10
    frame = load_table(tool_context, result["dataset_id"])
    assert set(frame["predicted_species"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (frame["predicted_species"] == penguins["species"].head(10)).mean() >= 0.9


async def test_predict_names_missing_feature_columns(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="species")
    other = add_dataset(tool_context, pd.DataFrame({"island": ["Dream"]}), "other.csv")
    await call_error(
        predict,
        tool_context,
        "missing_features",
        says=["bill_length_mm"],
        model_id=trained["model_id"],
        dataset_id=other,
    )


async def test_kmeans_finds_the_iris_species_structure(tool_context: ToolContext) -> None:
    iris = load_iris(as_frame=True).frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, iris, "iris.csv")
    chosen = await call(cluster, tool_context, dataset_id=dataset_id)
    assert chosen["n_clusters"] in (2, 3)
    scores = chosen["silhouette_by_k"]
    assert chosen["n_clusters"] == int(max(scores, key=scores.get))
    fixed = await call(cluster, tool_context, dataset_id=dataset_id, n_clusters=3)
    assert sum(fixed["sizes"].values()) == 150 and len(fixed["sizes"]) == 3
    labelled = load_table(tool_context, fixed["dataset_id"])
    assert labelled["cluster"].nunique() == 3


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        pytest.param(analyze_dataset, {}, id="analyze_dataset"),
        pytest.param(train, {"target": "body_mass_g"}, id="train"),
    ],
)
async def test_tool_results_are_plain_json(
    tool_context: ToolContext, penguins: pd.DataFrame, tool: Tool, arguments: dict[str, Any]
) -> None:
    import json

    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(tool, tool_context, dataset_id=dataset_id, **arguments)
    json.dumps(result, allow_nan=False)


def test_tool_docstrings_are_written_for_the_model() -> None:
    for function in (list_data_files, analyze_dataset, plot, train, predict, cluster):
        assert function.__doc__ and len(function.__doc__) > 80, function.__name__


def test_no_tool_accepts_a_path(tmp_path: Path) -> None:
    import inspect

    for function in (list_data_files, analyze_dataset, plot, train, predict, cluster):
        assert not any("path" in name for name in inspect.signature(function).parameters)
