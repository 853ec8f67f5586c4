"""The code shown for plot, auto_charts and plot_model draws the same chart with matplotlib and
prints the numbers the tools reported (rows plotted, bars, x points, correlations, shares,
model-chart metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import matplotlib
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.ml.split import held_out_split
from data_science.reproduce.code import Names, Step, step_code
from data_science.tools.base import workspace_for
from data_science.tools.train import train
from data_science.tools.viz import auto_charts, plot, plot_model
from tests.conftest import add_dataset, call, load_table
from tests.reproduce_checks import Replay, run_code, shows

matplotlib.use("Agg")


def chart_numbers(result: dict[str, Any]) -> Iterator[float]:
    for key in ("rows_plotted", "bars", "x_points"):
        if key in result:
            yield result[key]
    for pair in result.get("strongest_pairs", []):
        yield pair["r"]
    yield from result.get("shares", {}).values()


PLOTS: list[tuple[str, dict[str, Any]]] = [
    ("histogram", {"x": "body_mass_g"}),
    ("histogram by colour", {"x": "flipper_length_mm", "color_by": "species"}),
    ("histogram of text", {"x": "island"}),
    (
        "scatter",
        {"kind": "scatter", "x": "bill_length_mm", "y": "bill_depth_mm", "color_by": "species"},
    ),
    ("line", {"kind": "line", "x": "year", "y": ["body_mass_g", "flipper_length_mm"]}),
    ("line by colour", {"kind": "line", "x": "year", "y": "body_mass_g", "color_by": "sex"}),
    ("line of counts", {"kind": "line", "x": "year"}),
    ("area", {"kind": "area", "x": "year", "y": "body_mass_g"}),
    ("bar counts", {"kind": "bar", "x": "species"}),
    ("bar aggregate", {"kind": "bar", "x": "island", "y": "body_mass_g", "agg": "median"}),
    ("box", {"kind": "box", "x": "species", "y": "bill_length_mm"}),
    ("violin", {"kind": "violin", "x": "sex", "y": "body_mass_g"}),
    ("heatmap", {"kind": "heatmap"}),
    ("heatmap of some", {"kind": "heatmap", "y": ["bill_length_mm", "body_mass_g", "year"]}),
    ("pie", {"kind": "pie", "x": "island"}),
    ("pie of totals", {"kind": "pie", "x": "species", "y": "body_mass_g"}),
]


@pytest.mark.parametrize("args", [case[1] for case in PLOTS], ids=[case[0] for case in PLOTS])
async def test_a_chart_is_drawn_from_the_same_numbers(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path, args: dict[str, Any]
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(plot, dataset_id=dataset_id, **args)
    replay.assert_shows(*chart_numbers(result))
    assert Path(result["chart"]).is_file()  # saved under the chart's name (cwd: tmp_path)


async def test_the_overview_charts_are_drawn_in_turn(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(auto_charts, dataset_id=dataset_id)
    assert len(result["charts"]) >= 3
    for chart in result["charts"]:
        replay.assert_shows(*chart_numbers(chart))
        assert Path(chart["chart"]).is_file()


MODEL_CHARTS: list[tuple[str, str, Any]] = [
    (
        "confusion_matrix",
        "species",
        lambda r: [r["accuracy"], *(count for row in r["matrix"] for count in row)],
    ),
    ("roc_curve", "sex", lambda r: [r["roc_auc"]]),
    ("roc_curve", "species", lambda r: [r["roc_auc_macro_ovr"], *r["roc_auc_by_class"].values()]),
    ("residuals", "body_mass_g", lambda r: [r["rmse"], r["mae"], r["r2"], r["mean_residual"]]),
    (
        "feature_importance",
        "body_mass_g",
        lambda r: [v for item in r["importances"] for v in (item["mean"], item["std"])],
    ),
    (
        "feature_importance",
        "island",
        lambda r: [v for item in r["importances"] for v in (item["mean"], item["std"])],
    ),
]


@pytest.mark.parametrize(
    ("kind", "target", "numbers"), MODEL_CHARTS, ids=[f"{c[0]} {c[1]}" for c in MODEL_CHARTS]
)
async def test_a_model_chart_reruns_on_the_model_and_its_test_rows(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    tmp_path: Path,
    kind: str,
    target: str,
    numbers: Any,
) -> None:
    """The model and its test rows are what the `train` cell (code-b's template) leaves as
    `model`, `X_test` and `y_test`; here they are handed over through files."""
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    trained = await call(
        train, tool_context, dataset_id=dataset_id, target=target, model="random_forest"
    )
    folder = tmp_path / "beside"
    folder.mkdir()
    _, model_path = workspace_for(tool_context).model_file(trained["model_id"])
    joblib.dump(joblib.load(model_path), folder / "model.joblib")
    split = held_out_split(load_table(tool_context, dataset_id), target)
    split.x_test.to_parquet(folder / "x_test.parquet")
    split.y_test.to_frame("y").to_parquet(folder / "y_test.parquet")
    setup = (
        "import joblib\n"
        "model = joblib.load(DATA / 'model.joblib')\n"
        "X_test = pd.read_parquet(DATA / 'x_test.parquet')\n"
        "y_test = pd.read_parquet(DATA / 'y_test.parquet')['y']\n"
    )
    result = await call(plot_model, tool_context, model_id=trained["model_id"], kind=kind)
    names = Names({})
    names.new_model(trained["model_id"])
    code = step_code(
        Step("plot_model", {"model_id": trained["model_id"], "kind": kind}, result), names
    )
    _, printed = run_code([setup, code], folder)
    missing = [value for value in numbers(result) if not shows(printed, value)]
    assert not missing, f"not printed: {missing}\n{code}\n{printed}"
    assert shows(printed, result["n_test"])
