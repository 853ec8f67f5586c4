"""Combining and converting stored tables: merges, workbook sheets, download files (worker-side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd

from data_science.errors import ToolError
from data_science.storage.exports import write_csv, write_xlsx
from data_science.storage.tables import TableFile, table_summary, write_parquet

MergeHow = Literal["inner", "left", "right", "outer"]
MAX_RESULT_ROWS = 20_000_000


def merge_to_file(
    left: TableFile,
    right: TableFile,
    left_on: list[str],
    right_on: list[str],
    how: MergeHow,
    out_path: Path,
) -> dict[str, Any]:
    """Join two tables on key columns and write the result; report the match counts."""
    left_frame, right_frame = left.load(), right.load()
    for left_key, right_key in zip(left_on, right_on, strict=True):
        left_numeric = pd.api.types.is_numeric_dtype(left_frame[left_key])
        if left_numeric != pd.api.types.is_numeric_dtype(right_frame[right_key]):
            raise ToolError(
                f"The keys '{left_key}' and '{right_key}' hold different kinds of values (one is "
                "numeric, the other text); cast one of them first so they match.",
                "key_type_mismatch",
            )
    expected = _estimated_rows(left_frame, right_frame, left_on, right_on, how)
    if expected > MAX_RESULT_ROWS:
        raise ToolError(
            f"That join would produce about {expected:,} rows (the keys repeat on both sides); "
            "join on more specific keys or remove duplicates first.",
            "join_too_large",
        )
    merged = left_frame.merge(
        right_frame,
        how=how,
        left_on=left_on,
        right_on=right_on,
        suffixes=("", "_right"),
        indicator=True,
    )
    matches = merged["_merge"].value_counts().to_dict()
    summary = write_parquet(merged.drop(columns="_merge"), out_path)
    return {
        "rows": len(merged),
        "left_rows": len(left_frame),
        "right_rows": len(right_frame),
        "matched_rows": int(matches.get("both", 0)),
        "only_left_rows": int(matches.get("left_only", 0)),
        "only_right_rows": int(matches.get("right_only", 0)),
        "summary": summary,
    }


def _estimated_rows(
    left: pd.DataFrame, right: pd.DataFrame, left_on: list[str], right_on: list[str], how: str
) -> int:
    left_counts = left.groupby(left_on, dropna=False).size()
    right_counts = right.groupby(right_on, dropna=False).size()
    right_counts.index = right_counts.index.set_names(left_counts.index.names)
    both = left_counts.to_frame("l").join(right_counts.to_frame("r"), how="inner")
    matched = int((both["l"] * both["r"]).sum())
    return (
        matched
        + (len(left) if how in {"left", "outer"} else 0)
        + (len(right) if how in {"right", "outer"} else 0)
    )


def workbook_sheets(path: Path) -> list[str]:
    return [str(name) for name in pd.ExcelFile(path, engine="openpyxl").sheet_names]


def sheet_to_file(path: Path, sheet: str, out_path: Path) -> dict[str, Any]:
    """Read one sheet of a workbook into a new table; the report holds its summary."""
    sheets = workbook_sheets(path)
    if sheet not in sheets:
        raise ToolError(
            f"The workbook has no sheet '{sheet}'. Sheets: {', '.join(sheets)}.", "unknown_sheet"
        )
    frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl")
    return {"summary": write_parquet(frame, out_path)}


def export_to_file(
    table: TableFile, file_format: Literal["csv", "xlsx"], out_path: Path
) -> dict[str, Any]:
    """Write a table for download, formula-safe (see data_science.storage.exports)."""
    frame = table.load()
    if file_format == "xlsx" and len(frame) > 1_048_575:
        raise ToolError(
            "Excel sheets hold at most 1,048,576 rows; export as CSV instead.",
            "too_many_rows_for_excel",
        )
    (write_xlsx if file_format == "xlsx" else write_csv)(frame, out_path)
    return {**table_summary(frame), "size_bytes": out_path.stat().st_size}
