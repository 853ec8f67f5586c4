"""What every cleaning and preprocessing step shares: writing the derived table with its
report, listing names and clipping cells the same way, and the checks on columns they apply."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from data_science.errors import ToolError
from data_science.ml.common import is_numeric, is_row_id, numeric_columns
from data_science.storage.tables import write_parquet

PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 8
MAX_LISTED = 50
MAX_CELL_CHARACTERS = 60


def numeric_columns_to_treat(
    frame: pd.DataFrame, skip: Callable[[pd.Series], str | None] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The numeric columns a step treats when none are named, and the reason each other
    numeric column was left alone: row identifiers always, and whatever `skip` names."""
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    for column in numeric_columns(frame):
        series = frame[column]
        reason = "row identifier" if is_row_id(column, series.nunique(), len(series)) else None
        if reason is None and skip is not None:
            reason = skip(series)
        if reason is None:
            chosen.append(column)
        else:
            skipped[column] = reason
    return chosen, skipped


def require_numeric(frame: pd.DataFrame, columns: list[str], purpose: str) -> None:
    """Refuse non-numeric columns, naming the numeric columns that would work."""
    text = [c for c in columns if not is_numeric(frame[c])]
    if text:
        raise ToolError(
            f"{purpose} needs numeric columns, but {quoted(text)} "
            f"{'is' if len(text) == 1 else 'are'} not numeric. Numeric columns: "
            f"{quoted(numeric_columns(frame)) or 'none'}. Convert text that holds numbers with "
            "cast_column first, or encode categories with encode_columns.",
            code="not_numeric",
        )


def quoted(columns: list[str]) -> str:
    """Column names quoted for a sentence, at most MAX_LISTED of them."""
    shown = [f"'{c}'" for c in columns[:MAX_LISTED]]
    more = f" and {len(columns) - MAX_LISTED} more" if len(columns) > MAX_LISTED else ""
    return ", ".join(shown) + more


def listed(columns: list[str]) -> list[str]:
    """At most MAX_LISTED names, so a wide table never floods a report."""
    return columns[:MAX_LISTED]


def listed_entries(mapping: dict[str, Any] | None) -> dict[str, Any] | None:
    """At most MAX_LISTED entries of a per-column mapping (None stays None)."""
    if mapping is None or len(mapping) <= MAX_LISTED:
        return mapping
    return dict(list(mapping.items())[:MAX_LISTED])


def clip(value: Any) -> Any:
    """Cell text cut to MAX_CELL_CHARACTERS: shown as data, never as a wall of text."""
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        return value[: MAX_CELL_CHARACTERS - 1] + "…"
    return value


def _preview(
    frame: pd.DataFrame, columns: list[str], summary_only: bool, rows: pd.Index | None = None
) -> list[dict[str, Any]] | None:
    """Up to 5 rows of the changed columns (None when cell values may not be shown)."""
    shown = [c for c in columns if c in frame.columns][:PREVIEW_COLUMNS]
    if summary_only or not shown or frame.empty:
        return None
    index = rows[:PREVIEW_ROWS] if rows is not None and len(rows) else frame.index[:PREVIEW_ROWS]
    sample = frame.loc[index, shown].astype(object)
    return [
        {"row": int(position), **{str(k): clip(v) for k, v in record.items()}}
        for position, record in zip(index, sample.to_dict(orient="records"), strict=True)
    ]


def finish(
    before: pd.DataFrame,
    after: pd.DataFrame,
    out_path: Path,
    action: str,
    summary_only: bool,
    changed: list[str] | None = None,
    preview_rows: pd.Index | None = None,
    **details: Any,
) -> dict[str, Any]:
    """Write the derived table and describe exactly what differs from the source."""
    added = [str(c) for c in after.columns if c not in before.columns]
    removed = [str(c) for c in before.columns if c not in after.columns]
    changed = changed or []
    summary = write_parquet(after.reset_index(drop=True), out_path)
    report: dict[str, Any] = {
        "action": action,
        "rows_before": len(before),
        "rows_after": len(after),
        "columns_before": before.shape[1],
        "columns_after": after.shape[1],
        "changed_columns": listed(changed),
        "added_columns": listed(added),
        "removed_columns": listed(removed),
        **{key: value for key, value in details.items() if value is not None},
    }
    if len(added) > MAX_LISTED:
        report["added_columns_note"] = f"{len(added)} columns added; the first {MAX_LISTED} shown."
    preview = _preview(after, changed + added, summary_only, preview_rows)
    if preview is not None:
        report["preview"] = preview
    report["summary"] = summary
    return report


def check_room(frame: pd.DataFrame, new_columns: int, max_columns: int, hint: str) -> None:
    """Refuse a step that would widen the table past the configured number of columns."""
    if frame.shape[1] + new_columns > max_columns:
        raise ToolError(
            f"The result would have {frame.shape[1] + new_columns:,} columns; at most "
            f"{max_columns:,} are allowed. {hint}",
            code="too_many_columns",
        )


def to_datetime(series: pd.Series) -> pd.Series:
    """The column read as dates (unreadable values missing): what cast_column and
    expand_dates both mean by a date."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    text = series.astype("string").str.strip()
    if is_numeric(series):  # 2024 or 20240131, not nanoseconds since 1970
        text = series.map(lambda v: f"{v:.0f}" if float(v).is_integer() else str(v), "ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(text, errors="coerce", format="mixed")
        except (ValueError, TypeError):  # mixed time zones
            return pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
