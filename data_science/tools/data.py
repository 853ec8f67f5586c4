"""Tools that show what data the session holds and what is in it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from google.adk.tools.tool_context import ToolContext

from data_science.config import get_settings
from data_science.tools.base import run_blocking, tool, workspace_for
from data_science.workspace import describe_catalogue

SAMPLE_ROWS = 5
MAX_CELL_CHARACTERS = 80
MAX_COLUMNS_DESCRIBED = 60


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
async def analyze_dataset(dataset_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Profile a dataset: shape, column types, missing values, summary statistics, sample rows.

    Use it when the person asks what is in a file, to describe or summarise data, or which
    columns have missing values. `dataset_id` comes from `list_data_files`.
    """
    workspace = workspace_for(tool_context)
    frame = await run_blocking(workspace.load_frame, dataset_id)
    summary_only = get_settings().SUMMARY_MODE_ONLY
    return await run_blocking(profile_frame, frame, dataset_id, summary_only)


def profile_frame(frame: pd.DataFrame, dataset_id: str, summary_only: bool) -> dict[str, Any]:
    columns = list(frame.columns)[:MAX_COLUMNS_DESCRIBED]
    profile: dict[str, Any] = {
        "dataset_id": dataset_id,
        "rows": int(frame.shape[0]),
        "columns": int(frame.shape[1]),
        "duplicate_rows": int(frame.duplicated().sum()),
        "column_profiles": [_profile_column(frame[column], summary_only) for column in columns],
    }
    if len(frame.columns) > MAX_COLUMNS_DESCRIBED:
        profile["note"] = f"Only the first {MAX_COLUMNS_DESCRIBED} columns are profiled."
    if not summary_only:
        sample = frame[columns].head(SAMPLE_ROWS).astype(object)
        profile["sample_rows"] = [
            {str(key): _clip(value) for key, value in row.items()}
            for row in sample.to_dict(orient="records")
        ]
    return profile


def _profile_column(series: pd.Series, summary_only: bool) -> dict[str, Any]:
    missing = int(series.isna().sum())
    entry: dict[str, Any] = {
        "name": str(series.name),
        "dtype": str(series.dtype),
        "missing": missing,
        "missing_pct": round(100 * missing / len(series), 2) if len(series) else 0.0,
        "unique": int(series.nunique(dropna=True)),
    }
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.dropna().astype(float)
        if len(values):
            quartiles = np.percentile(values, [25, 50, 75])
            entry.update(
                mean=values.mean(),
                std=values.std(),
                min=values.min(),
                q1=quartiles[0],
                median=quartiles[1],
                q3=quartiles[2],
                max=values.max(),
            )
    elif not summary_only:
        counts = series.astype("string").value_counts(dropna=True).head(5)
        entry["top_values"] = {_clip(key): int(count) for key, count in counts.items()}
    return entry


def _clip(value: Any) -> Any:
    """Cell text shown to the model is short and stays data, never a wall of text."""
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        return value[:MAX_CELL_CHARACTERS] + "…"
    return value
