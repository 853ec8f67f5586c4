"""SQL over a chat's datasets, on DuckDB: one SELECT, safe by construction.

Each query runs in a worker process on a fresh in-memory DuckDB connection that is thrown away
afterwards. Before any SQL of the model's runs, the connection is closed to the world and its
configuration locked: no files, URLs, extensions or other databases (`enable_external_access`
off, extension autoloading off, Python replacement scans off, no temporary directory to spill
to), a memory limit, a thread count and a time limit (DuckDB's own `max_execution_time`, and a
timer that interrupts the connection, covering the fetch as well). Only the chat's tables that
the query names are registered, each under its dataset id and, when unique, a safe name made
from its dataset name. DuckDB's own parser decides what the text is: exactly one SELECT
(WITH … SELECT included) runs; anything else is refused with a sentence saying what would.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from pyarrow import dataset as arrow_dataset_module

from data_science.errors import ToolError
from data_science.ml.arguments import SessionTable, SqlLimits
from data_science.ml.rows import preview_records
from data_science.storage.large import LargeTable
from data_science.storage.tables import TableFile, write_parquet
from data_science.storage.workspace import ITEM_ID

# pyarrow.dataset has no type hints, which strict mypy refuses to call.
arrow_dataset: Any = arrow_dataset_module

MAX_SQL_CHARACTERS = 100_000
MAX_LISTED_TABLES = 20
MAX_ERROR_CHARACTERS = 400
FETCH_VECTORS = 64  # rows per fetched chunk: DuckDB vectors of 2,048 rows each
TABLE_EXTENSION = re.compile(r"\.(csv|tsv|txt|json|xlsx|parquet)\b", re.IGNORECASE)
# Scalars a stored table holds as they are; anything else DuckDB returns (lists, structs,
# maps, UUIDs, blobs) is stored as its text, so every later tool reads plain columns.
PLAIN_VALUES = (str, bool, int, float, date, time, pd.Timestamp, pd.Timedelta)
# Errors about the query's text and names, never its data: quoted even in summary mode.
ABOUT_THE_QUERY = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)
ONE_SELECT = (
    "Write one SELECT (WITH … SELECT is fine) over this chat's datasets; its result becomes a "
    "new dataset."
)
REFUSALS = {
    "COPY": "COPY reads or writes files, which SQL here cannot do; export_dataset downloads a "
    "dataset as CSV or Excel.",
    "ATTACH": "Other databases cannot be attached: SQL here sees only this chat's datasets.",
    "LOAD": "Extensions cannot be installed or loaded: DuckDB's built-in functions are there.",
    "SET": "Settings are fixed: SET, RESET, PRAGMA and transactions do not run here.",
    "CHANGE": "Datasets are never changed in place: select the rows and columns you want and "
    "the result becomes a new dataset.",
    "MULTI": "A PIVOT needs its values listed (PIVOT t ON col IN ('a', 'b') USING sum(x)); or "
    "use GROUP BY with sum(x) FILTER (WHERE col = 'a').",
}
REFUSAL_OF_TYPE = {
    "COPY": "COPY",
    "COPY_DATABASE": "COPY",
    "EXPORT": "COPY",
    "ATTACH": "ATTACH",
    "DETACH": "ATTACH",
    "LOAD": "LOAD",
    "EXTENSION": "LOAD",
    "SET": "SET",
    "VARIABLE_SET": "SET",
    "PRAGMA": "SET",
    "TRANSACTION": "SET",
    "MULTI": "MULTI",
    **dict.fromkeys(
        ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "MERGE_INTO", "CREATE_FUNC"),
        "CHANGE",
    ),
}


def safe_table_name(name: str) -> str | None:
    """A dataset name as a plain SQL table name: "Sales 2024.csv (filtered)" → sales_2024_filtered.

    Lower-case ASCII letters, digits and underscores; the file extension dropped; a leading
    digit gets "t_" in front. None when nothing is left, or when it looks like a dataset id.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^0-9a-zA-Z]+", "_", TABLE_EXTENSION.sub("", ascii_name)).strip("_").lower()
    if not words or ITEM_ID.match(words):
        return None
    return ("t_" + words if words[0].isdigit() else words)[:63]


def table_names(tables: list[SessionTable]) -> dict[str, SessionTable]:
    """Every name a query may use (lower case, as DuckDB compares them) → its dataset.

    Each dataset answers to its id; a safe name only when no other dataset of the chat has it.
    """
    counts: dict[str, int] = {}
    for entry in tables:
        if alias := safe_table_name(entry.name):
            counts[alias] = counts.get(alias, 0) + 1
    names: dict[str, SessionTable] = {}
    for entry in tables:
        names[entry.dataset_id.lower()] = entry
        alias = safe_table_name(entry.name)
        if alias and counts[alias] == 1:
            names.setdefault(alias, entry)
    return names


def check_statement(sql: str) -> None:
    """Refuse anything but exactly one SELECT, as DuckDB's own parser reads `sql`."""
    if not sql.strip():
        raise ToolError(f"The SQL is empty. {ONE_SELECT}", "empty_sql")
    if len(sql) > MAX_SQL_CHARACTERS:
        raise ToolError(
            f"The SQL has {len(sql):,} characters; at most {MAX_SQL_CHARACTERS:,} are accepted. "
            "Split the work into steps: each result is a dataset the next query can use.",
            "sql_too_long",
        )
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise ToolError(f"The SQL does not parse: {_clipped(error)}", "sql_syntax") from None
    except ValueError:  # a statement type the Python binding has no name for
        raise ToolError(f"Only a SELECT runs here. {ONE_SELECT}", "not_a_select") from None
    if not statements:
        raise ToolError(f"The SQL holds no statement. {ONE_SELECT}", "empty_sql")
    if len(statements) > 1:
        raise ToolError(
            f"The SQL holds {len(statements)} statements; one runs at a time. {ONE_SELECT} "
            "For several steps use WITH … AS (…) SELECT …, or run the next query on the "
            "result's dataset id.",
            "several_statements",
        )
    kind = statements[0].type.name
    if kind != "SELECT":
        reason = REFUSALS.get(REFUSAL_OF_TYPE.get(kind, ""), f"{kind} statements do not run here.")
        raise ToolError(f"{reason} {ONE_SELECT}", "not_a_select")


def tables_in_query(sql: str, tables: list[SessionTable], limits: SqlLimits) -> list[str]:
    """The ids of the chat's datasets one SELECT names, in order; anything else is refused."""
    check_statement(sql)
    connection = _connect(limits)
    try:
        return [entry.dataset_id for entry in _tables_used(connection, sql, table_names(tables))]
    finally:
        connection.close()


def run_query_to_file(
    sql: str, tables: list[SessionTable], limits: SqlLimits, out_path: Path
) -> dict[str, Any]:
    """Run one SELECT over the chat's `tables`; write its result at `out_path` and report it."""
    check_statement(sql)
    names = table_names(tables)
    connection = _connect(limits)
    timer = threading.Timer(limits.timeout_seconds, connection.interrupt)
    try:
        used = _tables_used(connection, sql, names)
        sources = {entry: _source(entry.table) for entry in used}
        for name, entry in names.items():
            if entry in sources:
                connection.register(name, sources[entry])
        timer.start()
        frame = _fetch(connection, sql, limits)
    except duckdb.Error as error:
        raise _refusal(error, limits, names) from None
    finally:
        timer.cancel()
        connection.close()
    summary = write_parquet(frame, out_path)
    listed = ", ".join(f"{entry.dataset_id} ({entry.name})" for entry in used)
    report: dict[str, Any] = {
        "action": f"ran one SELECT over {listed}: {len(frame):,} rows by {frame.shape[1]} columns",
        "rows": len(frame),
        "columns": [str(column) for column in frame.columns],
        "tables_used": [entry.dataset_id for entry in used],
        "summary": summary,
    }
    if not limits.summary_only:
        report["preview"] = preview_records(frame, limits.preview_rows)
    return report


def _source(table: TableFile) -> Any:  # a DataFrame or a pyarrow Dataset
    """What a query reads a table from: a large table's Parquet file as an Arrow dataset, which
    DuckDB scans a batch at a time (only the columns and rows the query needs; the file is
    opened here, so the connection itself still reaches no file), any other the whole frame."""
    if isinstance(table, LargeTable):
        return arrow_dataset.dataset(table.local_path(), format="parquet")
    return table.load()


def _connect(limits: SqlLimits) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory database that can reach nothing outside itself, its settings locked."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "enable_external_access": "false",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
        "allow_community_extensions": "false",
        "allow_unsigned_extensions": "false",
        "python_enable_replacements": "false",  # no Python variable is ever a table
        "temp_directory": "",  # nothing spills to disk: the memory limit is the limit
        "memory_limit": f"{limits.memory_bytes}B",
        "threads": str(limits.threads),
        "max_execution_time": str(max(1, round(limits.timeout_seconds * 1000))),
    }
    connection = duckdb.connect(":memory:", config=config)
    connection.execute("SET enable_progress_bar = false")  # its output is the server's log
    connection.execute("SET lock_configuration = true")
    return connection


def _tables_used(
    connection: duckdb.DuckDBPyConnection, sql: str, names: dict[str, SessionTable]
) -> list[SessionTable]:
    """The chat's datasets the query names, in order; a name that is none of them is refused.

    DuckDB's parser lists the query's table references (json_serialize_sql: parsed, not run);
    names its WITH clauses define are its own.
    """
    [(parsed,)] = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    tree = json.loads(parsed)
    references: list[tuple[str, str]] = []
    defined: set[str] = set()
    for node in _nodes(tree):
        if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
            qualifier = ".".join(filter(None, (node.get("catalog_name"), node.get("schema_name"))))
            references.append((qualifier, node["table_name"]))
        for entry in (node.get("cte_map") or {}).get("map", []):
            defined.add(str(entry.get("key", "")).lower())
    used: list[SessionTable] = []
    for qualifier, table in references:
        if not qualifier and table.lower() in defined:
            continue
        entry = names.get(table.lower()) if not qualifier else None
        if entry is None:
            shown = f"{qualifier}.{table}" if qualifier else table
            raise ToolError(
                f"There is no table '{shown}' in this chat. {_tables_sentence(names)}",
                "unknown_table",
            )
        if entry not in used:
            used.append(entry)
    if not used:
        raise ToolError(
            f"The query names none of this chat's datasets. {_tables_sentence(names)}",
            "no_table",
        )
    return used


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of a parse tree, depth first."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str, limits: SqlLimits) -> pd.DataFrame:
    """The result, read in chunks so a result over the row or memory limit stops early."""
    connection.execute(sql)
    width = len(connection.description or [])
    if width > limits.max_columns:
        raise ToolError(
            f"The result would have {width:,} columns; at most {limits.max_columns:,} are "
            "allowed (MAX_TABLE_COLUMNS). Select fewer columns.",
            "too_many_columns",
        )
    chunks: list[pd.DataFrame] = []
    rows = size = 0
    while True:
        chunk = connection.fetch_df_chunk(FETCH_VECTORS)
        if chunk.empty and chunks:
            break
        chunks.append(chunk)  # the first even when empty: it carries the columns
        rows += len(chunk)
        size += int(chunk.memory_usage(deep=True).sum())
        if rows > limits.max_rows:
            raise ToolError(
                f"The query returns more than {limits.max_rows:,} rows (SQL_MAX_ROWS), so "
                "nothing was saved. Narrow it with WHERE, summarise it with GROUP BY, or take "
                "the first rows with ORDER BY … LIMIT.",
                "too_many_rows",
            )
        if size > limits.memory_bytes:
            raise _too_big(limits)
        if chunk.empty:
            break
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return _plain(frame)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists, structs, maps, UUIDs and blobs as text: every column a later tool can read."""
    for column in frame.columns[(frame.dtypes == "object").to_numpy()]:
        values = frame[column]
        if not values.map(lambda v: v is None or isinstance(v, PLAIN_VALUES)).all():
            frame[column] = values.map(_plain_value)
    return frame


def _plain_value(value: Any) -> Any:
    if value is None or isinstance(value, PLAIN_VALUES):
        return value
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return str(value)


def _refusal(error: duckdb.Error, limits: SqlLimits, names: dict[str, SessionTable]) -> ToolError:
    """DuckDB's failure as a sentence saying what went wrong and what would work.

    Errors about what the query asked for (a column, a type, a function) keep DuckDB's own
    words; errors about what it may not do get ours, which name no host path. In summary mode
    only errors about the query's text and names are quoted: errors met while running (a
    failed cast, `error(x)`) may quote cell values.
    """
    if isinstance(error, duckdb.InterruptException):
        return ToolError(
            f"The query ran longer than {limits.timeout_seconds:g} s (SQL_TIMEOUT_SECONDS) and "
            "was stopped; nothing was saved. Filter or aggregate earlier, avoid joins without "
            "a join condition, and give a recursive WITH a stopping condition.",
            "sql_timeout",
        )
    if isinstance(error, duckdb.OutOfMemoryException):
        return _too_big(limits)
    if isinstance(error, duckdb.PermissionException):
        return ToolError(
            "SQL here reaches only this chat's datasets: files, URLs, extensions and other "
            f"databases are switched off. {_tables_sentence(names)}",
            "not_allowed",
        )
    if isinstance(error, duckdb.CatalogException) and "Table with name" in str(error):
        return ToolError(f"{_clipped(error)} {_tables_sentence(names)}", "unknown_table")
    if limits.summary_only and not isinstance(error, ABOUT_THE_QUERY):
        kind = str(error).split(":", 1)[0]
        return ToolError(
            f"DuckDB could not run the query ({kind}). Its message is withheld in summary mode, "
            "as it may quote cell values: check the types the query uses (TRY_CAST gives a "
            "missing value where a cast fails).",
            "sql_error",
        )
    return ToolError(f"DuckDB could not run the query: {_clipped(error)}", "sql_error")


def _too_big(limits: SqlLimits) -> ToolError:
    return ToolError(
        f"The query needed more than {limits.memory_bytes / 1e6:,.0f} MB (SQL_MEMORY_BYTES) and "
        "was stopped; nothing was saved. Filter or aggregate earlier, select fewer columns, or "
        "avoid joins without a join condition.",
        "sql_memory",
    )


def _tables_sentence(names: dict[str, SessionTable]) -> str:
    """The chat's tables as a query may name them: each id, with its safe name if it has one."""
    aliases: dict[str, str] = {}
    for name, entry in names.items():
        if name != entry.dataset_id.lower():
            aliases[entry.dataset_id] = name
    ids = list(dict.fromkeys(entry.dataset_id for entry in names.values()))
    if not ids:
        return "This chat has no datasets yet."
    shown = [f"{i} (also {aliases[i]})" if i in aliases else i for i in ids[:MAX_LISTED_TABLES]]
    more = f" and {len(ids) - MAX_LISTED_TABLES} more" if len(ids) > MAX_LISTED_TABLES else ""
    return f"Tables: {', '.join(shown)}{more}."


def _clipped(error: BaseException) -> str:
    """DuckDB's message on one line, at most MAX_ERROR_CHARACTERS."""
    text = " ".join(str(error).split())
    if len(text) > MAX_ERROR_CHARACTERS:
        return text[: MAX_ERROR_CHARACTERS - 1] + "…"
    return text
