"""Deriving one new column from existing ones: arithmetic, row-wise aggregates, comparison flags,
bins, text length, date parts, the logarithm and the absolute value. The table keeps every
column and gains one, in a new derived table (`rows.finish_rows`)."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_science.errors import ToolError
from data_science.ml.common import is_numeric
from data_science.ml.prep.common import require_numeric
from data_science.ml.rows import (
    EQUALITY_OPS,
    ORDER_OPS,
    as_dates,
    comparable,
    compare,
    finish_rows,
    number_or_none,
    operand,
)
from data_science.storage.tables import TableFile, column_kind

ARITHMETIC: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "add": ("+", operator.add),
    "subtract": ("-", operator.sub),
    "multiply": ("*", operator.mul),
    "divide": ("/", operator.truediv),
}
ROW_WISE = frozenset({"sum", "mean", "min", "max"})
FLAGS = ORDER_OPS | EQUALITY_OPS
UNARY = frozenset({"bin", "length", "date_part", "log", "abs"})
TAKES_VALUE = frozenset(ARITHMETIC) | FLAGS
OPERATIONS = frozenset(ARITHMETIC) | ROW_WISE | FLAGS | UNARY
DATE_PARTS: dict[str, Callable[[Any], pd.Series]] = {
    "year": lambda dates: dates.year,
    "quarter": lambda dates: dates.quarter,
    "month": lambda dates: dates.month,
    "day": lambda dates: dates.day,
    "weekday": lambda dates: dates.dayofweek,  # 0 = Monday, as expand_dates counts
    "hour": lambda dates: dates.hour,
}
MAX_BINS = 100
Computed = tuple[pd.Series, str, dict[str, Any]]


@dataclass(frozen=True)
class Derivation:
    """What to compute: the new column's `name`, the `operation` and its inputs."""

    name: str
    operation: str
    columns: tuple[str, ...]
    value: float | str | None = None
    bins: tuple[float, ...] | int | None = None
    labels: tuple[str, ...] | None = None
    part: str | None = None


def check_derivation(spec: Derivation, existing: list[str]) -> None:
    """Refuse a malformed request before any data is read."""
    if not spec.name.strip():
        raise ToolError("Give the new column a `name`, e.g. 'price_per_carat'.", "bad_name")
    if spec.name.strip().lower() in {column.lower() for column in existing}:
        raise ToolError(
            f"A column '{spec.name}' already exists; choose another `name` (the result is a new "
            "dataset, so rename_columns or drop_columns can tidy up afterwards).",
            "column_exists",
        )
    if spec.operation not in OPERATIONS:
        raise ToolError(
            f"Unknown operation '{spec.operation}'; use one of {', '.join(sorted(OPERATIONS))}.",
            "bad_operation",
        )
    wanted = (
        "one column"
        if spec.operation in UNARY
        else "one or two columns"
        if spec.operation in FLAGS or spec.operation in ARITHMETIC
        else "one or more columns"
    )
    count = len(spec.columns)
    if (
        count == 0
        or (spec.operation in UNARY and count != 1)
        or (spec.operation not in ROW_WISE and count > 2)
    ):
        raise ToolError(
            f"'{spec.operation}' takes {wanted} in `columns`; got {count}.", "bad_columns"
        )
    if spec.value is not None and spec.operation not in TAKES_VALUE:
        raise ToolError(f"'{spec.operation}' takes no `value`; leave it out.", "bad_argument")
    for argument, used_by in (("bins", "bin"), ("labels", "bin"), ("part", "date_part")):
        if getattr(spec, argument) is not None and spec.operation != used_by:
            raise ToolError(
                f"`{argument}` is used only by operation '{used_by}'; leave it out for "
                f"'{spec.operation}'.",
                "bad_argument",
            )


def derive_column_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    preview_limit: int,
    spec: Derivation,
) -> dict[str, Any]:
    """Add the column `spec` describes to a copy of the table."""
    frame = table.load()
    check_derivation(spec, [str(column) for column in frame.columns])
    values, how, details = _compute(frame, spec)
    result = frame.assign(**{spec.name: values})
    return finish_rows(
        frame,
        result,
        out_path,
        f"added the column '{spec.name}' = {how}",
        summary_only,
        preview_limit,
        [spec.name, *spec.columns],
        **details,
    )


def _compute(frame: pd.DataFrame, spec: Derivation) -> Computed:
    operation = spec.operation
    if operation in ARITHMETIC:
        return _arithmetic(frame, spec)
    if operation in ROW_WISE:
        return _row_wise(frame, spec)
    if operation in FLAGS:
        return _flag(frame, spec)
    if operation == "bin":
        return _bin(frame, spec)
    if operation == "length":
        return _length(frame, spec.columns[0])
    if operation == "date_part":
        return _date_part(frame, spec.columns[0], spec.part)
    return _log_or_abs(frame, spec.columns[0], operation)


def _arithmetic(frame: pd.DataFrame, spec: Derivation) -> Computed:
    symbol, function = ARITHMETIC[spec.operation]
    require_numeric(frame, list(spec.columns), f"'{spec.operation}'")
    left = frame[spec.columns[0]].astype("float64")
    if len(spec.columns) == 2:
        if spec.value is not None:
            raise ToolError(
                f"'{spec.operation}' takes a second column or a `value`, not both.", "bad_argument"
            )
        right: pd.Series | float = frame[spec.columns[1]].astype("float64")
        shown = spec.columns[1]
    else:
        number = number_or_none(spec.value)
        if number is None:
            raise ToolError(
                f"'{spec.operation}' with one column needs a number as `value` (or a second "
                f"column); got {spec.value!r}.",
                "bad_argument",
            )
        if spec.operation == "divide" and number == 0:
            raise ToolError("Dividing by 0 gives no numbers; use another `value`.", "bad_argument")
        right, shown = number, f"{number:g}"
    values = pd.Series(function(left, right), frame.index, dtype="float64")
    how = f"{spec.columns[0]} {symbol} {shown}"
    details: dict[str, Any] = {}
    if isinstance(right, pd.Series) and spec.operation == "divide":
        zero = right == 0
        values[zero] = np.nan
        if zero.any():
            details["divided_by_zero"] = int(zero.sum())
            how += f" ({int(zero.sum()):,} rows divided by zero are missing)"
    return values, how, details


def _row_wise(frame: pd.DataFrame, spec: Derivation) -> Computed:
    columns = list(spec.columns)
    require_numeric(frame, columns, f"row-wise '{spec.operation}'")
    values = frame[columns].astype("float64")
    if spec.operation == "sum":
        result = values.sum(axis=1, min_count=1)
    elif spec.operation == "mean":
        result = values.mean(axis=1)
    elif spec.operation == "min":
        result = values.min(axis=1)
    else:
        result = values.max(axis=1)
    how = f"the row-wise {spec.operation} of {', '.join(columns)} (missing values skipped)"
    return result, how, {}


def _flag(frame: pd.DataFrame, spec: Derivation) -> Computed:
    op, column = spec.operation, spec.columns[0]
    kind, left = comparable(frame[column], column, op)
    if len(spec.columns) == 2:
        if spec.value is not None:
            raise ToolError(
                f"'{op}' compares with a second column or a `value`, not both.", "bad_argument"
            )
        other = spec.columns[1]
        other_kind, right = comparable(frame[other], other, op)
        if other_kind != kind:
            raise ToolError(
                f"'{column}' ({kind}) and '{other}' ({other_kind}) cannot be compared; convert "
                "one with cast_column first.",
                "wrong_type",
            )
        flag = compare(left, op, right)
        missing = left.isna() | right.isna()
        how = f"{column} {op} {other}"
    else:
        if spec.value is None:
            raise ToolError(
                f"'{op}' compares columns[0] with a `value` or with a second column; give one.",
                "bad_argument",
            )
        target = operand(kind, spec.value, column, op, left if kind == "date" else None)
        flag = compare(left, op, target)
        missing = left.isna()
        how = f"{column} {op} {spec.value!r}"
    values = flag.astype("boolean").mask(missing)
    return values, f"{how} (true/false; missing where the input is missing)", {}


def _bin(frame: pd.DataFrame, spec: Derivation) -> Computed:
    column = spec.columns[0]
    require_numeric(frame, [column], "'bin'")
    values = frame[column].astype("float64")
    edges, how = _edges(values, spec.bins, column)
    names = list(spec.labels) if spec.labels is not None else _interval_labels(edges)
    if len(names) != len(edges) - 1:
        raise ToolError(
            f"{len(edges) - 1} bins need {len(edges) - 1} labels; got {len(names)}."
            + (
                " Equal-count bins merge where values repeat." if isinstance(spec.bins, int) else ""
            ),
            "bad_labels",
        )
    binned = pd.cut(
        values, edges, labels=names, include_lowest=True, ordered=len(set(names)) == len(names)
    )
    result = binned.astype("string")
    outside = int((values.notna() & binned.isna()).sum())
    details: dict[str, Any] = {"edges": [float(edge) for edge in edges]}
    if outside:
        details["outside_bins"] = outside
        how += f"; {outside:,} values outside the edges are missing"
    return result, how, details


def _edges(
    values: pd.Series, bins: tuple[float, ...] | int | None, column: str
) -> tuple[list[float], str]:
    """The bin edges asked for: given, or at the quantiles for `bins` equal-count bins."""
    if isinstance(bins, int) and not isinstance(bins, bool):
        if not 2 <= bins <= MAX_BINS:
            raise ToolError(f"Ask for 2 to {MAX_BINS} equal-count bins; got {bins}.", "bad_bins")
        present = values.dropna()
        if present.empty:
            raise ToolError(f"'{column}' has no values to bin.", "bad_bins")
        edges = sorted(set(present.quantile(np.linspace(0, 1, bins + 1)).tolist()))
        if len(edges) < 2:
            raise ToolError(f"'{column}' has a single value; it cannot be binned.", "bad_bins")
        return edges, f"{column} in {len(edges) - 1} equal-count bins (quantiles)"
    if not bins or isinstance(bins, int) or len(bins) < 2 or len(bins) > MAX_BINS + 1:
        raise ToolError(
            "Give `bins` as a list of 2 or more edges, e.g. [0, 18, 65, 120], or as a number of "
            "equal-count bins, e.g. 4.",
            "bad_bins",
        )
    edges = [float(edge) for edge in bins]
    if any(low >= high for low, high in itertools.pairwise(edges)):
        raise ToolError(f"Bin edges must increase; got {list(bins)}.", "bad_bins")
    return edges, f"{column} in {len(edges) - 1} bins with edges {edges}"


def _interval_labels(edges: list[float]) -> list[str]:
    """ "[0, 10]", "(10, 20]", …: the first bin includes its lower edge, as the binning does."""
    for digits in (6, 15):
        shown = [f"{edge:.{digits}g}" for edge in edges]
        labels = [
            f"{'[' if index == 0 else '('}{low}, {high}]"
            for index, (low, high) in enumerate(itertools.pairwise(shown))
        ]
        if len(set(labels)) == len(labels):
            break
    return labels


def _length(frame: pd.DataFrame, column: str) -> Computed:
    series = frame[column]
    if (
        is_numeric(series)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_datetime64_any_dtype(series)
    ):
        raise ToolError(
            f"'length' counts the characters of text, but '{column}' is {column_kind(series)}. "
            "Convert it with cast_column to='text' first.",
            "wrong_type",
        )
    return series.astype("string").str.len().astype("Int64"), f"the text length of {column}", {}


def _date_part(frame: pd.DataFrame, column: str, part: str | None) -> Computed:
    if part not in DATE_PARTS:
        raise ToolError(
            f"'date_part' needs `part`, one of {', '.join(DATE_PARTS)}; got {part!r}.",
            "bad_argument",
        )
    series = frame[column]
    dates = series if pd.api.types.is_datetime64_any_dtype(series) else as_dates(series)
    if dates is None:
        raise ToolError(
            f"'date_part' needs dates, but '{column}' is {column_kind(series)} and does not read "
            "as dates. Use a date column, or convert one with cast_column to='datetime'.",
            "not_a_date",
        )
    values = pd.Series(DATE_PARTS[part](dates.dt), frame.index).astype("Int64")
    unread = int((series.notna() & dates.isna()).sum())
    how = f"the {part} of {column}" + (" (0 = Monday)" if part == "weekday" else "")
    if unread:
        how += f"; {unread:,} values that are not dates are missing"
    return values, how, {"could_not_read": unread or None}


def _log_or_abs(frame: pd.DataFrame, column: str, operation: str) -> Computed:
    require_numeric(frame, [column], f"'{operation}'")
    values = frame[column].astype("float64")
    if operation == "abs":
        return values.abs(), f"the absolute value of {column}", {}
    positive = values > 0
    result = pd.Series(np.log(values.where(positive)), frame.index)
    how = f"the natural logarithm of {column}"
    skipped = int((values.notna() & ~positive).sum())
    if skipped:
        how += f"; {skipped:,} values of 0 or less are missing"
    return result, how, {"not_positive": skipped or None}
