"""Cleaning and preprocessing tools. Each writes a NEW dataset; the original is never changed.

Every result holds the new `dataset_id`, the `source_dataset_id`, an `action` sentence, rows and
columns before and after, the changed/added/removed columns, the counts behind the change and a
few preview rows of what changed (no cell values in summary mode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.errors import ToolError
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import Lane, run_cpu
from data_science.storage.workspace import ItemRecord, Workspace
from data_science.tools.base import (
    column_names,
    derive_table,
    resolve_column,
    run_blocking,
    settings_for,
    tool,
    workspace_for,
)

# Imputers that fit a model on the table (heavy lane).
MODEL_IMPUTERS = frozenset({"knn", "iterative"})

if TYPE_CHECKING:
    from data_science.ml.prep import cleaning, encoding
else:  # computed in the worker processes only (runtime/remote.py)
    cleaning = in_workers("data_science.ml.prep.cleaning")
    encoding = in_workers("data_science.ml.prep.encoding")


async def _open(tool_context: ToolContext, dataset_id: str) -> tuple[Workspace, ItemRecord]:
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    return workspace, record


def _resolve_all(record: ItemRecord, columns: list[str] | None) -> list[str] | None:
    """The real names of `columns` (None or empty: None), without repeats."""
    if not columns:
        return None
    names = column_names(record)
    return list(dict.fromkeys(resolve_column(names, column) for column in columns))


async def _derive(
    workspace: Workspace,
    record: ItemRecord,
    label: str,
    function: Callable[..., dict[str, Any]],
    *args: Any,
    lane: Lane = "quick",
) -> dict[str, Any]:
    """Run `function(table, out_path, summary_only, *args)` in a worker; store its output table.

    A data change is one pass over the table, so the quick lane, except where a model is
    fitted to make it (KNN and iterative imputation).
    """
    table = await run_blocking(workspace.table_file, record.id)
    summary_only = workspace.settings.SUMMARY_MODE_ONLY
    saved, report = await derive_table(
        workspace,
        parent_id=record.id,
        name=f"{record.name} ({label})",
        produce=lambda path: run_cpu(function, table, path, summary_only, *args, lane=lane),
        description=lambda report: str(report["action"]),
    )
    return {"dataset_id": saved.id, "source_dataset_id": record.id, **report}


@tool
async def impute_missing(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    strategy: Literal["median", "mean", "most_frequent", "constant", "knn", "iterative"] = "median",
    fill_value: str | None = None,
) -> dict[str, Any]:
    """Fill missing values and save the result as a new dataset; use when data has gaps.

    `strategy`: 'median' or 'mean' (numeric columns), 'most_frequent' (any column, e.g. text),
    'constant' (needs `fill_value`, a number for numeric columns or any text), 'knn' (numeric:
    average of the 5 most similar rows on the standardized numeric columns), 'iterative'
    (numeric: each column predicted from the others, IterativeImputer, seed 42).
    `columns`: the columns to fill; leave empty for every column with gaps (for numeric
    strategies, text columns with gaps are listed under `skipped_columns`).
    Returns the new `dataset_id`, values filled per column, the fill value used per column
    (simple strategies), and a preview of filled rows.
    """
    workspace, record = await _open(tool_context, dataset_id)
    chosen = _resolve_all(record, columns)
    return await _derive(
        workspace,
        record,
        f"{strategy} imputed",
        cleaning.impute_to_file,
        chosen,
        strategy,
        fill_value,
        lane="heavy" if strategy in MODEL_IMPUTERS else "quick",
    )


@tool
async def drop_columns(
    dataset_id: str, columns: list[str], tool_context: ToolContext
) -> dict[str, Any]:
    """Remove columns and save the rest as a new dataset.

    `columns`: the names of the columns to remove. Returns the new `dataset_id` and the
    columns before and after.
    """
    workspace, record = await _open(tool_context, dataset_id)
    chosen = _resolve_all(record, columns)
    if not chosen:
        raise ToolError("Name at least one column to drop.", code="no_columns")
    return await _derive(
        workspace, record, "columns dropped", cleaning.drop_columns_to_file, chosen
    )


@tool
async def rename_columns(
    dataset_id: str, mapping: dict[str, str], tool_context: ToolContext
) -> dict[str, Any]:
    """Rename columns and save the result as a new dataset.

    `mapping`: old name → new name, e.g. {"bill_length_mm": "bill_length"}. Refused when two
    columns would end up with the same name. Returns the new `dataset_id` and the renames.
    """
    workspace, record = await _open(tool_context, dataset_id)
    if not mapping:
        raise ToolError(
            'Give `mapping` as {"old name": "new name"}, at least one pair.', "no_columns"
        )
    names = column_names(record)
    resolved = {resolve_column(names, old): str(new).strip() for old, new in mapping.items()}
    return await _derive(workspace, record, "renamed", cleaning.rename_columns_to_file, resolved)


@tool
async def cast_column(
    dataset_id: str,
    column: str,
    tool_context: ToolContext,
    to: Literal["integer", "number", "text", "datetime", "category", "boolean"] = "number",
) -> dict[str, Any]:
    """Convert one column to another type (e.g. numbers stored as text) into a new dataset.

    `to`: 'integer' (whole numbers; decimals cannot convert), 'number', 'text', 'datetime'
    (many date formats understood), 'category', 'boolean' (true/false, yes/no, y/n, 1/0).
    Numbers may be written with thousands separators ("5,350,380"), a currency sign
    ("$1,200.50", "€5", "-$4"), a percent sign ("12.5%" becomes 12.5, the number as shown) or
    accounting parentheses ("(1,000)" becomes -1000); the `action` sentence says what was
    read. Decimal commas ("1.234,5") are ambiguous and never guessed: they stay missing and
    are counted. Values that cannot be converted become missing: the result reports how many
    (`could_not_convert`) with a few examples, never failing silently.
    """
    workspace, record = await _open(tool_context, dataset_id)
    column = resolve_column(column_names(record), column)
    return await _derive(
        workspace, record, f"{column} as {to}", cleaning.cast_column_to_file, column, to
    )


@tool
async def remove_duplicates(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    keep: Literal["first", "last", "none"] = "first",
) -> dict[str, Any]:
    """Remove duplicate rows and save the result as a new dataset.

    `columns`: rows count as duplicates when equal in these columns (empty: in all columns).
    `keep`: which copy stays: 'first', 'last', or 'none' (drop every copy of a duplicated row).
    Returns the new `dataset_id`, `rows_removed` and the number of duplicate groups.
    """
    workspace, record = await _open(tool_context, dataset_id)
    chosen = _resolve_all(record, columns)
    return await _derive(
        workspace, record, "duplicates removed", cleaning.remove_duplicates_to_file, chosen, keep
    )


@tool
async def handle_outliers(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    method: Literal["iqr", "zscore"] = "iqr",
    action: Literal["clip", "remove"] = "clip",
    threshold: float | None = None,
) -> dict[str, Any]:
    """Clip extreme numeric values to bounds, or remove the rows holding them, as a new dataset.

    `method`: 'iqr' (outside Q1 - t·IQR .. Q3 + t·IQR, t defaults to 1.5) or 'zscore' (more
    than t standard deviations from the mean, t defaults to 3). `threshold`: t.
    `action`: 'clip' (replace by the nearest bound) or 'remove' (drop the rows).
    `columns`: numeric columns to check; empty means all numeric columns except row ids and
    0/1 columns. Returns each column's bounds and counts below/above them.
    """
    workspace, record = await _open(tool_context, dataset_id)
    chosen = _resolve_all(record, columns)
    return await _derive(
        workspace,
        record,
        f"outliers {'clipped' if action == 'clip' else 'removed'}",
        cleaning.handle_outliers_to_file,
        chosen,
        method,
        action,
        threshold,
    )


@tool
async def scale_columns(
    dataset_id: str,
    tool_context: ToolContext,
    columns: list[str] | None = None,
    method: Literal["standard", "minmax", "robust"] = "standard",
) -> dict[str, Any]:
    """Rescale numeric columns in place (same names) into a new dataset.

    `method`: 'standard' (mean 0, std 1), 'minmax' (range 0..1), 'robust' (median 0, IQR 1;
    resists outliers). `columns`: numeric columns; empty means all numeric columns except row
    ids. Returns the new `dataset_id` and each column's parameters (mean/std, min/max or
    median/IQR).
    """
    workspace, record = await _open(tool_context, dataset_id)
    chosen = _resolve_all(record, columns)
    return await _derive(
        workspace, record, f"{method} scaled", encoding.scale_to_file, chosen, method
    )


@tool
async def encode_columns(
    dataset_id: str,
    columns: list[str],
    tool_context: ToolContext,
    method: Literal["onehot", "ordinal", "target"] = "onehot",
    target: str | None = None,
) -> dict[str, Any]:
    """Turn category (text) columns into numbers, as a new dataset.

    `method`: 'onehot' (a 0/1 column per value named <column>_<value>, replacing the column;
    values beyond the 50 most frequent share <column>_other), 'ordinal' (sorted categories
    coded 0..n-1 in place), 'target' (each category replaced by the smoothed mean of `target`,
    cross-fitted so a row never sees its own target; one column per class for multiclass
    targets). `target` is needed only for 'target'. Returns the new `dataset_id` and the
    columns made.
    """
    workspace, record = await _open(tool_context, dataset_id)
    chosen = _resolve_all(record, columns)
    if not chosen:
        raise ToolError("Name at least one column to encode.", code="no_columns")
    target_column = (
        resolve_column(column_names(record), target, "target column")
        if target and method == "target"
        else None
    )
    return await _derive(
        workspace,
        record,
        f"{method} encoded",
        encoding.encode_to_file,
        chosen,
        method,
        target_column,
        settings_for(tool_context).MAX_TABLE_COLUMNS,
    )


@tool
async def expand_dates(dataset_id: str, column: str, tool_context: ToolContext) -> dict[str, Any]:
    """Split a date column into numeric parts a model can use, as a new dataset.

    Adds <column>_year, _month, _day, _weekday (0 = Monday), _dayofyear, _hour (only when the
    values have a time of day) and _is_weekend (1/0); the date column itself stays. Returns
    the new `dataset_id` and how many values could not be read as dates.
    """
    workspace, record = await _open(tool_context, dataset_id)
    column = resolve_column(column_names(record), column, "date column")
    return await _derive(
        workspace, record, f"{column} expanded", encoding.expand_dates_to_file, column
    )


@tool
async def text_to_tfidf(
    dataset_id: str, column: str, tool_context: ToolContext, max_features: int = 100
) -> dict[str, Any]:
    """Turn a free-text column into TF-IDF word-weight columns (tfidf_<word>), as a new dataset.

    Use for text such as reviews or notes before training or clustering. English stop words
    are ignored; `max_features` (1 to 1000) keeps the most frequent words. The text column itself
    stays. Returns the new `dataset_id` and the highest-weighted words (in summary mode the
    columns are numbered, tfidf_1…, and the words are not shown).
    """
    workspace, record = await _open(tool_context, dataset_id)
    column = resolve_column(column_names(record), column, "text column")
    return await _derive(
        workspace,
        record,
        f"{column} TF-IDF",
        encoding.tfidf_to_file,
        column,
        max_features,
        settings_for(tool_context).MAX_TABLE_COLUMNS,
    )
