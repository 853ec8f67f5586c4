"""Charts, saved as PNG artifacts that the chat shows inline."""

from __future__ import annotations

import re
from typing import Any, Literal

from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.ml.charts import MAX_POINTS, render_chart
from data_science.tools.base import (
    ToolError,
    column_names,
    resolve_column,
    run_blocking,
    tool,
    workspace_for,
)
from data_science.workers import run_cpu


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
    record = await run_blocking(workspace.get, dataset_id, "table")
    columns = column_names(record)
    x = resolve_column(columns, x, "x column")
    if kind == "scatter":
        if y is None:
            raise ToolError(
                "A scatter plot needs both `x` and `y` columns.", code="missing_argument"
            )
        y = resolve_column(columns, y, "y column")
    if color_by is not None:
        color_by = resolve_column(columns, color_by, "colour column")
    table = await run_blocking(workspace.table_file, dataset_id)
    png, title = await run_cpu(render_chart, table, kind, x, y, color_by)
    filename = f"{_slug(title)}.png"
    version = await tool_context.save_artifact(
        filename, types.Part.from_bytes(data=png, mime_type="image/png")
    )
    return {
        "chart": filename,
        "version": version,
        "title": title,
        "rows_plotted": min(record.rows or 0, MAX_POINTS),
    }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "chart"
