"""Tools for combining datasets, opening workbook sheets and handing files back to the person."""

from __future__ import annotations

from typing import Any, Literal

from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.ml.files import MergeHow, export_to_file, merge_to_file, sheet_to_file
from data_science.runtime.workers import run_cpu
from data_science.tools.base import (
    ToolError,
    artifact_filename,
    column_names,
    derive_table,
    resolve_column,
    run_blocking,
    staged_file,
    tool,
    workspace_for,
)

EXPORT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_EXPORT_BYTES = 100_000_000


@tool
async def merge_datasets(
    left_dataset_id: str,
    right_dataset_id: str,
    on: list[str],
    tool_context: ToolContext,
    right_on: list[str] | None = None,
    how: MergeHow = "inner",
) -> dict[str, Any]:
    """Join two datasets on key columns into a new dataset (like SQL JOIN).

    `on` names the key column(s) of the left dataset; `right_on` those of the right dataset when
    they are named differently (same order). `how`: "inner" (rows with a match on both sides),
    "left", "right" or "outer". Returns the new `dataset_id` and how many rows matched.
    """
    workspace = workspace_for(tool_context)
    left = await run_blocking(workspace.get, left_dataset_id, "table")
    right = await run_blocking(workspace.get, right_dataset_id, "table")
    right_keys = right_on or on
    if len(right_keys) != len(on):
        raise ToolError("`on` and `right_on` must name the same number of columns.", "bad_keys")
    left_keys = [resolve_column(column_names(left), key, "left key") for key in on]
    right_keys = [resolve_column(column_names(right), key, "right key") for key in right_keys]
    left_table = await run_blocking(workspace.table_file, left.id)
    right_table = await run_blocking(workspace.table_file, right.id)
    saved, report = await derive_table(
        workspace,
        parent_id=left.id,
        name=f"{left.name} ⋈ {right.name}",
        produce=lambda path: run_cpu(
            merge_to_file, left_table, right_table, left_keys, right_keys, how, path, lane="quick"
        ),
        description=f"{how} join of {left.id} and {right.id} on {', '.join(left_keys)}",
    )
    return {"dataset_id": saved.id, "how": how, **report}


@tool
async def load_sheet(dataset_id: str, sheet: str, tool_context: ToolContext) -> dict[str, Any]:
    """Open another sheet of an uploaded Excel workbook as a new dataset.

    An uploaded workbook is read from its first sheet; its other sheet names are listed in the
    error message if `sheet` does not exist. Returns the new `dataset_id` with rows and columns.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    if record.extension != "xlsx":
        raise ToolError(
            f"{record.name} is not an Excel workbook; only .xlsx files have sheets.",
            "not_a_workbook",
        )
    path = workspace.stored_file(record)  # a worker fetches it from the store if there is one
    saved, _ = await derive_table(
        workspace,
        parent_id=record.id,
        name=f"{record.name} [{sheet}]",
        produce=lambda out: run_cpu(sheet_to_file, path, sheet, out, lane="quick"),
        description=f"sheet {sheet!r} of {record.name}",
    )
    return {"dataset_id": saved.id, "rows": saved.rows, "columns": saved.columns}


@tool
async def export_dataset(
    dataset_id: str, tool_context: ToolContext, file_format: Literal["csv", "xlsx"] = "csv"
) -> dict[str, Any]:
    """Make a dataset (cleaned data, predictions, clusters…) downloadable as CSV or Excel.

    The file appears in the chat with a download button. Cells that a spreadsheet would run as
    formulas are neutralised; numbers stay numbers. Returns the file name.
    """
    if file_format not in EXPORT_TYPES:
        raise ToolError(
            f"Unknown file_format '{file_format}'. Use one of: {', '.join(EXPORT_TYPES)}.",
            "bad_format",
        )
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    table = await run_blocking(workspace.table_file, dataset_id)
    filename = artifact_filename(record.name.rsplit(".", 1)[0], file_format)
    async with staged_file(workspace, f"export.{file_format}") as out_path:
        report = await run_cpu(export_to_file, table, file_format, out_path, lane="quick")
        if report["size_bytes"] > MAX_EXPORT_BYTES:
            raise ToolError(
                f"The {file_format.upper()} file would be larger than "
                f"{MAX_EXPORT_BYTES:,} bytes; filter or sample the data first.",
                "export_too_large",
            )
        data = await run_blocking(workspace.staged_bytes, out_path)
    version = await tool_context.save_artifact(
        filename, types.Part.from_bytes(data=data, mime_type=EXPORT_TYPES[file_format])
    )
    return {
        "file": filename,
        "version": version,
        "rows": report["rows"],
        "size_bytes": report["size_bytes"],
    }


@tool
async def export_model(model_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Make a trained model downloadable (a scikit-learn pipeline saved with joblib).

    Load it in Python with `joblib.load(path)`; it expects the columns listed in `features`.
    """
    workspace = workspace_for(tool_context)
    record, _ = await run_blocking(workspace.model_file, model_id)
    path = await run_blocking(workspace.data_path, record)
    data = await run_blocking(path.read_bytes)
    filename = artifact_filename(
        f"model_{record.details.get('target', 'target')}_{record.id}", "joblib"
    )
    version = await tool_context.save_artifact(
        filename, types.Part.from_bytes(data=data, mime_type="application/octet-stream")
    )
    return {
        "file": filename,
        "version": version,
        "features": record.details.get("features"),
        "target": record.details.get("target"),
        "size_bytes": len(data),
    }
