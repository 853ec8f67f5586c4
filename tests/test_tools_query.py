"""run_sql: one SELECT over the chat's datasets on DuckDB, checked against pandas run here.

The escapes (files, extensions, settings, other chats, runaway queries) are tried here on the
tool and again over the real app in tests/test_sql_security.py.
"""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.ml.query import safe_table_name
from data_science.tools.base import workspace_for
from data_science.tools.query import run_sql
from tests.conftest import add_dataset, call, call_error, load_table

Frame = pd.DataFrame


def orders_and_customers() -> tuple[Frame, Frame]:
    rng = np.random.default_rng(11)
    customers = pd.DataFrame(
        {"customer_id": range(1, 31), "region": rng.choice(["north", "south", "east"], 30)}
    )
    orders = pd.DataFrame(
        {
            "order_id": range(1, 201),
            "customer_id": rng.integers(1, 36, 200),  # some customers are unknown
            "revenue": rng.gamma(2.0, 50.0, 200).round(2),
        }
    )
    return orders, customers


def sql_over(template: str, **ids: str) -> str:
    """A query naming tables by their ids: `{name}` in `template` becomes the id `name`."""
    for name, dataset_id in ids.items():
        template = template.replace(f"{{{name}}}", dataset_id)
    return template


def stored(context: ToolContext, result: dict[str, Any]) -> Frame:
    return load_table(context, result["dataset_id"])


async def test_group_by_matches_pandas(tool_context: ToolContext, penguins: Frame) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    sql = sql_over(
        """SELECT species, avg(body_mass_g) AS mean_mass, count(*) AS n,
                  stddev_samp(flipper_length_mm) AS sd_flipper
           FROM {penguins} GROUP BY species HAVING count(*) > 100 ORDER BY species""",
        penguins=dataset_id,
    )
    result = await call(run_sql, tool_context, sql=sql)
    groups = penguins.groupby("species")
    expected = pd.DataFrame(
        {
            "species": groups.size().index,
            "mean_mass": groups["body_mass_g"].mean().to_numpy(),
            "n": groups.size().to_numpy(),
            "sd_flipper": groups["flipper_length_mm"].std().to_numpy(),
        }
    )
    expected = expected[expected["n"] > 100].reset_index(drop=True)
    pd.testing.assert_frame_equal(stored(tool_context, result), expected, check_dtype=False)
    assert result["rows"] == len(expected) == 2
    assert result["columns"] == ["species", "mean_mass", "n", "sd_flipper"]
    assert result["tables_used"] == [dataset_id]
    assert result["preview"][0]["species"] == "Adelie"
    record = workspace_for(tool_context).get(result["dataset_id"])
    assert record.parent_id == dataset_id and record.name == "penguins.csv (SQL)"


async def test_a_window_function_over_a_safe_table_name(
    tool_context: ToolContext, penguins: Frame
) -> None:
    add_dataset(tool_context, penguins, "Penguins 2007-2009.csv")
    sql = """
        SELECT species, island, body_mass_g,
               rank() OVER (PARTITION BY species ORDER BY body_mass_g DESC) AS heaviest,
               body_mass_g - avg(body_mass_g) OVER (PARTITION BY species) AS above_mean
        FROM penguins_2007_2009 WHERE body_mass_g IS NOT NULL
        QUALIFY heaviest <= 3 ORDER BY species, heaviest, island"""
    result = await call(run_sql, tool_context, sql=sql)
    frame = penguins.dropna(subset=["body_mass_g"]).copy()
    frame["heaviest"] = (
        frame.groupby("species")["body_mass_g"].rank(method="min", ascending=False).astype(int)
    )
    frame["above_mean"] = frame["body_mass_g"] - frame.groupby("species")["body_mass_g"].transform(
        "mean"
    )
    expected = (
        frame[frame["heaviest"] <= 3]
        .sort_values(["species", "heaviest", "island"], kind="stable")[
            ["species", "island", "body_mass_g", "heaviest", "above_mean"]
        ]
        .reset_index(drop=True)
    )
    got = stored(tool_context, result)
    pd.testing.assert_frame_equal(
        got.drop(columns="island"), expected.drop(columns="island"), check_dtype=False
    )
    assert sorted(got["island"]) == sorted(expected["island"])


async def test_a_join_and_a_cte_between_two_datasets(tool_context: ToolContext) -> None:
    orders, customers = orders_and_customers()
    add_dataset(tool_context, orders, "orders.csv")
    customers_id = add_dataset(tool_context, customers, "customers.xlsx")
    sql = sql_over(
        """WITH big AS (SELECT * FROM orders WHERE revenue > 60)
           SELECT c.region, count(*) AS orders, sum(b.revenue) AS revenue
           FROM big b JOIN {customers} c ON b.customer_id = c.customer_id
           GROUP BY c.region ORDER BY revenue DESC""",
        customers=customers_id.upper(),  # names are not case-sensitive
    )
    result = await call(run_sql, tool_context, sql=sql)
    big = orders[orders["revenue"] > 60]
    joined = big.merge(customers, on="customer_id", how="inner")
    expected = (
        joined.groupby("region")
        .agg(orders=("order_id", "size"), revenue=("revenue", "sum"))
        .reset_index()
        .sort_values("revenue", ascending=False)
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(stored(tool_context, result), expected, check_dtype=False)
    assert len(result["tables_used"]) == 2 and customers_id in result["tables_used"]


def test_safe_table_names() -> None:
    assert safe_table_name("Sales 2024.csv") == "sales_2024"
    assert safe_table_name("penguins.csv (median imputed)") == "penguins_median_imputed"
    assert safe_table_name("données.xlsx [Feuil 2]") == "donnees_feuil_2"
    assert safe_table_name("2024.csv") == "t_2024"
    assert safe_table_name("???.csv") is None
    assert safe_table_name("ds_0123456789abcdef") is None


async def test_a_name_two_datasets_share_is_refused_and_their_ids_work(
    tool_context: ToolContext, penguins: Frame
) -> None:
    first = add_dataset(tool_context, penguins.head(10), "penguins.csv")
    second = add_dataset(tool_context, penguins.tail(5), "penguins.csv")
    await call_error(
        run_sql,
        tool_context,
        "unknown_table",
        says=["'penguins'", f"Tables: {first}, {second}"],
        sql="SELECT * FROM penguins",
    )
    result = await call(
        run_sql,
        tool_context,
        sql=sql_over("SELECT * FROM {a} UNION ALL SELECT * FROM {b}", a=first, b=second),
    )
    assert result["rows"] == 15


async def test_lists_structs_and_repeated_names_come_back_as_plain_columns(
    tool_context: ToolContext, penguins: Frame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    sql = sql_over(
        """SELECT species, list(island ORDER BY island) AS islands,
                  {'n': count(*)} AS info, uuid() IS NOT NULL AS ok, max(year), max(year),
                  CASE WHEN species = 'Gentoo' THEN list(DISTINCT year) END AS gentoo_years
           FROM {penguins} GROUP BY species ORDER BY species""",
        penguins=dataset_id,
    )
    result = await call(run_sql, tool_context, sql=sql)
    got = stored(tool_context, result)
    counts = penguins.groupby("species").size()
    assert got["info"].tolist() == [str({"n": int(n)}) for n in counts]
    assert got["islands"].map(type).eq(str).all()
    assert got["gentoo_years"].isna().tolist() == [True, True, False]  # missing stays missing
    assert got.columns.tolist() == ["species", "islands", "info", "ok", "max(\"year\")",
                                    "max(\"year\")_1", "gentoo_years"]  # fmt: skip


async def test_summary_mode_shows_no_rows(
    tool_context: ToolContext, settings: Settings, penguins: Frame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        run_sql,
        tool_context,
        sql=sql_over("SELECT * FROM {p} ORDER BY body_mass_g LIMIT 4", p=dataset_id),
    )
    assert "preview" not in result and result["rows"] == 4
    # A failure while running may quote a cell (error(x), a failed cast): not in summary mode.
    for sql, kind in (
        ("SELECT error(body_mass_g::VARCHAR) FROM {p} WHERE body_mass_g = 4675", "Invalid Input"),
        ("SELECT species::DATE FROM {p}", "Conversion Error"),
    ):
        refused = await call_error(run_sql, tool_context, "sql_error", says=[kind],
                                   sql=sql_over(sql, p=dataset_id))  # fmt: skip
        assert "4675" not in refused["message"] and "Adelie" not in refused["message"]
    await call_error(run_sql, tool_context, "sql_error", says=['"weight" not found'],
                     sql=sql_over("SELECT weight FROM {p}", p=dataset_id))  # fmt: skip


REFUSALS: list[Any] = [
    ("COPY (SELECT 1) TO 'out.csv'", "not_a_select", ["export_dataset"]),
    ("COPY {id} TO '/tmp/stolen.csv'", "not_a_select", ["COPY"]),
    ("ATTACH 'other.db' AS other", "not_a_select", ["cannot be attached"]),
    ("INSTALL httpfs", "not_a_select", ["Extensions"]),
    ("LOAD httpfs", "not_a_select", ["Extensions"]),
    ("SET enable_external_access = true", "not_a_select", ["Settings are fixed"]),
    ("PRAGMA threads = 64", "not_a_select", ["Settings are fixed"]),
    ("CREATE TABLE t AS SELECT * FROM {id}", "not_a_select", ["never changed in place"]),
    ("DROP TABLE {id}", "not_a_select", ["never changed in place"]),
    ("UPDATE {id} SET year = 0", "not_a_select", ["never changed in place"]),
    ("EXPLAIN SELECT * FROM {id}", "not_a_select", ["EXPLAIN statements do not run"]),
    ("PIVOT {id} ON island USING count(*)", "not_a_select", ["FILTER (WHERE"]),
    ("SELECT 1; DROP TABLE {id}", "several_statements", ["2 statements", "WITH"]),
    ("SELEC * FROM {id}", "sql_syntax", ["does not parse"]),
    ("  ", "empty_sql", ["one SELECT"]),
    ("SELECT 42", "no_table", ["Tables: {id} (also penguins)"]),
    ("SELECT * FROM read_csv('/etc/passwd')", "no_table", ["Tables:"]),
    ("SELECT * FROM {id}, read_csv('/etc/passwd')", "not_allowed", ["files, URLs"]),
    ("SELECT * FROM {id} WHERE current_setting('x') IS NULL", "sql_error", ["DuckDB"]),
    ("SELECT weight FROM {id}", "sql_error", ['"weight" not found']),
    ("SELECT * FROM ds_0123456789abcdef", "unknown_table", ["no table 'ds_0123456789abcdef'"]),
    ("SELECT * FROM information_schema.tables", "unknown_table", ["information_schema.tables"]),
    ("SELECT * FROM {id}, query_table('secret')", "unknown_table", ["secret", "Tables:"]),
]


@pytest.mark.parametrize(("sql", "code", "says"), REFUSALS)
async def test_anything_but_one_select_over_the_chats_tables_is_refused(
    tool_context: ToolContext, penguins: Frame, sql: str, code: str, says: list[str]
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    await call_error(
        run_sql,
        tool_context,
        code,
        says=[sql_over(fragment, id=dataset_id) for fragment in says],
        sql=sql_over(sql, id=dataset_id),
    )
    assert [r.id for r in workspace_for(tool_context).items("table")] == [dataset_id]


LIMITS: list[Any] = [
    pytest.param(
        "SELECT count(*) FROM {id} a, {id} b, {id} c, {id} d",
        {"SQL_TIMEOUT_SECONDS": 1.0},
        "sql_timeout",
        "longer than 1 s",
        id="a cross join past the time limit",
    ),
    pytest.param(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
        "SELECT max(n) FROM r, {id} LIMIT 1",
        {"SQL_TIMEOUT_SECONDS": 1.0, "SQL_MEMORY_BYTES": 4_000_000_000},
        "sql_timeout",
        "stopping condition",
        id="a recursive query with no end",
    ),
    pytest.param(
        "SELECT a.*, b.* FROM {id} a, {id} b, {id} c ORDER BY a.body_mass_g",
        {"SQL_MEMORY_BYTES": 60_000_000},
        "sql_memory",
        "more than 60 MB",
        id="a sort past the memory limit",
    ),
    pytest.param(
        "SELECT a.species FROM {id} a, {id} b",
        {"SQL_MAX_ROWS": 100_000},
        "too_many_rows",
        "more than 100,000 rows",
        id="more rows than allowed",
    ),
    pytest.param(
        "SELECT * FROM {id} a, {id} b, {id} c LIMIT 1",
        {"MAX_TABLE_COLUMNS": 20},
        "too_many_columns",
        "24 columns",
        id="more columns than allowed",
    ),
]


@pytest.mark.parametrize(("sql", "limits", "code", "says"), LIMITS)
async def test_queries_past_a_limit_are_stopped_and_nothing_is_saved(
    tool_context: ToolContext,
    settings: Settings,
    penguins: Frame,
    monkeypatch: pytest.MonkeyPatch,
    sql: str,
    limits: dict[str, Any],
    code: str,
    says: str,
) -> None:
    for name, value in limits.items():
        monkeypatch.setattr(settings, name, value)
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    await call_error(run_sql, tool_context, code, says=[says], sql=sql_over(sql, id=dataset_id))
    assert [r.id for r in workspace_for(tool_context).items("table")] == [dataset_id]
    after = await call(
        run_sql, tool_context, sql=sql_over("SELECT count(*) AS n FROM {p}", p=dataset_id)
    )
    assert stored(tool_context, after)["n"].tolist() == [344]
