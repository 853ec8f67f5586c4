"""What the analysis modules share: checking and reading columns, and writing cells, shares and
p-values the same way in every answer."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from data_science.errors import ToolError
from data_science.ml.common import is_numeric, numeric_columns
from data_science.storage.large import LargeTable, empty_frame, read_columns
from data_science.storage.tables import TableFile, column_kind

ALPHA = 0.05
MAX_CELL_CHARACTERS = 80
MAX_TOP_K = 50
MAX_GROUPS = 50


def load_numeric(table: TableFile, also: list[str]) -> pd.DataFrame:
    """The table for a computation that reads its numeric columns and the columns `also`: a
    large table (storage/large.py) reads only those, any other is loaded whole."""
    if not isinstance(table, LargeTable):
        return table.load()
    return read_columns(table, [*numeric_columns(empty_frame(table)), *also])


def require_numeric(frame: pd.DataFrame, column: str, purpose: str, hint: str = "") -> None:
    """Refuse a non-numeric `column`, naming the numeric columns that would work."""
    if not is_numeric(frame[column]):
        raise ToolError(
            f"{purpose} needs numeric columns, but '{column}' is {column_kind(frame[column])}. "
            f"{numeric_listing(frame)}{hint}",
            "wrong_column_type",
        )


def numeric_listing(frame: pd.DataFrame) -> str:
    numeric = numeric_columns(frame)
    if not numeric:
        return "This dataset has no numeric columns."
    return f"Numeric columns: {', '.join(numeric)}."


def first_columns(
    chosen: list[str], limit: int, done: str, hint: str
) -> tuple[list[str], str | None]:
    """At most `limit` of the numeric columns `chosen`, and a note saying the rest were left
    out (`done` says what happened to the kept ones, `hint` how to reach the others)."""
    if len(chosen) <= limit:
        return chosen, None
    note = f"Only the first {limit} of {len(chosen)} numeric columns {done}; {hint}."
    return chosen[:limit], note


def numeric_values(series: pd.Series) -> pd.Series:
    """The column as floats, with infinities counted as missing."""
    values = series.astype("float64")
    return values.where(np.isfinite(values))


def hashable(series: pd.Series) -> pd.Series:
    """Lists or dicts held in cells (from JSON files) as text, so they can be counted."""
    if series.dtype != object:
        return series
    return series.map(lambda value: value if pd.api.types.is_scalar(value) else str(value))


def _is_missing(value: Any) -> bool:
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def cell(value: Any) -> Any:
    """A cell as shown to the model: short text, never a wall of it."""
    if value is None or _is_missing(value):
        return None
    if not pd.api.types.is_scalar(value) or isinstance(value, bytes):
        value = str(value)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        return value[:MAX_CELL_CHARACTERS] + "…"
    return value


def unique(names: Sequence[Hashable]) -> list[str]:
    """The names as text, each once, in their first order."""
    return list(dict.fromkeys(str(name) for name in names))


def pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def p_text(p_value: float) -> str:
    """A p-value as a reader expects it: three decimals, or two significant digits when tiny."""
    if p_value < 1e-300:
        return "< 1e-300"
    return f"{p_value:.2g}" if p_value < 0.001 else f"{p_value:.3f}"
