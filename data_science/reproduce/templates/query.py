"""Code templates for the tools of `data_science.tools.query`."""

from __future__ import annotations

import json
from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import cell


def table_references(sql: str) -> list[str]:
    """The table names the query uses, in order, without the names its WITH clauses define
    (DuckDB's own parser, as the tool reads the query)."""
    import duckdb

    from data_science.ml.query import _nodes

    connection = duckdb.connect(":memory:")
    try:
        [(parsed,)] = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    finally:
        connection.close()
    tree = json.loads(parsed)
    references: list[str] = []
    defined: set[str] = set()
    for node in _nodes(tree):
        if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
            references.append(node["table_name"])
        for entry in (node.get("cte_map") or {}).get("map", []):
            defined.add(str(entry.get("key", "")).lower())
    return [name for name in references if name.lower() not in defined]


def registered_names(sql: str, used: list[str]) -> dict[str, str]:
    """Each table name of the query → the dataset id it meant. The tool lists the datasets in
    the order the query first names them; a name that is a dataset id names itself."""
    ids = {dataset_id.lower(): dataset_id for dataset_id in used}
    mapping: dict[str, str] = {}
    pending = list(used)
    for name in table_references(sql):
        if name.lower() in {known.lower() for known in mapping}:
            continue
        dataset_id = ids.get(name.lower())
        if dataset_id is None:
            dataset_id = next((item for item in pending if item not in mapping.values()), used[-1])
        mapping[name] = dataset_id
        if dataset_id in pending:
            pending.remove(dataset_id)
    return mapping


@code_for("run_sql")
def run_sql(step: Step, names: Names) -> str:
    sql = str(step.args["sql"])
    used = [str(dataset_id) for dataset_id in step.result.get("tables_used", [])]
    registrations: list[Any] = [
        f"connection.register({literal(name)}, {names.frame(dataset_id)})"
        for name, dataset_id in registered_names(sql, used).items()
    ]
    made = names.new_frame(str(step.result["dataset_id"]))
    return cell(
        ["import duckdb"],
        'connection = duckdb.connect(":memory:")',
        "# each dataset under the name the query uses for it",
        *registrations,
        f"sql = {literal(sql)}",
        f"{made} = connection.execute(sql).df()",
        f'print("rows:", len({made}), "columns:", {made}.shape[1])',
        f"print({made}.head(10).to_string())",
    )
