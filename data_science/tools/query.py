"""SQL over the chat's datasets (DuckDB): one SELECT whose result becomes a new dataset.

What makes it safe lives in `data_science.ml.query`: a fresh, locked, in-memory DuckDB per
query in a worker process, seeing only this chat's tables. This tool hands it the chat's
datasets (never another chat's: the workspace holds only this user's session) and stores the
result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.ml.arguments import SessionTable, SqlLimits
from data_science.ml.common import SEED
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import for_aggregates
from data_science.storage.workspace import Workspace
from data_science.tools.base import derive_table, run_blocking, settings_for, tool, workspace_for

if TYPE_CHECKING:
    from data_science.ml import query
else:  # computed in the worker processes only (runtime/remote.py)
    query = in_workers("data_science.ml.query")


@tool
async def run_sql(sql: str, tool_context: ToolContext) -> dict[str, Any]:
    """Run one SQL SELECT (DuckDB) over this chat's datasets; the result is a new dataset.

    Use it when a query says it best: joins between datasets, window functions, several steps
    at once (WITH … SELECT), HAVING. For a plain filter, new column or sort, filter_rows,
    derive_column and sort_rows are simpler.

    Each dataset is a table named by its dataset id (e.g. FROM ds_0123456789abcdef), and also
    by its name made safe when no other dataset shares it: lower case, the file extension
    dropped, other characters as "_" ("Sales 2024.csv" → sales_2024). Quote column names with
    spaces or capitals in double quotes. Only a single SELECT runs (WITH … SELECT included):
    nothing is changed, no file or URL is read or written, and a query is stopped when it runs
    too long, needs too much memory or returns too many rows.
    Returns the new `dataset_id`, its `rows` and `columns`, a `preview` of the first rows (none
    in summary mode) and the `tables_used`.
    """
    settings = settings_for(tool_context)
    workspace = workspace_for(tool_context)
    tables = await run_blocking(_session_tables, workspace, settings)
    limits = SqlLimits(
        timeout_seconds=settings.SQL_TIMEOUT_SECONDS,
        memory_bytes=settings.SQL_MEMORY_BYTES,
        threads=settings.SQL_THREADS,
        max_rows=settings.SQL_MAX_ROWS,
        max_columns=settings.MAX_TABLE_COLUMNS,
        preview_rows=settings.MAX_SAMPLE_ROWS,
        summary_only=settings.SUMMARY_MODE_ONLY,
    )
    # The query's tables first (a quick parse in a worker): the result is named after them.
    used = await run_cpu(query.tables_in_query, sql, tables, limits, lane="quick")
    source = next(entry for entry in tables if entry.dataset_id == used[0])
    saved, report = await derive_table(
        workspace,
        parent_id=source.dataset_id,
        name=f"{source.name} (SQL)",
        produce=lambda path: run_cpu(
            query.run_query_to_file, sql, tables, limits, path, lane="quick"
        ),
        description=lambda report: str(report["action"]),
    )
    return {"dataset_id": saved.id, **report}


def _session_tables(workspace: Workspace, settings: Settings) -> list[SessionTable]:
    """Every table of the calling user's current session, oldest first; a large one is read
    by the query from its file (storage/large.py), never loaded whole."""
    return [
        SessionTable(
            record.id, record.name, for_aggregates(workspace.table_file(record.id), settings, SEED)
        )
        for record in workspace.items("table")
    ]
