"""Drawing charts to PNG bytes with matplotlib's object API (thread- and process-safe)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.figure import Figure

from data_science.errors import ToolError
from data_science.tables import TableFile

MAX_POINTS = 20_000
SEED = 42


def render_chart(
    table: TableFile, kind: str, x: str, y: str | None, color_by: str | None
) -> tuple[bytes, str]:
    """Draw the chart as PNG bytes; return them with its title (run in a worker process)."""
    frame = table.load()
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
