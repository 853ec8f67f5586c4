"""Profiling a table: types, missing values, statistics, a few clipped sample rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data_science.ml.common import STD_MEANING, is_numeric, std_ddof
from data_science.storage.large import LargeTable, empty_frame
from data_science.storage.tables import TableFile, column_kind

SAMPLE_ROWS = 5
MAX_CELL_CHARACTERS = 80
MAX_COLUMNS_DESCRIBED = 60


def profile_table(
    table: TableFile, dataset_id: str, summary_only: bool, std: str = "sample"
) -> dict[str, Any]:
    """Profile the table (run in a worker process); `std`: "sample" or "population"."""
    if isinstance(table, LargeTable):
        return _profile_large(table, dataset_id, summary_only, std)
    return profile_frame(table.load(), dataset_id, summary_only, std)


def _profile_large(
    table: LargeTable, dataset_id: str, summary_only: bool, std: str
) -> dict[str, Any]:
    """`profile_frame`'s answer for a large table, from DuckDB queries over its file."""
    # Imported here: the server imports this module, and DuckDB loads in workers only.
    from data_science.ml import large

    names = [str(name) for name in empty_frame(table).columns]
    columns = names[:MAX_COLUMNS_DESCRIBED]
    duplicates, entries = large.column_statistics(table, columns, summary_only, std)
    profile: dict[str, Any] = {
        "dataset_id": dataset_id,
        "rows": table.rows,
        "columns": len(names),
        "duplicate_rows": duplicates,
        "std": STD_MEANING[std],
        "column_profiles": entries,
    }
    if len(names) > MAX_COLUMNS_DESCRIBED:
        profile["note"] = f"Only the first {MAX_COLUMNS_DESCRIBED} columns are profiled."
    if not summary_only:
        profile["sample_rows"] = [
            {str(key): _clip(value) for key, value in row.items()}
            for row in large.first_rows(table, columns, SAMPLE_ROWS)
        ]
    return profile


def profile_frame(
    frame: pd.DataFrame, dataset_id: str, summary_only: bool, std: str = "sample"
) -> dict[str, Any]:
    ddof = std_ddof(std)
    columns = list(frame.columns)[:MAX_COLUMNS_DESCRIBED]
    profile: dict[str, Any] = {
        "dataset_id": dataset_id,
        "rows": int(frame.shape[0]),
        "columns": int(frame.shape[1]),
        "duplicate_rows": int(frame.duplicated().sum()),
        "std": STD_MEANING[std],
        "column_profiles": [
            _profile_column(frame[column], summary_only, ddof) for column in columns
        ],
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


def _profile_column(series: pd.Series, summary_only: bool, ddof: int) -> dict[str, Any]:
    missing = int(series.isna().sum())
    entry: dict[str, Any] = {
        "name": str(series.name),
        "dtype": str(series.dtype),
        "missing": missing,
        "missing_pct": round(100 * missing / len(series), 2) if len(series) else 0.0,
        "unique": int(series.nunique(dropna=True)),
    }
    if is_numeric(series):
        values = series.dropna().astype(float)
        if len(values):
            quartiles = np.percentile(values, [25, 50, 75])
            entry.update(
                mean=values.mean(),
                std=values.std(ddof=ddof),
                min=values.min(),
                q1=quartiles[0],
                median=quartiles[1],
                q3=quartiles[2],
                max=values.max(),
            )
    elif not summary_only or column_kind(series) == "text":
        # Summary mode shows text values as placeholders (data_science.llm.model_view).
        counts = series.astype("string").value_counts(dropna=True).head(5)
        entry["top_values"] = {_clip(key): int(count) for key, count in counts.items()}
    return entry


def _clip(value: Any) -> Any:
    """Cell text shown to the model is short and stays data, never a wall of text."""
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        return value[:MAX_CELL_CHARACTERS] + "…"
    return value


def text_labels(table: TableFile) -> list[str]:
    """Every distinct value of the table's text columns, column by column, most frequent first.

    Summary mode numbers these as placeholders (run in a worker process).
    """
    frame = table.load()
    labels: list[str] = []
    for name in frame.columns:
        if column_kind(frame[name]) == "text":
            values = frame[name].dropna().map(str)
            # Ties keep their first appearance, so the numbering is the same in every process.
            counts = values.value_counts(sort=False).sort_values(ascending=False, kind="stable")
            labels += [str(label) for label in counts.index]
    return labels
