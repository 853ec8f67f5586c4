"""Writing tables for people to download (CSV and Excel), safe to open in a spreadsheet.

Every text cell passes through `sanitize_for_export`; numeric columns keep their
numbers; in workbooks every string is stored as a string, never as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # workbooks are written in worker processes: the server need not import it
    from openpyxl.cell.cell import Cell

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def sanitize_for_export(value: object) -> object:
    """Neutralise a cell a spreadsheet would run as a formula: such text gets a leading `'`.

    Only text is touched; numbers (including negative ones) and other values pass unchanged.
    This is the one function that decides what a downloaded CSV or workbook may contain.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text columns are neutralised; numeric and date columns are unchanged."""
    text_columns = [
        column
        for column in frame.columns
        if not (
            pd.api.types.is_numeric_dtype(frame[column])
            or pd.api.types.is_datetime64_any_dtype(frame[column])
        )
    ]
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(sanitize_for_export)
    safe.columns = [sanitize_for_export(str(column)) for column in frame.columns]
    return safe


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    safe_frame(frame).to_csv(path, index=False)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str = "data") -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    safe = safe_frame(frame)

    def cell(value: Any) -> Cell:
        if isinstance(value, np.generic):
            value = value.item()
        made = WriteOnlyCell(worksheet, value=value)
        if isinstance(value, str):
            made.data_type = "s"  # a string, even if it looks like a formula
        return made

    worksheet.append([cell(column) for column in safe.columns])
    for row in safe.itertuples(index=False):
        worksheet.append([cell(None if pd.isna(value) else value) for value in row])
    workbook.save(path)
