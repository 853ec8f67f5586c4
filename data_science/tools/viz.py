"""Charts saved as PNG artifacts the chat shows inline: one chart, an overview, model charts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.ml.charts.canvas import (
    AGGREGATES,
    CHART_KINDS,
    MODEL_CHART_KINDS,
    Aggregate,
    Chart,
    ChartKind,
    ChartSpec,
    ModelChartKind,
    check_kind,
)
from data_science.ml.common import SEED
from data_science.ml.split import TEST_SIZE, SplitOptions
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import for_models
from data_science.storage.workspace import UnknownItem
from data_science.tools.base import (
    ToolError,
    column_names,
    open_table,
    resolve_column,
    run_blocking,
    settings_for,
    tool,
    workspace_for,
)

if TYPE_CHECKING:
    from data_science.ml import model_charts
    from data_science.ml.charts import drawing
    from data_science.ml.charts import overview as overview_charts
else:  # computed in the worker processes only (runtime/remote.py)
    drawing = in_workers("data_science.ml.charts.drawing")
    overview_charts = in_workers("data_science.ml.charts.overview")
    model_charts = in_workers("data_science.ml.model_charts")


@tool
async def plot(
    dataset_id: str,
    tool_context: ToolContext,
    kind: ChartKind = "histogram",
    x: str | None = None,
    y: str | list[str] | None = None,
    color_by: str | None = None,
    agg: Aggregate | None = None,
) -> dict[str, Any]:
    """Draw one chart of a dataset, shown in the chat as a PNG; `x`, `y`, `color_by` are columns.

    - "histogram": distribution of `x` (numbers are binned, text is counted); `color_by`
      overlays one histogram per group.
    - "scatter": numeric `y` against numeric `x`; `color_by` colours the points.
    - "line": `y` over an ordered `x` (dates, also dates written as text, or numbers). Several
      `y` columns allowed, or one `y` split into lines by `color_by`; rows sharing an x value
      are combined with `agg` (default mean); without `y` it counts rows per x.
    - "area": like line, stacked (default agg sum).
    - "bar": rows per category `x`, or `agg` (mean/sum/median, default mean) of numeric `y`
      per category; the 30 most frequent categories.
    - "box" / "violin": spread of numeric `y` per category `x` (or of a numeric `x` alone).
    - "heatmap": correlation matrix of all numeric columns (or of the columns listed in `y`).
    - "pie": share of rows per value of `x` (top 8, the rest as "other"), or with `y` each
      value's share of the total of `y`.
    Big tables: scatter and violin draw a 20,000-row sample; the other kinds summarise every
    row. On a very large table only a numeric histogram counts every row; the other kinds are
    drawn on a random sample of its rows, given in `sample`. Returns the chart's name, title,
    rows used, notes (sampling, top-N cuts) and, for a heatmap the strongest pairs, for a pie
    the shares.
    """
    if kind not in CHART_KINDS:
        raise ToolError(
            f"Unknown chart kind '{kind}'. Use one of: {', '.join(CHART_KINDS)}.",
            code="unknown_chart_kind",
        )
    if agg is not None and agg not in AGGREGATES:
        raise ToolError(
            f"Unknown aggregate '{agg}'. Use one of: {', '.join(AGGREGATES)}.",
            code="unknown_aggregate",
        )
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    columns = column_names(record)
    names = [y] if isinstance(y, str) else list(y or [])
    spec = ChartSpec(
        kind=kind,
        x=resolve_column(columns, x, "x column") if x is not None else None,
        y=tuple(dict.fromkeys(resolve_column(columns, name, "y column") for name in names)),
        color_by=resolve_column(columns, color_by, "colour column") if color_by else None,
        agg=agg,
    )
    if spec.x is None and kind != "heatmap":
        raise ToolError(
            f"A {kind} chart needs an `x` column. Columns: {', '.join(columns)}.",
            code="missing_argument",
        )
    if kind == "scatter" and not spec.y:
        raise ToolError("A scatter plot needs both `x` and `y` columns.", code="missing_argument")
    table = await open_table(tool_context, dataset_id)
    chart = await run_cpu(drawing.render_chart, table, spec, lane="quick")
    saved = await _save(tool_context, chart)
    return {**saved, "kind": kind, "rows_plotted": chart.rows_used, **_extras(chart)}


@tool
async def auto_charts(dataset_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Draw a first overview of a dataset: 3-5 charts picked automatically, shown in the chat.

    Use it after an upload, or when asked to explore or visualise data without a particular
    chart in mind (for one specific chart, use `plot`). It picks, as the columns allow: a
    histogram of the most variable numeric column, a bar chart of the main category, a
    correlation heatmap (3+ numeric columns), a scatter of the most correlated pair, a line
    over time when there is a date column, a box plot of the main number by category.
    Returns each chart's name, kind, columns, title and why it was chosen.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    table = await open_table(tool_context, dataset_id)
    overview = await run_cpu(overview_charts.render_overview, table, lane="quick")
    if not overview:
        raise ToolError(
            f"No column of '{record.name}' suits a chart: every column is constant, empty or "
            "free text. Use analyze_dataset to inspect it.",
            code="nothing_to_chart",
        )
    charts = []
    for item in overview:
        saved = await _save(tool_context, item.chart)
        used = [item.spec.x, *item.spec.y, item.spec.color_by]
        charts.append(
            {
                **saved,
                "kind": item.spec.kind,
                "columns": [column for column in used if column],
                "why": item.why,
                **_extras(item.chart),
            }
        )
    return {"dataset_id": dataset_id, "rows": record.rows, "charts": charts}


@tool
async def plot_model(
    model_id: str, kind: ModelChartKind, tool_context: ToolContext
) -> dict[str, Any]:
    """Chart a trained model's quality on its held-out test rows (never its training rows).

    `model_id` comes from `train`; the test rows are those of the split it was trained with
    (its test_size, seed and stratification). `kind`:
    - "confusion_matrix" (classification): actual vs predicted class counts; the matrix and
      its labels are returned too.
    - "roc_curve" (classification): the ROC curve with its AUC for two classes, or one curve
      per class (one-vs-rest) with per-class and macro AUC.
    - "residuals" (regression): actual vs predicted and residuals vs predicted, with RMSE,
      MAE and R².
    - "feature_importance" (either): permutation importance, the drop in test accuracy (or
      R²) when each input column is shuffled; the top 20 features, returned too.
    """
    if kind not in MODEL_CHART_KINDS:
        raise ToolError(
            f"Unknown model chart '{kind}'. Use one of: {', '.join(MODEL_CHART_KINDS)}.",
            code="unknown_chart_kind",
        )
    workspace = workspace_for(tool_context)
    record, model_path = await run_blocking(workspace.model_file, model_id)
    details = record.details
    target, features, n_test = details.get("target"), details.get("features"), details.get("n_test")
    if (
        not isinstance(target, str)
        or not isinstance(features, list)
        or not isinstance(n_test, int)
        or record.parent_id is None
        or model_path.suffix != ".joblib"
    ):
        raise ToolError(
            f"Model '{model_id}' was not made by `train`, so its test rows are unknown. Model "
            "charts work on models trained with `train`.",
            code="unsupported_model",
        )
    check_kind(str(details.get("task")), kind, target)
    try:
        table = await run_blocking(workspace.table_file, record.parent_id)
        # A model of a large table was trained on its sample: its test rows are in that sample.
        table = await run_blocking(for_models, table, settings_for(tool_context), SEED)
    except UnknownItem:
        raise ToolError(
            f"The dataset model '{model_id}' was trained on ({record.parent_id}) is no longer in "
            "this session, so its test rows cannot be rebuilt. Train the model again.",
            code="dataset_missing",
        ) from None
    chart = await run_cpu(
        model_charts.render_model_chart,
        model_path,
        table,
        target,
        features,
        kind,
        n_test,
        _split_of(details),
        str(details.get("model_family", "auto")),
        lane="quick",
    )
    # Named by kind and target: a title may hold a class label, which is data (summary mode).
    saved = await _save(tool_context, chart, name=f"{kind} {target}")
    return {**saved, "model_id": model_id, "kind": kind, "target": target, **_extras(chart)}


def _split_of(details: dict[str, Any]) -> SplitOptions:
    """The split a model was trained with, from its report (older reports: the default)."""
    return SplitOptions(
        test_size=float(details.get("test_size", TEST_SIZE)),
        seed=int(details.get("seed", SEED)),
        stratify=bool(details.get("stratified", True)),
    )


async def _save(tool_context: ToolContext, chart: Chart, name: str | None = None) -> dict[str, Any]:
    filename = f"{_slug(name or chart.title)}.png"
    version = await tool_context.save_artifact(
        filename, types.Part.from_bytes(data=chart.png, mime_type="image/png")
    )
    return {"chart": filename, "version": version, "title": chart.title}


def _extras(chart: Chart) -> dict[str, Any]:
    return {**({"notes": chart.notes} if chart.notes else {}), **chart.facts}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "chart"
