"""Charts: every kind renders a real PNG, wrong arguments are explained, model charts agree with
scikit-learn computed independently on the same held-out rows."""

import inspect
import io
import math
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from PIL import Image
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression
from sklearn.metrics import confusion_matrix, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from data_science.ml.charts.canvas import short_label
from data_science.tools.base import workspace_for
from data_science.tools.train import train
from data_science.tools.viz import auto_charts, plot, plot_model
from tests.conftest import Refusal, add_dataset, call, call_error, refusal

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def assert_png_artifact(tool_context: ToolContext, result: dict[str, Any]) -> None:
    """The result (or one chart of it) names a saved PNG that Pillow opens, at a sensible size."""
    assert result.get("status", "ok") == "ok", result
    assert result["title"]
    part = await tool_context.load_artifact(result["chart"], version=result["version"])
    assert part is not None and part.inline_data is not None
    data = part.inline_data.data
    assert part.inline_data.mime_type == "image/png"
    assert data is not None and data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert 400 <= width <= 2000 and 300 <= height <= 2000


def sales_frame(rows: int = 600) -> pd.DataFrame:
    """Daily sales over two years with dates written as text, as a CSV upload would give them."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2022-01-01", periods=rows, freq="D")
    return pd.DataFrame(
        {
            "day": days.strftime("%Y-%m-%d"),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "revenue": rng.gamma(2.0, 50.0, rows),
            "cost": rng.gamma(2.0, 20.0, rows),
        }
    )


CHART_CASES = [
    pytest.param("penguins", {"kind": "histogram", "x": "body_mass_g"}, id="histogram"),
    pytest.param(
        "penguins",
        {"kind": "histogram", "x": "flipper_length_mm", "color_by": "species"},
        id="histogram-by-group",
    ),
    pytest.param(
        "penguins",
        {"kind": "scatter", "x": "bill_length_mm", "y": "bill_depth_mm", "color_by": "island"},
        id="scatter",
    ),
    pytest.param("sales", {"kind": "line", "x": "day", "y": ["revenue", "cost"]}, id="line"),
    pytest.param(
        "sales", {"kind": "line", "x": "day", "y": "revenue", "color_by": "region"}, id="line-group"
    ),
    pytest.param("penguins", {"kind": "bar", "x": "island"}, id="bar-counts"),
    pytest.param(
        "penguins",
        {"kind": "bar", "x": "species", "y": "body_mass_g", "agg": "median"},
        id="bar-aggregate",
    ),
    pytest.param("penguins", {"kind": "box", "x": "species", "y": "body_mass_g"}, id="box"),
    pytest.param("penguins", {"kind": "heatmap"}, id="heatmap"),
    pytest.param(
        "penguins", {"kind": "violin", "x": "island", "y": "flipper_length_mm"}, id="violin"
    ),
    pytest.param("penguins", {"kind": "pie", "x": "species"}, id="pie"),
    pytest.param("sales", {"kind": "area", "x": "day", "y": ["revenue", "cost"]}, id="area"),
    pytest.param(
        "sales", {"kind": "area", "x": "day", "y": "revenue", "color_by": "region"}, id="area-group"
    ),
]


@pytest.mark.parametrize(("data", "arguments"), CHART_CASES)
async def test_every_chart_kind_saves_a_valid_png(
    tool_context: ToolContext, penguins: pd.DataFrame, data: str, arguments: dict[str, Any]
) -> None:
    frame = penguins if data == "penguins" else sales_frame()
    dataset_id = add_dataset(tool_context, frame, f"{data}.csv")
    result = await call(plot, tool_context, dataset_id=dataset_id, **arguments)
    await assert_png_artifact(tool_context, result)
    assert result["kind"] == arguments["kind"]
    assert 0 < result["rows_plotted"] <= len(frame)


async def test_titles_and_axes_read_as_plain_words(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    bar = await call(
        plot, tool_context, dataset_id=dataset_id, kind="bar", x="species", y="body_mass_g"
    )
    line = await call(
        plot, tool_context, dataset_id=dataset_id, kind="line", x="year", y="body_mass_g"
    )
    assert bar["title"] == "Mean of body_mass_g by species"
    assert line["title"] == "Mean of body_mass_g over year"
    assert line["x_points"] == 3  # 344 rows, three distinct years: aggregated per year


async def test_dates_written_as_text_are_binned_per_period_on_a_line(
    tool_context: ToolContext,
) -> None:
    dataset_id = add_dataset(tool_context, sales_frame(rows=900), "sales.csv")
    result = await call(
        plot, tool_context, dataset_id=dataset_id, kind="line", x="day", y="revenue"
    )
    assert "per week" in result["title"] and result["x_points"] <= 500
    assert any("aggregated per week" in note for note in result["notes"])


async def test_bar_chart_keeps_the_30_most_frequent_categories(tool_context: ToolContext) -> None:
    rng = np.random.default_rng(1)
    shops = [f"shop {index:02d}" for index in range(50)]
    frame = pd.DataFrame(
        {"shop": rng.choice(shops, 5_000, p=np.arange(1, 51) / 1275), "sales": rng.random(5_000)}
    )
    dataset_id = add_dataset(tool_context, frame, "shops.csv")
    result = await call(
        plot, tool_context, dataset_id=dataset_id, kind="bar", x="shop", y="sales", agg="sum"
    )
    await assert_png_artifact(tool_context, result)
    assert result["bars"] == 30 and "(top 30)" in result["title"]
    assert any("30 most frequent of 50" in note for note in result["notes"])


async def test_pie_shows_top_values_and_pools_the_rest_as_other(
    tool_context: ToolContext,
) -> None:
    long_name = "a remarkably long category label that would overflow the chart"
    values = [long_name] * 300 + [f"kind {index}" for index in range(20) for _ in range(10 + index)]
    frame = pd.DataFrame({"kind": values})
    dataset_id = add_dataset(tool_context, frame, "kinds.csv")
    result = await call(plot, tool_context, dataset_id=dataset_id, kind="pie", x="kind")
    await assert_png_artifact(tool_context, result)
    shares = result["shares"]
    counts = frame["kind"].value_counts()  # 21 distinct values: the top 8, then 13 pooled
    assert len(shares) == 9 and "other (13)" in shares
    assert shares["other (13)"] == round(counts.iloc[8:].sum() / len(frame), 4)
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=1e-3)
    assert shares[short_label(long_name)] == round(300 / len(frame), 4)
    assert all(len(label) <= 25 for label in shares)


def test_long_labels_are_cut_with_an_ellipsis() -> None:
    assert short_label("short") == "short"
    cut = short_label("x" * 80)
    assert len(cut) == 25 and cut.endswith("…")
    assert short_label(pd.Timestamp("2024-03-01")) == "2024-03-01"


async def test_heatmap_reports_the_strongest_correlation(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(plot, tool_context, dataset_id=dataset_id, kind="heatmap")
    await assert_png_artifact(tool_context, result)
    strongest = result["strongest_pairs"][0]
    assert set(strongest["columns"]) == {"flipper_length_mm", "body_mass_g"}
    expected = penguins["flipper_length_mm"].corr(penguins["body_mass_g"])
    assert math.isclose(strongest["r"], expected, abs_tol=1e-4)


async def test_a_million_rows_are_charted_from_aggregates_and_samples(
    tool_context: ToolContext,
) -> None:
    rows = 1_000_000
    rng = np.random.default_rng(42)
    frame = pd.DataFrame(
        {
            "store": rng.choice([f"store {index}" for index in range(200)], rows),
            "amount": rng.gamma(2.0, 10.0, rows),
            "items": rng.integers(1, 20, rows),
        }
    )
    dataset_id = add_dataset(tool_context, frame, "big.parquet")
    bar = await call(
        plot, tool_context, dataset_id=dataset_id, kind="bar", x="store", y="amount", agg="sum"
    )
    await assert_png_artifact(tool_context, bar)
    assert bar["rows_plotted"] == rows  # aggregated over every row, not a sample
    scatter = await call(
        plot, tool_context, dataset_id=dataset_id, kind="scatter", x="items", y="amount"
    )
    await assert_png_artifact(tool_context, scatter)
    assert scatter["rows_plotted"] == 20_000
    assert any("sample of 20,000 of 1,000,000" in note for note in scatter["notes"])


async def test_histogram_of_a_text_column_counts_its_categories(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(plot, tool_context, dataset_id=dataset_id, x="species")
    await assert_png_artifact(tool_context, result)
    assert result["rows_plotted"] == 344


TEXT_Y = ["'species' is text", "bill_length_mm", "flipper_length_mm", "body_mass_g"]


@pytest.mark.parametrize(
    "case",
    [
        *(
            refusal(
                f"a-text-y-of-a-{kind}-names-the-numeric-columns",
                plot,
                {"kind": kind, "x": "island", "y": "species"},
                "wrong_column_type",
                *TEXT_Y,
            )
            for kind in ("box", "violin", "line", "area")
        ),
        refusal(
            "a-box-plot-with-x-and-y-swapped-says-how-to-swap-them",
            plot,
            {"kind": "box", "x": "body_mass_g", "y": "species"},
            "wrong_column_type",
            "x='species', y='body_mass_g'",
        ),
        refusal(
            "a-bar-of-a-continuous-number-suggests-a-histogram-or-a-category",
            plot,
            {"kind": "bar", "x": "body_mass_g"},
            "wrong_column_type",
            "histogram",
            "species",
        ),
        refusal(
            "a-chart-without-its-x-column-lists-the-columns",
            plot,
            {"kind": "box"},
            "missing_argument",
            "body_mass_g",
        ),
        refusal(
            "a-scatter-without-its-y-column-says-so",
            plot,
            {"kind": "scatter", "x": "body_mass_g"},
            "missing_argument",
            "`y`",
        ),
        refusal(
            "a-wrong-y-column-name-suggests-the-right-one",
            plot,
            {"kind": "line", "x": "year", "y": ["body_mass_g", "flipper_length"]},
            "unknown_column",
            "Did you mean 'flipper_length_mm'",
        ),
    ],
)
async def test_a_wrong_chart_request_is_refused_with_the_way_forward(
    tool_context: ToolContext, penguins: pd.DataFrame, case: Refusal
) -> None:
    await case.check(tool_context, dataset_id=add_dataset(tool_context, penguins, "penguins.csv"))


async def test_an_argument_a_kind_does_not_use_is_reported_not_silently_dropped(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        plot, tool_context, dataset_id=dataset_id, kind="bar", x="island", color_by="sex"
    )
    await assert_png_artifact(tool_context, result)
    assert any("`color_by` is not used by a bar chart" in note for note in result["notes"])


async def test_auto_charts_picks_a_few_explained_charts(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(auto_charts, tool_context, dataset_id=dataset_id)
    charts = result["charts"]
    assert 3 <= len(charts) <= 5
    for chart in charts:
        await assert_png_artifact(tool_context, chart)
        assert len(chart["why"]) > 20
    assert len({chart["chart"] for chart in charts}) == len(charts)
    by_kind = {chart["kind"]: chart for chart in charts}
    assert {"histogram", "bar", "heatmap", "scatter"} <= set(by_kind)
    assert by_kind["bar"]["columns"] == ["species"]
    # the most correlated pair of penguin measurements, found independently
    corr = penguins.select_dtypes("number").drop(columns="year").corr().abs()
    corr = corr.where(~np.eye(len(corr), dtype=bool), 0.0)
    pair = corr.stack().idxmax()
    assert set(by_kind["scatter"]["columns"][:2]) == set(pair)


async def test_auto_charts_draws_a_line_over_a_date_column(tool_context: ToolContext) -> None:
    dataset_id = add_dataset(tool_context, sales_frame(), "sales.csv")
    result = await call(auto_charts, tool_context, dataset_id=dataset_id)
    kinds = [chart["kind"] for chart in result["charts"]]
    assert "line" in kinds and 3 <= len(kinds) <= 5
    line = next(chart for chart in result["charts"] if chart["kind"] == "line")
    assert line["columns"][0] == "day"


def penguin_split(
    penguins: pd.DataFrame, target: str, features: list[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """The 80/20 split train documents (seed 42, stratified), rebuilt here with sklearn."""
    labelled = penguins[penguins[target].notna()]
    labels = labelled[target].astype(str)
    _, x_test, _, y_test = train_test_split(
        labelled[features], labels, test_size=0.2, random_state=42, stratify=labels
    )
    return x_test, y_test


async def test_confusion_matrix_matches_sklearn_on_the_held_out_rows(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="species")
    result = await call(
        plot_model, tool_context, model_id=trained["model_id"], kind="confusion_matrix"
    )
    await assert_png_artifact(tool_context, result)
    matrix = np.array(result["matrix"])
    assert matrix.sum() == trained["n_test"] == result["n_test"] == 69
    x_test, y_test = penguin_split(penguins, "species", trained["features"])
    _, model_path = workspace_for(tool_context).model_file(trained["model_id"])
    model = joblib.load(model_path)
    expected = confusion_matrix(y_test, model.predict(x_test), labels=result["labels"])
    assert matrix.tolist() == expected.tolist()
    assert math.isclose(result["accuracy"], trained["test_metrics"]["accuracy"])


async def test_binary_roc_auc_equals_sklearn_roc_auc_score(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="sex")
    result = await call(plot_model, tool_context, model_id=trained["model_id"], kind="roc_curve")
    await assert_png_artifact(tool_context, result)
    x_test, y_test = penguin_split(penguins, "sex", trained["features"])
    _, model_path = workspace_for(tool_context).model_file(trained["model_id"])
    model = joblib.load(model_path)
    positive = model.classes_[1]
    expected = roc_auc_score(y_test == positive, model.predict_proba(x_test)[:, 1])
    assert result["positive_class"] == positive == "male"
    assert math.isclose(result["roc_auc"], expected)
    assert math.isclose(result["roc_auc"], trained["test_metrics"]["roc_auc"])


async def test_one_vs_rest_roc_reports_sklearn_macro_auc(tool_context: ToolContext) -> None:
    iris = load_iris(as_frame=True)
    frame = iris.frame.assign(target=iris.target_names[iris.target])
    dataset_id = add_dataset(tool_context, frame, "iris.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="target")
    result = await call(plot_model, tool_context, model_id=trained["model_id"], kind="roc_curve")
    await assert_png_artifact(tool_context, result)
    labels = frame["target"].astype(str)
    _, x_test, _, y_test = train_test_split(
        frame[trained["features"]], labels, test_size=0.2, random_state=42, stratify=labels
    )
    _, model_path = workspace_for(tool_context).model_file(trained["model_id"])
    model = joblib.load(model_path)
    expected = roc_auc_score(y_test, model.predict_proba(x_test), multi_class="ovr")
    assert math.isclose(result["roc_auc_macro_ovr"], expected)
    assert set(result["roc_auc_by_class"]) == {"setosa", "versicolor", "virginica"}


async def test_residuals_and_permutation_importance_of_a_regressor(
    tool_context: ToolContext,
) -> None:
    data = load_diabetes(as_frame=True).frame
    dataset_id = add_dataset(tool_context, data, "diabetes.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="target")
    residuals = await call(plot_model, tool_context, model_id=trained["model_id"], kind="residuals")
    await assert_png_artifact(tool_context, residuals)
    # the same 89 held-out rows train scored on give the same RMSE
    assert residuals["n_test"] == trained["n_test"] == 89
    assert math.isclose(residuals["rmse"], trained["test_metrics"]["rmse"])
    importance = await call(
        plot_model, tool_context, model_id=trained["model_id"], kind="feature_importance"
    )
    await assert_png_artifact(tool_context, importance)
    ranked = [entry["feature"] for entry in importance["importances"]]
    assert len(ranked) == len(trained["features"]) == 10
    assert set(ranked[:3]) & {"bmi", "s5"}
    means = [entry["mean"] for entry in importance["importances"]]
    assert means == sorted(means, reverse=True)


async def test_residuals_are_drawn_on_the_split_the_model_was_trained_with(
    tool_context: ToolContext,
) -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"income": rng.normal(50, 10, 200), "visits": rng.poisson(4, 200)})
    frame["bought"] = (frame["income"] + 5 * frame["visits"] + rng.normal(0, 10, 200) > 70).astype(
        int
    )
    dataset_id = add_dataset(tool_context, frame, "purchases.csv")
    # "linear" models the 0/1 target as a number: the chart rebuilds a regression's test rows
    trained = await call(
        train,
        tool_context,
        dataset_id=dataset_id,
        target="bought",
        model="linear",
        test_size=0.35,
        seed=3,
    )
    residuals = await call(plot_model, tool_context, model_id=trained["model_id"], kind="residuals")
    x_train, x_test, y_train, y_test = train_test_split(
        frame[["income", "visits"]], frame["bought"], test_size=0.35, random_state=3
    )
    predicted = LinearRegression().fit(x_train, y_train).predict(x_test)
    assert residuals["n_test"] == len(y_test) == 70
    assert math.isclose(residuals["rmse"], root_mean_squared_error(y_test, predicted))


async def test_permutation_importance_of_a_classifier_keeps_the_top_20(
    tool_context: ToolContext,
) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(300, 24)), columns=[f"f{index}" for index in range(24)])
    frame["label"] = np.where(frame["f0"] + 0.5 * frame["f1"] > 0, "yes", "no")
    dataset_id = add_dataset(tool_context, frame, "wide.csv")
    trained = await call(
        train, tool_context, dataset_id=dataset_id, target="label", model="logistic"
    )
    result = await call(
        plot_model, tool_context, model_id=trained["model_id"], kind="feature_importance"
    )
    await assert_png_artifact(tool_context, result)
    assert len(result["importances"]) == 20 and result["scoring"] == "accuracy"
    assert result["importances"][0]["feature"] == "f0"
    assert any("20 most important of 24" in note for note in result["notes"])


@pytest.mark.parametrize(
    ("target", "kind", "fitting"),
    [
        ("amount", "roc_curve", "residuals, feature_importance"),
        ("label", "residuals", "confusion_matrix, roc_curve, feature_importance"),
    ],
)
async def test_a_chart_that_does_not_fit_the_model_names_the_kinds_that_do(
    tool_context: ToolContext, target: str, kind: str, fitting: str
) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=100)})
    frame["amount"] = 3 * frame["x"] + rng.normal(size=100)
    frame["label"] = np.where(frame["x"] > 0, "up", "down")
    other_target = "label" if target == "amount" else "amount"
    dataset_id = add_dataset(tool_context, frame.drop(columns=other_target), "d.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target=target, model="ridge")
    await call_error(
        plot_model,
        tool_context,
        "wrong_chart_kind",
        says=[f"Kinds that fit: {fitting}."],
        model_id=trained["model_id"],
        kind=kind,
    )


async def test_an_unknown_model_id_lists_the_real_ones(tool_context: ToolContext) -> None:
    await call_error(
        plot_model, tool_context, "unknown_id", model_id="mdl_0000000000000000", kind="residuals"
    )


def test_chart_tools_are_described_for_the_model_and_take_no_path() -> None:
    for function in (plot, auto_charts, plot_model):
        assert function.__doc__ and len(function.__doc__) > 200, function.__name__
        assert not any("path" in name for name in inspect.signature(function).parameters)
