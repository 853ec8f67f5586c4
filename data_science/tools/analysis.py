"""Looking closer at a dataset: rows, outliers and distributions, correlations, group aggregates,
value counts and hypothesis tests. The numbers are computed in worker processes
(`data_science.ml.analysis`); these tools resolve ids and column names and check arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.llm.model_view import check_listable, rows_for_model
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.tables import TableFile
from data_science.storage.workspace import ItemRecord
from data_science.tools.base import (
    ToolError,
    column_names,
    open_table,
    resolve_column,
    run_blocking,
    settings_for,
    tool,
    workspace_for,
)

Aggregation = Literal["count", "mean", "median", "sum", "min", "max", "std"]
StdKind = Literal["sample", "population"]

if TYPE_CHECKING:
    from data_science.ml.analysis import aggregate, correlation, describe, hypothesis
else:  # computed in the worker processes only (runtime/remote.py)
    aggregate = in_workers("data_science.ml.analysis.aggregate")
    correlation = in_workers("data_science.ml.analysis.correlation")
    describe = in_workers("data_science.ml.analysis.describe")
    hypothesis = in_workers("data_science.ml.analysis.hypothesis")


@tool
async def preview_rows(
    dataset_id: str,
    tool_context: ToolContext,
    n: int = 10,
    position: Literal["head", "tail", "random"] = "head",
    columns: list[str] | None = None,
) -> dict[str, Any]:
    """Show actual rows of a dataset: the first, the last, or a random sample of them.

    Use it when the person wants to see the data itself or specific rows (analyze_dataset
    already summarises every column). `n`: how many rows (default 10; at most
    MAX_SAMPLE_ROWS, 10 unless configured).
    `position`: "head" (first rows), "tail" (last rows) or "random" (a reproducible sample).
    `columns`: optionally only these columns. Returns each row with its row number (counting
    from 0) and its values; long text is cut to 80 characters.
    """
    settings = settings_for(tool_context)
    if settings.SUMMARY_MODE_ONLY:
        raise ToolError(
            "Rows cannot be shown: this deployment runs in summary mode, which never shows "
            "cell values. Use analyze_dataset for a summary of each column instead.",
            code="summary_mode",
        )
    record, table = await _dataset(tool_context, dataset_id)
    chosen = _columns(record, columns, "column") if columns else None
    result = await run_cpu(
        describe.preview_rows, table, n, position, chosen, settings.MAX_SAMPLE_ROWS, lane="quick"
    )
    return {"dataset_id": dataset_id, **result}


@tool
async def describe_distribution(
    dataset_id: str,
    tool_context: ToolContext,
    column: str | None = None,
    z_threshold: float = 3.0,
    std: StdKind = "sample",
    skew_kurtosis: Literal["unbiased", "biased"] = "unbiased",
) -> dict[str, Any]:
    """Find outliers in numeric columns and describe their shape (skew, tails, normality).

    Use it for questions about outliers, extreme or unusual values, skewness, or whether a
    column is normally distributed, and for a column's mean and standard deviation. Per numeric
    column (or only `column`): IQR outliers (outside Q1 - 1.5*IQR and Q3 + 1.5*IQR: count, the
    fences, the most extreme row numbers and values), z-score outliers (|z| above
    `z_threshold`, default 3) with the mean and standard deviation they use, skewness, excess
    kurtosis (0 for a normal distribution), and a Shapiro-Wilk normality test on up to 5,000
    sampled values with a one-line `shape` summary. `std`: "sample" (divides by n - 1, the
    default) or "population" (divides by n). `skew_kurtosis`: "unbiased" (bias-corrected, as
    pandas; the default) or "biased" (plain moment estimates, as scipy.stats.skew and
    kurtosis with bias=True). Missing values are left out; `n` is how many values were used.
    Row numbers count from 0 and can be looked up with preview_rows.
    """
    settings = settings_for(tool_context)
    record, table = await _dataset(tool_context, dataset_id)
    if column is not None:
        column = resolve_column(column_names(record), column)
    result = await run_cpu(
        describe.describe_distribution,
        table,
        column,
        z_threshold,
        std,
        skew_kurtosis,
        lane="quick",
    )
    for entry in result["columns"]:
        for outliers in (entry.get("iqr_outliers"), entry.get("z_outliers")):
            if outliers and "examples" in outliers:
                outliers["examples"] = rows_for_model(
                    settings, outliers["examples"], keep=("row", "z")
                )
    return {"dataset_id": dataset_id, **result}


@tool
async def correlations(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    method: Literal["pearson", "spearman", "both"] = "both",
    top_k: int = 10,
) -> dict[str, Any]:
    """Measure how strongly numeric columns move together, with p-values.

    Use it for questions like "what is correlated with price?" or "how related are X and Y?".
    `columns`: give exactly two numeric columns to get just that pair; give more to search only
    among them; leave empty to compare all numeric columns. `method`: "pearson" (linear),
    "spearman" (rank, any monotonic relation) or "both" (default). `top_k`: how many of the
    strongest pairs to return (default 10, at most 50). Each pair has `n` (rows where both are
    present), the coefficients with their p-values, and a strength label.
    """
    record, table = await _dataset(tool_context, dataset_id)
    chosen = _columns(record, columns, "column") if columns else None
    result = await run_cpu(correlation.correlations, table, chosen, method, top_k, lane="quick")
    return {"dataset_id": dataset_id, **result}


@tool
async def group_by(
    dataset_id: str,
    group_columns: list[str],
    tool_context: ToolContext,
    value_columns: list[str] | None = None,
    aggregations: list[Aggregation] | None = None,
    std: StdKind = "sample",
) -> dict[str, Any]:
    """Aggregate numeric columns per group, like a pivot table or SQL GROUP BY.

    Use it for questions like "average price per region" or "total sales by year and store".
    `group_columns`: one or more columns whose values form the groups. `value_columns`: numeric
    columns to aggregate (leave empty to only count rows per group). `aggregations`: any of
    count, mean, median, sum, min, max, std (default count and mean); `count` counts
    non-missing values; `std` is the sample standard deviation (n - 1) unless
    `std="population"` (n). Returns at most 50 groups, sorted by the first aggregate of the first
    value column (or by row count), largest first, each with its `rows`; `total_groups` says
    how many groups exist. Rows with a missing group value are left out and counted.
    """
    settings = settings_for(tool_context)
    record, table = await _dataset(tool_context, dataset_id)
    if not group_columns:
        raise ToolError(
            "Give at least one column in `group_columns` to group by. "
            f"Columns: {', '.join(column_names(record))}.",
            code="missing_argument",
        )
    groups = _columns(record, group_columns, "group column")
    for group in groups:
        check_listable(settings, group, _column_type(record, group))
    values = _columns(record, value_columns, "value column") if value_columns else []
    result = await run_cpu(
        aggregate.group_by,
        table,
        groups,
        values,
        list(aggregations or ["count", "mean"]),
        std,
        lane="quick",
    )
    return {"dataset_id": dataset_id, **result}


@tool
async def value_counts(
    dataset_id: str,
    column: str,
    tool_context: ToolContext,
    top_k: int = 20,
) -> dict[str, Any]:
    """Count how often each value of one column occurs, with percentages.

    Use it for "how many of each category?", the most common values, or how a category column
    is spread. Returns the `top_k` most frequent values (default 20, at most 50) with their
    counts and percentage of all rows; missing values are counted too and shown as a null
    `value`. Also gives the number of distinct values and what the other values add up to.
    """
    settings = settings_for(tool_context)
    record, table = await _dataset(tool_context, dataset_id)
    column = resolve_column(column_names(record), column)
    check_listable(settings, column, _column_type(record, column))
    result = await run_cpu(aggregate.value_counts, table, column, top_k, lane="quick")
    return {"dataset_id": dataset_id, **result}


@tool
async def hypothesis_test(
    dataset_id: str,
    test: Literal["t_test", "chi_square", "anova"],
    column: str,
    group_column: str,
    tool_context: ToolContext,
    groups: list[str] | None = None,
) -> dict[str, Any]:
    """Test whether a difference or an association is statistically significant (alpha 0.05).

    - test="t_test": does the mean of numeric `column` differ between two groups of
      `group_column`? (Welch's t-test, no equal-variance assumption.) `groups` names the two
      groups; by default the two largest are compared.
    - test="anova": does the mean of numeric `column` differ across the groups of
      `group_column`? (one-way ANOVA; `groups` optionally limits it to some groups.)
    - test="chi_square": are two categorical columns, `column` and `group_column`, related?
      (chi-square test of independence; returns the contingency table when it is small.)
    Returns the statistic, p-value, degrees of freedom, group sizes, means and standard
    deviations (the sample ones, n - 1, which the tests use), an effect size, and a
    one-sentence `interpretation`. Rows missing either value are left out.
    """
    settings = settings_for(tool_context)
    record, table = await _dataset(tool_context, dataset_id)
    columns = column_names(record)
    column = resolve_column(columns, column)
    group_column = resolve_column(columns, group_column, "group column")
    check_listable(settings, group_column, _column_type(record, group_column))
    if test == "chi_square":
        check_listable(settings, column, _column_type(record, column))
    result = await run_cpu(
        hypothesis.hypothesis_test, table, test, column, group_column, groups, lane="quick"
    )
    return {"dataset_id": dataset_id, **result}


async def _dataset(tool_context: ToolContext, dataset_id: str) -> tuple[ItemRecord, TableFile]:
    """The dataset's record and the handle a worker process opens it with."""
    record = await run_blocking(workspace_for(tool_context).get, dataset_id, "table")
    return record, await open_table(tool_context, dataset_id)


def _columns(record: ItemRecord, names: list[str], role: str) -> list[str]:
    known = column_names(record)
    return [resolve_column(known, name, role) for name in names]


def _column_type(record: ItemRecord, column: str) -> str:
    return next(
        (str(entry.get("type")) for entry in record.columns or [] if entry["name"] == column), ""
    )
