"""Charts, saved as PNG artifacts that the chat shows inline."""

from __future__ import annotations

import io
import re
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from google.adk.tools.tool_context import ToolContext
from google.genai import types
from matplotlib.figure import Figure

from data_science.tools.base import ToolError, resolve_column, run_blocking, tool, workspace_for

MAX_POINTS = 20_000
SEED = 42


@tool
async def plot(
    dataset_id: str,
    x: str,
    tool_context: ToolContext,
    kind: Literal["histogram", "scatter"] = "histogram",
    y: str | None = None,
    color_by: str | None = None,
) -> dict[str, Any]:
    """Draw a chart of a dataset and show it in the chat as a PNG.

    - kind="histogram": the distribution of column `x` (numbers are binned, text is counted).
    - kind="scatter": column `y` against column `x`, both numeric; `color_by` optionally colours
      points by a category column.
    Large tables are sampled to 20,000 points. Column names must match the dataset's columns.
    """
    workspace = workspace_for(tool_context)
    frame = await run_blocking(workspace.load_frame, dataset_id)
    x = resolve_column(frame, x, "x column")
    if kind == "scatter":
        if y is None:
            raise ToolError("A scatter plot needs both `x` and `y` columns.", code="missing_argument")
        y = resolve_column(frame, y, "y column")
    if color_by is not None:
        color_by = resolve_column(frame, color_by, "colour column")
    png, title = await run_blocking(render_chart, frame, kind, x, y, color_by)
    filename = f"{_slug(title)}.png"
    version = await tool_context.save_artifact(
        filename, types.Part.from_bytes(data=png, mime_type="image/png")
    )
    return {"chart": filename, "version": version, "title": title, "rows_plotted": min(len(frame), MAX_POINTS)}


def render_chart(
    frame: pd.DataFrame, kind: str, x: str, y: str | None, color_by: str | None
) -> tuple[bytes, str]:
    if len(frame) > MAX_POINTS:
        frame = frame.sample(MAX_POINTS, random_state=SEED)
    figure = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    axes = figure.subplots()
    if kind == "histogram":
        title = _draw_histogram(axes, frame[x])
    elif kind == "scatter" and y is not None:
        title = _draw_scatter(axes, frame, x, y, color_by)
    else:
        raise ToolError(f"Unknown chart kind '{kind}'. Use 'histogram' or 'scatter'.")
    axes.set_title(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue(), title


def _draw_histogram(axes: Any, series: pd.Series) -> str:
    values = series.dropna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        axes.hist(values.astype(float), bins="auto", color="#4C72B0", edgecolor="white")
        axes.set_xlabel(str(series.name))
        axes.set_ylabel("count")
    else:
        counts = values.astype(str).value_counts().head(30)
        axes.barh(counts.index[::-1], counts.values[::-1], color="#4C72B0")
        axes.set_xlabel("count")
        axes.set_ylabel(str(series.name))
    return f"Distribution of {series.name}"


def _draw_scatter(axes: Any, frame: pd.DataFrame, x: str, y: str, color_by: str | None) -> str:
    for column in (x, y):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise ToolError(
                f"A scatter plot needs numeric columns; '{column}' is text. "
                "Use a histogram for it, or pick numeric columns.",
                code="wrong_column_type",
            )
    data = frame[[x, y] + ([color_by] if color_by else [])].dropna()
    if color_by:
        for label, group in data.groupby(color_by, observed=True):
            axes.scatter(group[x], group[y], s=12, alpha=0.7, label=str(label))
        axes.legend(title=color_by, fontsize="small")
    else:
        axes.scatter(data[x], data[y], s=12, alpha=0.7, color="#4C72B0")
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    return f"{y} vs {x}" + (f" by {color_by}" if color_by else "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "chart"
