"""Everyday row work: keep the rows that meet conditions, derive a new column, sort and take the
top or bottom N. Each step writes a new derived table and says in one sentence what it did.

Comparisons read a column by its type: numbers compare as numbers, dates as dates (also a text
column whose values read as dates, for the ordering comparisons), text as exact text, and the
text operations (contains, starts_with, ends_with) ignore case. A missing value matches no
comparison: only is_missing finds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_science.errors import ToolError
from data_science.ml.analysis.common import cell
from data_science.ml.common import is_numeric
from data_science.ml.prep.common import listed, quoted, to_datetime
from data_science.storage.tables import TableFile, write_parquet

PREVIEW_COLUMNS = 20
# A text column is read as dates when at least this share of its values are dates.
DATE_SHARE = 0.5
ORDER_OPS = frozenset({">", ">=", "<", "<="})
EQUALITY_OPS = frozenset({"==", "!="})
LIST_OPS = frozenset({"in", "not_in"})
TEXT_OPS = frozenset({"contains", "starts_with", "ends_with"})
MISSING_OPS = frozenset({"is_missing", "not_missing"})
FILTER_OPS = ORDER_OPS | EQUALITY_OPS | LIST_OPS | TEXT_OPS | MISSING_OPS | {"between"}
# Spellings a model may use for the same operation.
OP_SYNONYMS = {"=": "==", "<>": "!=", "not in": "not_in", "is null": "is_missing"}
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True)
class Condition:
    """One filter condition: `column` `op` `value`."""

    column: str
    op: str
    value: Any = None

    def describe(self) -> str:
        if self.op in MISSING_OPS:
            return f"{self.column} is {'missing' if self.op == 'is_missing' else 'not missing'}"
        return f"{self.column} {self.op} {self.value!r}"


def parse_conditions(conditions: list[dict[str, Any]]) -> list[Condition]:
    """The conditions as given, checked for shape (columns are resolved by the tool)."""
    if not conditions:
        raise ToolError(
            'Give at least one condition, e.g. {"column": "origin", "op": "==", "value": "JFK"}.',
            "no_conditions",
        )
    parsed = []
    for number, given in enumerate(conditions, start=1):
        if not isinstance(given, dict) or not isinstance(given.get("column"), str):
            raise ToolError(
                f"Condition {number} needs a 'column' (text), an 'op' and usually a 'value', "
                'e.g. {"column": "price", "op": ">", "value": 100}.',
                "bad_condition",
            )
        op = str(given.get("op", "")).strip().lower()
        op = OP_SYNONYMS.get(op, op.replace(" ", "_"))
        if op not in FILTER_OPS:
            raise ToolError(
                f"Condition {number} has the operation {given.get('op')!r}; use one of "
                f"{', '.join(sorted(FILTER_OPS))}.",
                "bad_condition",
            )
        value = given.get("value")
        _check_value_shape(number, op, value)
        parsed.append(Condition(given["column"], op, value))
    return parsed


def _check_value_shape(number: int, op: str, value: Any) -> None:
    if op in LIST_OPS and (not isinstance(value, list) or not value):
        raise ToolError(
            f'Condition {number} (\'{op}\') needs a list of values, e.g. ["JFK", "LGA"].',
            "bad_condition",
        )
    if op == "between" and (not isinstance(value, list) or len(value) != 2):
        raise ToolError(
            f"Condition {number} ('between') needs [low, high], e.g. [10, 20] (both included).",
            "bad_condition",
        )
    if op not in LIST_OPS | MISSING_OPS | {"between"} and (
        value is None or isinstance(value, list)
    ):
        raise ToolError(
            f"Condition {number} ('{op}') needs one value (a number, a text or a date).",
            "bad_condition",
        )


# Reading a column and a value the same way -------------------------------------------------
def comparable(series: pd.Series, column: str, op: str) -> tuple[str, pd.Series]:
    """The column's kind for comparing ('number', 'date', 'boolean' or 'text') and its values
    in that kind. Ordering a text column works only when its values read as dates."""
    if pd.api.types.is_bool_dtype(series):
        kind, values = "boolean", series
    elif is_numeric(series):
        kind, values = "number", series.astype("float64")
    elif pd.api.types.is_datetime64_any_dtype(series):
        kind, values = "date", series
    else:
        kind, values = "text", series.astype("string")
    if kind in {"text", "boolean"} and (op in ORDER_OPS or op == "between"):
        dates = as_dates(series) if kind == "text" else None
        if dates is None:
            raise ToolError(
                f"'{op}' compares numbers or dates, but '{column}' holds {kind}. For text use "
                "'==', '!=', 'in', 'not_in', 'contains', 'starts_with' or 'ends_with'; numbers "
                "stored as text can be converted with cast_column first.",
                "wrong_type",
            )
        kind, values = "date", dates
    return kind, values


def as_dates(series: pd.Series) -> pd.Series | None:
    """A text column read as dates, or None when most of its values are not dates."""
    present = int(series.notna().sum())
    if present == 0 or is_numeric(series) or pd.api.types.is_bool_dtype(series):
        return None
    dates = to_datetime(series)
    return dates if int(dates.notna().sum()) >= DATE_SHARE * present else None


def operand(kind: str, value: Any, column: str, op: str, dates: pd.Series | None = None) -> Any:
    """`value` as the column's kind reads it; a value that cannot be is refused."""
    if kind == "number":
        number = number_or_none(value)
        if number is None:
            raise ToolError(
                f"'{column}' is numeric, so '{op}' needs a number; got {value!r}.", "wrong_type"
            )
        return number
    if kind == "date":
        return _date(value, column, op, dates)
    if kind == "boolean":
        word = str(value).strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ToolError(
                f"'{column}' holds true/false values; compare it with true or false, not "
                f"{value!r}.",
                "wrong_type",
            )
        return word in TRUE_WORDS
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number_or_none(value: Any) -> float | None:
    """`value` as a number: 60, 60.5, "60", "1,200" (commas only as thousands separators:
    "3,5" is no number here, rather than 35); None when it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def _date(value: Any, column: str, op: str, dates: pd.Series | None) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise ToolError(
            f"'{column}' holds dates, so '{op}' needs a date like 2024-01-31; got {value!r}.",
            "wrong_type",
        )
    zone = dates.dt.tz if dates is not None else None
    if zone is not None and stamp.tzinfo is None:
        return stamp.tz_localize(zone)
    if zone is None and stamp.tzinfo is not None:
        return stamp.tz_convert(None)
    return stamp


def compare(values: pd.Series, op: str, other: Any) -> pd.Series:
    """`values op other` as True/False, False where either side is missing."""
    present = values.notna()
    if isinstance(other, pd.Series):
        present &= other.notna()
    if op == "==":
        result = values == other
    elif op == "!=":
        result = values != other
    elif op == ">":
        result = values > other
    elif op == ">=":
        result = values >= other
    elif op == "<":
        result = values < other
    else:
        result = values <= other
    return pd.Series(
        np.asarray(result.fillna(False), dtype=bool) & present.to_numpy(), values.index
    )


# Filtering -------------------------------------------------------------------------------
def condition_mask(frame: pd.DataFrame, condition: Condition) -> pd.Series:
    """The rows that meet one condition."""
    series, op, column = frame[condition.column], condition.op, condition.column
    if op == "is_missing":
        return series.isna()
    if op == "not_missing":
        return series.notna()
    if op in TEXT_OPS:
        return _text_mask(series, column, op, condition.value)
    kind, values = comparable(series, column, op)
    dates = values if kind == "date" else None
    if op in LIST_OPS:
        wanted = [operand(kind, item, column, op, dates) for item in condition.value]
        member = pd.Series(np.asarray(values.isin(wanted).fillna(False), dtype=bool), values.index)
        return (member if op == "in" else ~member) & values.notna()
    if op == "between":
        low, high = (operand(kind, item, column, op, dates) for item in condition.value)
        if low > high:
            raise ToolError(
                f"'between' needs [low, high] with low ≤ high; got {condition.value!r}.",
                "bad_condition",
            )
        return compare(values, ">=", low) & compare(values, "<=", high)
    return compare(values, op, operand(kind, condition.value, column, op, dates))


def _text_mask(series: pd.Series, column: str, op: str, value: Any) -> pd.Series:
    if is_numeric(series) or pd.api.types.is_datetime64_any_dtype(series):
        raise ToolError(
            f"'{op}' looks inside text, but '{column}' is not text. Compare numbers and dates "
            "with '==', '>', 'between'; or convert the column with cast_column to='text' first.",
            "wrong_type",
        )
    text = series.astype("string").str.lower()
    needle = str(value).lower()
    if op == "contains":
        found = text.str.contains(needle, regex=False)
    elif op == "starts_with":
        found = text.str.startswith(needle)
    else:
        found = text.str.endswith(needle)
    return found.fillna(False).astype(bool)


def filter_rows_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    preview_limit: int,
    conditions: list[Condition],
    match: str,
) -> dict[str, Any]:
    """Keep the rows that meet all (or any) of the conditions."""
    frame = table.load()
    masks = [condition_mask(frame, condition).to_numpy() for condition in conditions]
    keep = np.logical_and.reduce(masks) if match == "all" else np.logical_or.reduce(masks)
    result = frame.loc[keep]
    joined = f" {'and' if match == 'all' else 'or'} ".join(c.describe() for c in conditions)
    action = f"kept {len(result):,} of {len(frame):,} rows where {joined}"
    first = list(dict.fromkeys(condition.column for condition in conditions))
    return finish_rows(frame, result, out_path, action, summary_only, preview_limit, first)


# Sorting ---------------------------------------------------------------------------------
def sort_rows_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    preview_limit: int,
    by: list[str],
    descending: bool,
    limit: int | None,
) -> dict[str, Any]:
    """Sort by the columns (missing values last, ties in their original order); keep the first
    `limit` rows when given."""
    if limit is not None and limit < 1:
        raise ToolError("`limit` must be at least 1 (or left out to keep every row).", "bad_limit")
    frame = table.load()
    try:
        result = frame.sort_values(by, ascending=not descending, kind="stable", na_position="last")
    except TypeError:
        mixed = [c for c in by if frame[c].dropna().map(type).nunique() > 1]
        raise ToolError(
            f"{quoted(mixed or by)} mixes text and numbers, so it cannot be sorted. Convert it "
            "with cast_column (to='number' or to='text') first.",
            "wrong_type",
        ) from None
    order = "descending" if descending else "ascending"
    action = f"sorted {len(frame):,} rows by {', '.join(by)} ({order}, missing values last)"
    if limit is not None:
        result = result.head(limit)
        action += f" and kept the first {len(result):,}"
    return finish_rows(frame, result, out_path, action, summary_only, preview_limit, by)


# Writing and showing ---------------------------------------------------------------------
def finish_rows(
    before: pd.DataFrame,
    after: pd.DataFrame,
    out_path: Path,
    action: str,
    summary_only: bool,
    preview_limit: int,
    first: list[str],
    **details: Any,
) -> dict[str, Any]:
    """Write the derived table; report what changed, with its first rows unless in summary mode."""
    after = after.reset_index(drop=True)
    summary = write_parquet(after, out_path)
    report: dict[str, Any] = {
        "action": action,
        "rows_before": len(before),
        "rows_after": len(after),
        "columns": listed([str(column) for column in after.columns]),
        **{key: value for key, value in details.items() if value is not None},
        "summary": summary,
    }
    if not summary_only:
        report["preview"] = preview_records(after, preview_limit, first)
    return report


def preview_records(
    frame: pd.DataFrame, limit: int, first: list[str] | None = None
) -> list[dict[str, Any]]:
    """The first `limit` rows as {column: value}, the `first` columns leading, at most
    PREVIEW_COLUMNS columns, long text clipped."""
    names = [str(column) for column in frame.columns]
    columns = list(dict.fromkeys([*(first or []), *names]))[:PREVIEW_COLUMNS]
    rows = frame.head(limit)[columns].astype(object)
    return [
        {str(key): cell(value) for key, value in record.items()}
        for record in rows.to_dict("records")
    ]
