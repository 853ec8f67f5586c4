"""Tools that show what data the session holds and what is in it."""

from __future__ import annotations

from typing import Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.ml.common import std_ddof
from data_science.ml.profile import profile_table
from data_science.runtime.workers import run_cpu
from data_science.storage.workspace import describe_catalogue
from data_science.tools.base import open_table, run_blocking, settings_for, tool, workspace_for


@tool
async def list_data_files(tool_context: ToolContext) -> dict[str, Any]:
    """List the datasets and trained models in this chat session.

    Call this first when you need a dataset id or do not know which columns exist. Each dataset
    has an `id` (pass it as `dataset_id` to other tools), its file name, row count and columns
    with their types; each model has an `id` (pass it as `model_id`) and its target.
    """
    workspace = workspace_for(tool_context)
    records = await run_blocking(workspace.items)
    tables = [record for record in records if record.kind == "table"]
    models = [record for record in records if record.kind == "model"]
    return {
        "datasets": describe_catalogue(tables),
        "models": describe_catalogue(models),
        "note": None if tables else "No dataset yet: ask the person to upload a CSV or workbook.",
    }


@tool
async def analyze_dataset(
    dataset_id: str,
    tool_context: ToolContext,
    std: Literal["sample", "population"] = "sample",
) -> dict[str, Any]:
    """Profile a dataset: shape, column types, missing values, summary statistics, sample rows.

    Use it when the person asks what is in a file, to describe or summarise data, or which
    columns have missing values. `dataset_id` comes from `list_data_files`. Each numeric
    column's `std` is the sample standard deviation (divides by n - 1) unless
    `std="population"` (divides by n) is asked for; the result says which.
    """
    std_ddof(std)  # a wrong value is refused before the table is read
    table = await open_table(tool_context, dataset_id)
    return await run_cpu(
        profile_table,
        table,
        dataset_id,
        settings_for(tool_context).SUMMARY_MODE_ONLY,
        std,
        lane="quick",
    )
