"""Aggregates of one table: numeric columns summarised per group, and a column's most frequent
values with their counts and shares."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

from data_science.errors import ToolError
from data_science.ml.analysis.common import (
    MAX_GROUPS,
    MAX_TOP_K,
    cell,
    hashable,
    numeric_values,
    pct,
    require_numeric,
    unique,
)
from data_science.ml.common import STD_MEANING, std_ddof
from data_science.ml.large import count_values, group_rows
from data_science.storage.large import LargeTable, empty_frame
from data_science.storage.tables import TableFile, column_kind

AGGREGATIONS = ("count", "mean", "median", "sum", "min", "max", "std")


def group_by(
    table: TableFile,
    group_columns: list[str],
    value_columns: list[str],
    aggregations: list[str],
    std: str = "sample",
) -> dict[str, Any]:
    """Aggregates of numeric columns per group: the 50 groups with the largest first aggregate.

    The "std" aggregate is the `std` ("sample" or "population") standard deviation."""
    group_columns, value_columns = unique(group_columns), unique(value_columns)
    aggregations = unique(aggregations) or ["count", "mean"]
    _check_group_arguments(group_columns, value_columns, aggregations)
    ddof = std_ddof(std)
    # A large table is checked on its column types alone and grouped by DuckDB over its file.
    frame = empty_frame(table) if isinstance(table, LargeTable) else table.load()
    for name in value_columns:
        require_numeric(
            frame,
            name,
            "Aggregating",
            " Put text columns in `group_columns`, or count their values with value_counts.",
        )
    if isinstance(table, LargeTable):
        records, total, used, sorted_by = group_rows(
            table, group_columns, value_columns, aggregations, std, MAX_GROUPS
        )
        return _grouping(
            (group_columns, value_columns, aggregations, std),
            (used, table.rows - used, total, sorted_by),
            records,
        )
    data = (
        frame[group_columns]
        .apply(hashable)
        .assign(**{name: numeric_values(frame[name]) for name in value_columns})
    )
    missing_keys = data[group_columns].isna().any(axis=1)
    data = data[~missing_keys]
    grouped = data.groupby(group_columns, observed=True, sort=False, dropna=True)
    result, sorted_by = _aggregate(grouped, value_columns, aggregations, ddof)
    shown = result.head(MAX_GROUPS).reset_index()
    return _grouping(
        (group_columns, value_columns, aggregations, std),
        (len(data), int(missing_keys.sum()), len(result), sorted_by),
        shown.to_dict(orient="records"),
    )


def _grouping(
    asked: tuple[list[str], list[str], list[str], str],
    counts: tuple[int, int, int, str],
    records: list[dict[Any, Any]],
) -> dict[str, Any]:
    """group_by's answer: what was `asked` (groups, values, aggregations, std), the `counts`
    (rows used, rows missing a group, groups, the sort column) and the groups shown."""
    group_columns, value_columns, aggregations, std = asked
    used, missing, total, sorted_by = counts
    groups = [{str(key): cell(value) for key, value in record.items()} for record in records]
    return {
        "group_columns": group_columns,
        "value_columns": value_columns,
        "aggregations": aggregations if value_columns else [],
        **({"std": STD_MEANING[std]} if value_columns and "std" in aggregations else {}),
        "rows_used": used,
        "rows_missing_group": missing,
        "total_groups": total,
        "groups_shown": len(groups),
        "sorted_by": f"{sorted_by} (descending)",
        "groups": groups,
    }


def _check_group_arguments(
    group_columns: list[str], value_columns: list[str], aggregations: list[str]
) -> None:
    unknown = [name for name in aggregations if name not in AGGREGATIONS]
    if unknown:
        raise ToolError(
            f"Unknown aggregation {', '.join(unknown)}. Use any of: {', '.join(AGGREGATIONS)}.",
            "bad_argument",
        )
    if not group_columns:
        raise ToolError("Give at least one column in `group_columns`.", "missing_argument")
    both = set(group_columns) & set(value_columns)
    if both:
        raise ToolError(
            f"{', '.join(sorted(both))} cannot be both a group column and a value column.",
            "bad_argument",
        )


def _aggregate(
    grouped: Any, value_columns: list[str], aggregations: list[str], ddof: int
) -> tuple[pd.DataFrame, str]:
    """Rows per group and each `<column>_<aggregation>`, largest first aggregate first; and
    the name of the column the groups are sorted by."""
    result = grouped.size().rename("rows").to_frame()
    if value_columns:
        aggregated = grouped[value_columns].agg(aggregations)
        pairs = cast(list[tuple[str, str]], list(aggregated.columns))
        if "std" in aggregations:  # pandas' "std" is the sample one: computed with our ddof
            for column in value_columns:
                aggregated[(column, "std")] = grouped[column].std(ddof=ddof)
        aggregated.columns = pd.Index([f"{column}_{how}" for column, how in pairs])
        result = aggregated.join(result)
        sorted_by = f"{value_columns[0]}_{aggregations[0]}"
    else:
        sorted_by = "rows"
    result = result.sort_values(sorted_by, ascending=False, na_position="last", kind="stable")
    return result, sorted_by


def value_counts(table: TableFile, column: str, top_k: int) -> dict[str, Any]:
    """Counts and percentages of a column's most frequent values, missing included."""
    if not 1 <= top_k <= MAX_TOP_K:
        raise ToolError(f"`top_k` must be between 1 and {MAX_TOP_K}.", "bad_argument")
    if isinstance(table, LargeTable):
        return _value_counts_large(table, column, top_k)
    series = hashable(table.load()[column])
    rows = len(series)
    counts = series.value_counts(dropna=False)
    top = counts.head(top_k)
    values = [
        {"value": cell(key), "count": int(count), "pct": pct(int(count), rows)}
        for key, count in top.items()
    ]
    missing = int(series.isna().sum())
    distinct = int(series.nunique(dropna=True))
    return _counted(column, column_kind(series), (rows, distinct, missing, len(counts)), values)


def _value_counts_large(table: LargeTable, column: str, top_k: int) -> dict[str, Any]:
    """`value_counts` of a large table, counted by DuckDB over its file."""
    top, distinct, missing = count_values(table, column, top_k)
    values = [
        {"value": cell(key), "count": count, "pct": pct(count, table.rows)} for key, count in top
    ]
    kind = column_kind(empty_frame(table)[column])
    groups = distinct + (1 if missing else 0)
    return _counted(column, kind, (table.rows, distinct, missing, groups), values)


def _counted(
    column: str, kind: str, counts: tuple[int, int, int, int], values: list[dict[str, Any]]
) -> dict[str, Any]:
    """value_counts' answer: `counts` are the rows, distinct values, missing values and
    distinct values with missing as one; `values` the most frequent ones."""
    rows, distinct, missing, groups = counts
    rest = rows - sum(int(entry["count"]) for entry in values)
    return {
        "column": column,
        "type": kind,
        "rows": rows,
        "distinct": distinct,
        "missing": missing,
        "missing_pct": pct(missing, rows),
        "values": values,
        "other_values": {
            "distinct": groups - len(values),
            "count": rest,
            "pct": pct(rest, rows),
        },
    }
