"""The aggregates of a large table, computed by DuckDB over its Parquet file (worker side).

A large table (storage/large.py) is never read whole here: each query reads only the columns
it names, under the table's memory limit, and returns the same numbers pandas computes on the
whole frame (pandas' rules are followed where SQL's differ: missing group keys left out,
infinities counted as missing, ties in first-appearance order).

The queries are built from column names (each through `quoted`) and this module's own SQL; no
value from a request is ever part of their text (hence `noqa: S608` and `nosec B608`).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow
from pyarrow import parquet as parquet_module

from data_science.ml.common import std_ddof
from data_science.runtime.workers import job_threads
from data_science.storage.large import LargeTable, empty_frame
from data_science.storage.tables import as_loaded, column_kind

# pyarrow.parquet has no type hints, which strict mypy refuses to call.
parquet: Any = parquet_module

TOP_VALUES = 5  # most frequent values a profile shows of a text column
BATCH_ROWS = 1_000_000  # values held at once while a histogram counts a column
SQL_AGGREGATES = {  # group_by's aggregations of `{v}`, a column of finite floats or nulls
    "count": "count({v})",
    "mean": "avg({v})",
    "median": "quantile_cont({v}, 0.5)",
    "sum": "coalesce(sum({v}), 0)",  # pandas sums a group with no values to 0
    "min": "min({v})",
    "max": "max({v})",
}
STD_SQL = {1: "stddev_samp({v})", 0: "stddev_pop({v})"}


def connect(table: LargeTable) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB connection whose view `t` is the table's Parquet file (with each row's
    position in `file_row_number`), held to the table's memory limit and the call's threads."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": f"{table.memory_bytes}B",
        "threads": str(job_threads()),
        # What does not fit spills here (an in-memory database would use the working directory).
        "temp_directory": str(Path(tempfile.gettempdir()) / f"duckdb-spill-{os.getpid()}"),
    }
    connection = duckdb.connect(":memory:", config=config)
    connection.execute("SET enable_progress_bar = false")  # its output is the server's log
    connection.read_parquet(str(table.local_path()), file_row_number=True).create_view("t")
    return connection


def quoted(name: str) -> str:
    """A column name as a DuckDB identifier, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'


def finite(name: str) -> str:
    """The column as floats, infinities as missing (ml/analysis/common.numeric_values)."""
    value = f"CAST({quoted(name)} AS DOUBLE)"
    return f"CASE WHEN isfinite({value}) THEN {value} END"


# Profile -----------------------------------------------------------------------------------------
def column_statistics(
    table: LargeTable, columns: list[str], summary_only: bool, std: str
) -> tuple[int, list[dict[str, Any]]]:
    """The duplicate row count and each column's profile entry (ml/profile._profile_column)."""
    ddof = std_ddof(std)
    empty = empty_frame(table)
    with closing(connect(table)) as connection:
        [(distinct,)] = connection.execute(
            "SELECT count(*) FROM (SELECT DISTINCT * EXCLUDE (file_row_number) FROM t)"
        ).fetchall()
        entries = [
            _column_profile(
                connection, table.rows, name, str(empty[name].dtype), summary_only, ddof
            )
            for name in columns
        ]
    return table.rows - int(distinct), entries


def _column_profile(
    connection: duckdb.DuckDBPyConnection,
    rows: int,
    name: str,
    dtype: str,
    summary_only: bool,
    ddof: int,
) -> dict[str, Any]:
    column = quoted(name)
    kind = column_kind(pd.Series([], dtype=dtype))
    [(present, unique)] = connection.execute(
        f"SELECT count({column}), count(DISTINCT {column}) FROM t"  # noqa: S608  # nosec B608
    ).fetchall()
    missing = rows - int(present)
    entry: dict[str, Any] = {
        "name": name,
        "dtype": dtype,
        "missing": missing,
        "missing_pct": round(100 * missing / rows, 2) if rows else 0.0,
        "unique": int(unique),
    }
    if kind in {"integer", "number"}:
        if present:
            value = f"CAST({column} AS DOUBLE)"
            spread = STD_SQL[ddof].format(v=value)
            [(mean, deviation, low, quartiles, high)] = connection.execute(
                f"SELECT avg({value}), {spread}, min({value}), "  # noqa: S608  # nosec B608
                f"quantile_cont({value}, [0.25, 0.5, 0.75]), max({value}) FROM t"
            ).fetchall()
            entry.update(
                mean=mean,
                std=float("nan") if deviation is None else deviation,  # one value, n - 1 = 0
                min=low,
                q1=quartiles[0],
                median=quartiles[1],
                q3=quartiles[2],
                max=high,
            )
    elif not summary_only or kind == "text":
        top = connection.execute(
            f"SELECT {column}, count(*) FROM t WHERE {column} IS NOT NULL "  # noqa: S608  # nosec B608
            f"GROUP BY {column} ORDER BY count(*) DESC, min(file_row_number) LIMIT {TOP_VALUES}"
        ).fetchall()
        entry["top_values"] = {str(value): int(count) for value, count in top}
    return entry


def first_rows(table: LargeTable, columns: list[str], count: int) -> list[dict[str, Any]]:
    """The table's first `count` rows of `columns`, read from the start of the file only."""
    file = parquet.ParquetFile(table.local_path())
    batch = next(file.iter_batches(batch_size=count, columns=columns), None)
    if batch is None:
        return []
    head = as_loaded(pyarrow.Table.from_batches([batch])).head(count).astype(object)
    return [{str(key): value for key, value in row.items()} for row in head.to_dict("records")]


# Group by ----------------------------------------------------------------------------------------
def group_rows(
    table: LargeTable,
    group_columns: list[str],
    value_columns: list[str],
    aggregations: list[str],
    std: str,
    limit: int,
) -> tuple[list[dict[str, Any]], int, int, str]:
    """The `limit` groups with the largest first aggregate (ml/analysis/aggregate.group_by's
    order: ties in first appearance), the number of groups, the rows with a complete group key,
    and the name of the column the groups are sorted by."""
    ddof = std_ddof(std)
    keys = ", ".join(quoted(name) for name in group_columns)
    complete = " AND ".join(f"{quoted(name)} IS NOT NULL" for name in group_columns)
    # Inner names no column of the table can clash with: the values by position.
    selected = [f"{finite(name)} AS __value_{index}" for index, name in enumerate(value_columns)]
    measures = [
        SQL_AGGREGATES.get(how, STD_SQL[ddof]).format(v=f"__value_{index}")
        + f" AS {quoted(name + '_' + how)}"
        for index, name in enumerate(value_columns)
        for how in aggregations
    ]
    sorted_by = f"{value_columns[0]}_{aggregations[0]}" if value_columns else "rows"
    query = (
        f"SELECT {keys}, {''.join(m + ', ' for m in measures)}count(*) AS rows, "  # noqa: S608  # nosec B608
        f"count(*) OVER (), sum(count(*)) OVER () FROM "
        f"(SELECT {keys}, {''.join(s + ', ' for s in selected)}file_row_number FROM t "
        f"WHERE {complete}) GROUP BY {keys} "
        f"ORDER BY {quoted(sorted_by)} DESC NULLS LAST, min(file_row_number) LIMIT {limit}"
    )
    with closing(connect(table)) as connection:
        result = connection.execute(query)
        names = [column[0] for column in result.description or []][:-2]
        rows = result.fetchall()
    # The last two columns, the same on every row: the number of groups and the rows used.
    total, used = (int(rows[0][-2]), int(rows[0][-1])) if rows else (0, 0)
    records = [dict(zip(names, row[:-2], strict=True)) for row in rows]
    return records, total, used, sorted_by


# Value counts ------------------------------------------------------------------------------------
def count_values(
    table: LargeTable, column: str, top_k: int
) -> tuple[list[tuple[Any, int]], int, int]:
    """The `top_k` most frequent values of `column` (missing as None) with their counts (ties
    in first-appearance order), its number of distinct values and of missing values."""
    name = quoted(column)
    with closing(connect(table)) as connection:
        top = connection.execute(
            f"SELECT {name}, count(*) FROM t GROUP BY {name} "  # noqa: S608  # nosec B608
            f"ORDER BY count(*) DESC, min(file_row_number) LIMIT {int(top_k)}"
        ).fetchall()
        [(distinct, present)] = connection.execute(
            f"SELECT count(DISTINCT {name}), count({name}) FROM t"  # noqa: S608  # nosec B608
        ).fetchall()
    return [(value, int(count)) for value, count in top], int(distinct), table.rows - int(present)


# Histogram ---------------------------------------------------------------------------------------
def numeric_summary(table: LargeTable, column: str) -> tuple[int, float, float, float, float]:
    """How many values `column` has, its minimum, maximum and its first and third quartiles
    (linear interpolation, as numpy's percentile)."""
    value = f"CAST({quoted(column)} AS DOUBLE)"
    with closing(connect(table)) as connection:
        [(count, low, high, quartiles)] = connection.execute(
            f"SELECT count({value}), min({value}), max({value}), "  # noqa: S608  # nosec B608
            f"quantile_cont({value}, [0.25, 0.75]) FROM t"
        ).fetchall()
    if not count:
        return 0, 0.0, 0.0, 0.0, 0.0
    return int(count), float(low), float(high), float(quartiles[0]), float(quartiles[1])


def histogram_counts(table: LargeTable, column: str, edges: np.ndarray) -> np.ndarray:
    """`numpy.histogram` of the column's values over `edges`, counted a batch at a time."""
    counts = np.zeros(len(edges) - 1, dtype=np.int64)
    file = parquet.ParquetFile(table.local_path())
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=[column]):
        values = batch.column(0).drop_null().to_numpy(zero_copy_only=False).astype(float)
        counts += np.histogram(values, bins=edges)[0]
    return counts
