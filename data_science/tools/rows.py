"""Row tools: keep the rows that meet conditions, derive a new column, sort and take the top N.

Each writes a NEW dataset (the original never changes) and returns its `dataset_id`, the
`source_dataset_id`, an `action` sentence, `rows_before`, `rows_after`, the `columns` and a
`preview` of the first rows (no preview in summary mode). The computations run in a worker
(`data_science.ml.rows`, `data_science.ml.derive`); these tools resolve ids and column names.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.errors import ToolError
from data_science.ml.derive import Derivation, check_derivation, derive_column_to_file
from data_science.ml.rows import filter_rows_to_file, parse_conditions, sort_rows_to_file
from data_science.tools.base import (
    column_names,
    resolve_column,
    run_blocking,
    settings_for,
    tool,
    workspace_for,
)
from data_science.tools.prep import _derive

Operation = Literal[
    "add", "subtract", "multiply", "divide",
    "sum", "mean", "min", "max",
    ">", ">=", "<", "<=", "==", "!=",
    "bin", "length", "date_part", "log", "abs",
]  # fmt: skip
DatePart = Literal["year", "quarter", "month", "day", "weekday", "hour"]


@tool
async def filter_rows(
    dataset_id: str,
    conditions: list[dict[str, Any]],
    tool_context: ToolContext,
    match: Literal["all", "any"] = "all",
) -> dict[str, Any]:
    """Keep only the rows that meet conditions, as a new dataset.

    For "flights from JFK", "rows where sales > 1000", "customers over 60".

    `conditions`: a list of {"column": name, "op": operation, "value": ...}. Operations:
    "==", "!=", ">", ">=", "<", "<=" (a number or a text; dates compare as dates, also a text
    column holding dates); "in", "not_in" (value: a list); "between" (value: [low, high], both
    included); "is_missing", "not_missing" (no value); "contains", "starts_with", "ends_with"
    (value: text, case ignored). A missing value matches no comparison, only "is_missing".
    `match`: "all" (every condition holds) or "any" (at least one holds).
    Example, flights from JFK delayed over an hour: [{"column": "origin", "op": "==",
    "value": "JFK"}, {"column": "dep_delay", "op": ">", "value": 60}].
    """
    parsed = parse_conditions(conditions)
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    names = column_names(record)
    resolved = [
        dataclasses.replace(condition, column=resolve_column(names, condition.column))
        for condition in parsed
    ]
    preview = settings_for(tool_context).MAX_SAMPLE_ROWS
    return await _derive(
        workspace, record, "filtered", filter_rows_to_file, preview, resolved, match
    )


@tool
async def derive_column(
    dataset_id: str,
    name: str,
    operation: Operation,
    columns: list[str],
    tool_context: ToolContext,
    value: float | str | None = None,
    bins: list[float] | int | None = None,
    labels: list[str] | None = None,
    part: DatePart | None = None,
) -> dict[str, Any]:
    """Add one computed column `name` to a copy of the dataset, as a new dataset.

    `operation` and its inputs:
    "add", "subtract", "multiply", "divide": columns[0] with columns[1], or with the number
    `value` when one column is given (division by a zero in a column gives a missing value);
    "sum", "mean", "min", "max": row-wise over all `columns` (missing values skipped);
    ">", ">=", "<", "<=", "==", "!=": a true/false flag, columns[0] against `value` or
    against columns[1];
    "bin": columns[0] cut into bins: `bins` as a list of edges ([0, 18, 65, 120]; the first
    bin includes its lower edge) or as a number of equal-count (quantile) bins; `labels`
    optionally names them;
    "length": the text length of columns[0];
    "date_part": the `part` ("year", "quarter", "month", "day", "weekday" with 0 = Monday, or
    "hour") of the date column columns[0];
    "log" (natural; values of 0 or less give missing), "abs": of columns[0].
    Example, price per carat: {"name": "price_per_carat", "operation": "divide",
    "columns": ["price", "carat"]}.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    names = column_names(record)
    spec = Derivation(
        name=name.strip(),
        operation=operation,
        columns=tuple(dict.fromkeys(resolve_column(names, column) for column in columns)),
        value=value,
        bins=tuple(bins) if isinstance(bins, list) else bins,
        labels=tuple(str(label) for label in labels) if labels is not None else None,
        part=part,
    )
    check_derivation(spec, names)
    preview = settings_for(tool_context).MAX_SAMPLE_ROWS
    return await _derive(workspace, record, f"+ {spec.name}", derive_column_to_file, preview, spec)


@tool
async def sort_rows(
    dataset_id: str,
    by: list[str],
    tool_context: ToolContext,
    descending: bool = False,
    limit: int | None = None,
) -> dict[str, Any]:
    """Sort the rows by columns, optionally keeping the top or bottom N, as a new dataset.

    For "sort by date", "the 5 most expensive" (keep the first `limit` rows).
    `by`: the columns, most important first. `descending`: largest (or latest) first.
    Missing values go last; equal rows keep their order. Example, the 5 largest by revenue:
    {"by": ["revenue"], "descending": true, "limit": 5}.
    """
    if not by:
        raise ToolError("Name at least one column to sort `by`.", "no_columns")
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    names = column_names(record)
    chosen = list(dict.fromkeys(resolve_column(names, column) for column in by))
    label = f"top {limit}" if limit is not None else "sorted"
    preview = settings_for(tool_context).MAX_SAMPLE_ROWS
    return await _derive(
        workspace, record, label, sort_rows_to_file, preview, chosen, descending, limit
    )
