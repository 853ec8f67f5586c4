"""Large tables (Parquet past LARGE_TABLE_ROWS rows, set low here): worked on out of memory.

Each answer computed by DuckDB over the file is compared with the answer the pandas path gives
on the same file read whole; each answer computed on a sample says so, and the sample is the
seeded one, checked row for row against pandas.
"""

import math
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet as parquet
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.ml import large as large_queries
from data_science.ml import query
from data_science.ml.analysis.aggregate import group_by as group_rows
from data_science.ml.analysis.aggregate import value_counts as count_rows
from data_science.ml.analysis.correlation import correlations as correlate
from data_science.ml.analysis.describe import describe_distribution as describe_frame
from data_science.ml.analysis.describe import preview_rows as preview
from data_science.ml.analysis.hypothesis import hypothesis_test as hypothesis
from data_science.ml.arguments import SessionTable, SqlLimits
from data_science.ml.charts import distributions
from data_science.ml.charts.canvas import ChartSpec
from data_science.ml.charts.drawing import render_chart
from data_science.ml.common import SEED
from data_science.ml.profile import profile_table
from data_science.offline.replies import render_result
from data_science.storage import columnar, tables
from data_science.storage.large import (
    LargeTable,
    SampledTable,
    for_aggregates,
    for_models,
    is_large,
    read_columns,
    read_sample,
    sample_positions,
)
from data_science.storage.tables import TableFile
from data_science.tools.analysis import group_by
from data_science.tools.base import TABLE_FILE, workspace_for
from data_science.tools.data import analyze_dataset
from data_science.tools.guidance import suggest_next_steps
from data_science.tools.query import run_sql
from data_science.tools.train import train
from data_science.tools.viz import auto_charts, plot, plot_model
from tests.conftest import call
from tests.test_offline_model import Chat
from tests.test_suggestions import upload_table

ROWS = 5_000
LARGE_ROWS = 2_000
SAMPLE = 1_000
ROW_GROUP = 700  # several row groups, the last one short, as a big upload has


def large_table_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large_rows: int, sample_rows: int
) -> Settings:
    """Settings of their own (nothing from the environment) with low large-table limits."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    current = Settings(
        DATA_DIR=tmp_path / "data", LARGE_TABLE_ROWS=large_rows, SAMPLE_ROWS=sample_rows
    )
    current.create_data_dirs()
    return current


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return large_table_settings(tmp_path, monkeypatch, LARGE_ROWS, SAMPLE)


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    """Cities of clearly different sizes, amounts with gaps and an infinity, whole numbers,
    booleans and dates written as text."""
    rng = np.random.default_rng(7)
    cities = rng.choice(
        ["Paris", "Lyon", "Nice", "Lille", "Nantes", "Brest"],
        ROWS,
        p=[0.35, 0.25, 0.17, 0.12, 0.07, 0.04],
    )
    amount = rng.gamma(2.0, 50.0, ROWS).round(2)
    amount[rng.choice(ROWS, 150, replace=False)] = np.nan
    amount[11] = np.inf
    city = pd.Series(cities, dtype=object)
    city[rng.choice(ROWS, 40, replace=False)] = None
    return pd.DataFrame(
        {
            "city": city,
            "amount": amount,
            "quantity": rng.integers(1, 9, ROWS),
            "member": rng.random(ROWS) < 0.3,
            "day": pd.date_range("2024-01-01", periods=ROWS, freq="h").strftime("%Y-%m-%d"),
        }
    )


def write(frame: pd.DataFrame, path: Path) -> Path:
    """The Parquet file an upload of `frame` becomes: several row groups."""
    parquet.write_table(
        pyarrow.Table.from_pandas(frame, preserve_index=False), path, row_group_size=ROW_GROUP
    )
    return path


def add_large(tool_context: ToolContext, frame: pd.DataFrame, name: str) -> str:
    workspace = workspace_for(tool_context)
    path = write(frame, workspace.staging_path(TABLE_FILE))
    try:
        summary = tables.table_summary(frame)
        record = workspace.adopt_file(
            path, kind="table", name=name, stored_name=TABLE_FILE, summary=summary
        )
    finally:
        workspace.discard_staging(path)
    return record.id


def large_handle(path: Path) -> LargeTable:
    return LargeTable(path, "parquet", ROWS, SAMPLE, SEED, 200_000_000)


def same(actual: Any, expected: Any) -> None:
    """Equal, floats to 1e-9 relative (DuckDB and pandas sum in different orders)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), (actual, expected)
        for key in expected:
            same(actual[key], expected[key])
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (actual, expected)
        for one, other in zip(actual, expected, strict=True):
            same(one, other)
    elif isinstance(expected, float) and math.isnan(expected):
        assert actual is None or (isinstance(actual, float) and math.isnan(actual)), actual
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12)
    else:
        assert actual == expected


@pytest.fixture
def no_whole_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading any table whole fails the test: large paths must never do it."""

    def refuse(*_: Any) -> pd.DataFrame:
        raise AssertionError("the whole table was read")

    monkeypatch.setattr(tables, "read_table", refuse)


# The predicate --------------------------------------------------------------------------------
def test_a_table_is_large_when_it_is_parquet_with_more_rows_than_the_setting(
    tmp_path: Path, settings: Settings, sales: pd.DataFrame
) -> None:
    big = TableFile(write(sales, tmp_path / "big.parquet"), "parquet")
    small = TableFile(write(sales.head(LARGE_ROWS), tmp_path / "small.parquet"), "parquet")
    text = tmp_path / "big.csv"
    sales.to_csv(text, index=False)
    assert is_large(big, settings)
    assert not is_large(small, settings)  # exactly the threshold is not over it
    assert not is_large(TableFile(text, "csv"), settings)
    aggregates = for_aggregates(big, settings, SEED)
    assert isinstance(aggregates, LargeTable) and aggregates.rows == ROWS
    assert for_aggregates(small, settings, SEED) == small
    models = for_models(big, settings, SEED)
    assert isinstance(models, SampledTable) and (models.rows, models.of) == (SAMPLE, ROWS)


def test_the_sample_is_the_seeded_rows_read_without_the_rest(
    tmp_path: Path, sales: pd.DataFrame, no_whole_reads: None
) -> None:
    path = write(sales, tmp_path / "sales.parquet")
    sample = read_sample(TableFile(path, "parquet"), SAMPLE, ROWS, SEED)
    positions = sample_positions(SAMPLE, ROWS, SEED)
    assert len(set(positions)) == SAMPLE and positions.max() < ROWS
    expected = pd.read_parquet(path).iloc[positions].reset_index(drop=True)
    pd.testing.assert_frame_equal(sample, expected)
    again = SampledTable(path, "parquet", SAMPLE, ROWS, SEED).load()
    pd.testing.assert_frame_equal(again, expected)  # every process draws the same rows
    other = read_sample(TableFile(path, "parquet"), SAMPLE, ROWS, SEED + 1)
    assert not other.equals(sample)


# Profile --------------------------------------------------------------------------------------
@pytest.mark.parametrize("std", ["sample", "population"])
def test_a_large_profile_equals_the_pandas_profile(
    tmp_path: Path, sales: pd.DataFrame, std: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(pd.concat([sales, sales.head(30)], ignore_index=True), tmp_path / "s.parquet")
    expected = profile_table(TableFile(path, "parquet"), "ds", False, std)
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(1))  # none of it cached
    table = LargeTable(path, "parquet", ROWS + 30, SAMPLE, SEED, 200_000_000)
    actual = profile_table(table, "ds", False, std)
    assert actual["duplicate_rows"] == expected["duplicate_rows"] >= 30
    same(actual, expected)
    summary = profile_table(table, "ds", True, std)
    assert "sample_rows" not in summary
    assert "top_values" not in summary["column_profiles"][3]  # booleans are not listed


async def test_analyze_dataset_profiles_a_large_table_out_of_memory(
    tool_context: ToolContext, sales: pd.DataFrame
) -> None:
    dataset_id = add_large(tool_context, sales, "sales.csv")
    result = await call(analyze_dataset, tool_context, dataset_id=dataset_id)
    assert result["rows"] == ROWS
    amount = next(entry for entry in result["column_profiles"] if entry["name"] == "amount")
    values = sales["amount"].dropna()
    assert amount["missing"] == 150
    assert amount["median"] == pytest.approx(float(np.percentile(values, 50)))
    city = next(entry for entry in result["column_profiles"] if entry["name"] == "city")
    assert city["top_values"] == sales["city"].value_counts().head(5).to_dict()


# Group by -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("groups", "values", "aggregations", "std"),
    [
        (["city"], ["amount"], ["mean", "median", "std", "count", "sum", "min", "max"], "sample"),
        (["city", "member"], ["amount", "quantity"], ["sum", "std"], "population"),
        (["quantity"], [], ["count"], "sample"),
        (["day"], ["amount"], ["max"], "sample"),  # more groups than are shown
    ],
)
def test_a_large_group_by_equals_the_pandas_group_by(
    tmp_path: Path,
    sales: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    groups: list[str],
    values: list[str],
    aggregations: list[str],
    std: str,
) -> None:
    path = write(sales, tmp_path / "sales.parquet")
    expected = group_rows(TableFile(path, "parquet"), groups, values, aggregations, std)
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    actual = group_rows(large_handle(path), groups, values, aggregations, std)
    same(actual, expected)


async def test_group_by_tool_on_a_large_table_answers_as_pandas(
    tool_context: ToolContext, sales: pd.DataFrame
) -> None:
    dataset_id = add_large(tool_context, sales, "sales.csv")
    result = await call(
        group_by,
        tool_context,
        dataset_id=dataset_id,
        group_columns=["city"],
        value_columns=["amount"],
        aggregations=["mean"],
    )
    finite = sales.assign(amount=sales["amount"].replace(np.inf, np.nan))
    expected = finite.groupby("city")["amount"].mean().sort_values(ascending=False)
    assert [group["city"] for group in result["groups"]] == list(expected.index)
    for group in result["groups"]:
        assert group["amount_mean"] == pytest.approx(expected[group["city"]], rel=1e-9)
    assert result["rows_missing_group"] == 40 and result["rows_used"] == ROWS - 40


# Models ---------------------------------------------------------------------------------------
async def test_train_on_a_large_table_learns_from_the_stated_sample(
    tool_context: ToolContext, sales: pd.DataFrame
) -> None:
    dataset_id = add_large(tool_context, sales, "sales.csv")
    result = await call(
        train, tool_context, dataset_id=dataset_id, target="quantity", model="linear"
    )
    assert result["sample"] == {"rows": SAMPLE, "of": ROWS, "seed": SEED}
    assert result["n_train"] + result["n_test"] == SAMPLE
    reply = render_result("train", result)
    assert f"random sample of {SAMPLE:,} of its {ROWS:,} rows (seed {SEED})" in reply
    # Its held-out charts rebuild the split from the same sample.
    chart = await call(plot_model, tool_context, model_id=result["model_id"], kind="residuals")
    assert chart["status"] == "ok"


# Charts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("column", ["amount", "quantity"])
def test_a_large_histogram_has_the_bins_and_counts_of_the_pandas_one(
    tmp_path: Path, sales: pd.DataFrame, no_whole_reads: None, column: str
) -> None:
    frame = sales.replace(np.inf, np.nan)
    path = write(frame, tmp_path / "sales.parquet")
    values = frame[column].dropna().to_numpy(float)
    integers = pd.api.types.is_integer_dtype(frame[column])
    expected_edges = distributions._bin_edges(values, integers)
    table = large_handle(path)
    count, low, high, q25, q75 = large_queries.numeric_summary(table, column)
    edges = distributions.bin_edges(count, (low, high, q25, q75), integers)
    np.testing.assert_allclose(edges, expected_edges, rtol=1e-12)
    counts = large_queries.histogram_counts(table, column, edges)
    assert counts.tolist() == np.histogram(values, bins=expected_edges)[0].tolist()
    chart = render_chart(table, ChartSpec(kind="histogram", x=column))
    assert chart.rows_used == len(values) and "sample" not in chart.facts
    assert chart.png.startswith(b"\x89PNG")


async def test_plot_on_a_large_table_counts_a_histogram_and_samples_a_scatter(
    tool_context: ToolContext, sales: pd.DataFrame
) -> None:
    dataset_id = add_large(tool_context, sales.replace(np.inf, np.nan), "sales.csv")
    histogram = await call(plot, tool_context, dataset_id=dataset_id, x="quantity")
    assert histogram["rows_plotted"] == ROWS and "sample" not in histogram
    scatter = await call(
        plot, tool_context, dataset_id=dataset_id, kind="scatter", x="amount", y="quantity"
    )
    assert scatter["sample"] == {"rows": SAMPLE, "of": ROWS, "seed": SEED}
    assert scatter["notes"][0].startswith(f"drawn on a random sample of {SAMPLE:,} of {ROWS:,}")
    positions = sample_positions(SAMPLE, ROWS, SEED)
    drawn = sales.iloc[positions][["amount", "quantity"]].dropna()
    assert scatter["rows_plotted"] == len(drawn)
    overview = await call(auto_charts, tool_context, dataset_id=dataset_id)
    assert all(chart["sample"]["of"] == ROWS for chart in overview["charts"])
    assert f"sample of {SAMPLE:,} of its {ROWS:,} rows" in render_result("auto_charts", overview)
    assert "sample" not in render_result("plot", histogram)


# SQL ------------------------------------------------------------------------------------------
def test_sql_reads_a_large_table_from_its_file(
    tmp_path: Path, sales: pd.DataFrame, no_whole_reads: None
) -> None:
    path = write(sales, tmp_path / "sales.parquet")
    tables_ = [SessionTable("ds_0123456789abcdef", "sales.csv", large_handle(path))]
    limits = SqlLimits(30.0, 100_000_000, 2, 1_000, 100, 5, False)
    sql = (
        "SELECT city, count(*) AS n, sum(quantity) AS q FROM sales "
        "WHERE amount < 100 AND city IS NOT NULL GROUP BY city ORDER BY city"
    )
    report = query.run_query_to_file(sql, tables_, limits, tmp_path / "out.parquet")
    result = pd.read_parquet(tmp_path / "out.parquet")
    chosen = sales[(sales["amount"] < 100) & sales["city"].notna()]
    expected = chosen.groupby("city").agg(n=("city", "size"), q=("quantity", "sum"))
    assert report["rows"] == len(expected)
    assert result["city"].tolist() == expected.index.tolist()
    assert result["n"].tolist() == expected["n"].tolist()
    assert result["q"].tolist() == expected["q"].tolist()


async def test_run_sql_on_a_large_table(tool_context: ToolContext, sales: pd.DataFrame) -> None:
    add_large(tool_context, sales, "sales.csv")
    result = await call(run_sql, tool_context, sql="SELECT avg(quantity) AS mean_q FROM sales")
    assert result["rows"] == 1
    assert result["preview"][0]["mean_q"] == pytest.approx(sales["quantity"].mean())


# Suggestions ----------------------------------------------------------------------------------
async def test_suggestions_for_a_large_upload_come_from_its_sample(
    client: httpx.AsyncClient, sales: pd.DataFrame, tmp_path: Path
) -> None:
    text = tmp_path / "sales.csv"
    sales.replace(np.inf, np.nan).to_csv(text, index=False)
    session, file_id = await upload_table(client, "sales.csv", text.read_bytes())
    url = f"/api/users/alice/sessions/{session}/files/{file_id}/suggestions"
    response = await client.get(url)
    assert response.status_code == 200, response.text
    labels = [entry["label"] for entry in response.json()["suggestions"]]
    assert labels[0] == "Profile the data" and len(labels) >= 2


async def test_next_steps_on_a_large_table_say_they_read_a_sample(
    tool_context: ToolContext, sales: pd.DataFrame
) -> None:
    dataset_id = add_large(tool_context, sales, "sales.csv")
    result = await call(suggest_next_steps, tool_context, dataset_id=dataset_id)
    assert result["sample"] == {"rows": SAMPLE, "of": ROWS, "seed": SEED}
    assert any(step["tool"] == "analyze_dataset" for step in result["suggestions"])


# Value counts and rows ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "top_k"),
    [("city", 20), ("city", 3), ("quantity", 5), ("member", 5), ("day", 10)],  # day: all ties
)
def test_large_value_counts_equal_the_pandas_ones(
    tmp_path: Path, sales: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, column: str, top_k: int
) -> None:
    path = write(sales, tmp_path / "sales.parquet")
    expected = count_rows(TableFile(path, "parquet"), column, top_k)
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(1))
    same(count_rows(large_handle(path), column, top_k), expected)


@pytest.mark.parametrize("position", ["head", "tail", "random"])
def test_a_large_preview_shows_the_rows_pandas_shows(
    tmp_path: Path, sales: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, position: str
) -> None:
    path = write(sales, tmp_path / "sales.parquet")
    columns = ["day", "amount", "city"]
    expected = preview(TableFile(path, "parquet"), 8, position, columns)
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(1))
    same(preview(large_handle(path), 8, position, columns), expected)
    same(preview(large_handle(path), 3, position, None), preview_of_all(path, position))


def preview_of_all(path: Path, position: str) -> dict[str, Any]:
    """The pandas preview of every column, computed with the whole file read (no patch)."""
    frame = pd.read_parquet(path)
    positions = {
        "head": [0, 1, 2],
        "tail": [ROWS - 3, ROWS - 2, ROWS - 1],
        "random": sorted(np.random.default_rng(SEED).choice(ROWS, 3, replace=False).tolist()),
    }[position]
    return {
        "position": position,
        "total_rows": ROWS,
        "rows_shown": 3,
        "columns": list(frame.columns),
        "rows": [
            {
                "row": row,
                "values": {
                    name: (None if pd.isna(value) else value)
                    for name, value in frame.iloc[row].items()
                },
            }
            for row in positions
        ],
        "note": None,
    }


# Statistics read only the columns they use ----------------------------------------------------
STATISTICS = [
    pytest.param(lambda table: describe_frame(table, None, 3.0), id="describe_all"),
    pytest.param(lambda table: describe_frame(table, "amount", 2.0, "population"), id="describe"),
    pytest.param(lambda table: correlate(table, None, "both", 10), id="correlations"),
    pytest.param(lambda table: correlate(table, ["amount", "quantity"], "both", 10), id="pair"),
    pytest.param(lambda table: hypothesis(table, "anova", "amount", "city", None), id="anova"),
    pytest.param(lambda table: hypothesis(table, "t_test", "quantity", "member", None), id="t"),
    pytest.param(lambda table: hypothesis(table, "chi_square", "city", "member", None), id="chi"),
]


@pytest.mark.parametrize("compute", STATISTICS)
def test_large_statistics_equal_the_pandas_ones(
    tmp_path: Path, sales: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, compute: Any
) -> None:
    path = write(sales.replace(np.inf, np.nan), tmp_path / "sales.parquet")
    expected = compute(TableFile(path, "parquet"))
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(1))
    same(compute(large_handle(path)), expected)


# The four questions of the 1 GB target, asked of the offline model --------------------------
async def test_the_offline_model_answers_the_large_table_questions(
    settings: Settings, sales: pd.DataFrame
) -> None:
    frame = sales.replace(np.inf, np.nan)
    chat = await Chat(settings).start(settings, frame, "sales.csv")
    sampled = f"random sample of {SAMPLE:,} of its {ROWS:,} rows (seed {SEED})"
    calls, reply = await chat.say("what is in this file")
    assert calls[-1][0] == "analyze_dataset" and chat.results["analyze_dataset"]["rows"] == ROWS
    assert sampled not in reply
    calls, reply = await chat.say("average amount by city")
    assert calls[-1][0] == "group_by" and chat.results["group_by"]["rows_used"] == ROWS - 40
    assert sampled not in reply
    calls, reply = await chat.say("histogram of amount")
    assert calls[-1][0] == "plot" and chat.results["plot"]["rows_plotted"] == ROWS - 151
    calls, reply = await chat.say("train a model to predict amount")
    trained = chat.results["train"]
    learnt = frame["amount"].iloc[sample_positions(SAMPLE, ROWS, SEED)].notna().sum()
    assert calls[-1][0] == "train" and trained["n_train"] + trained["n_test"] == learnt
    assert sampled in reply


# A CSV stored as Parquet at upload ------------------------------------------------------------
def test_a_converted_upload_reads_as_load_reads_it(
    tmp_path: Path, sales: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large CSV stored as Parquet (storage/columnar.py) loads as pandas' read_csv (missing
    text as NaN, not None): its sample and its columns read the same way."""
    text = tmp_path / "sales.csv"
    sales.replace(np.inf, np.nan).to_csv(text, index=False)
    path = tmp_path / "sales.parquet"
    scan = columnar.scan_csv(text, ",")
    assert scan is not None and columnar.csv_to_parquet(text, ",", scan, path, ROW_GROUP)
    whole = TableFile(path, "parquet").load()
    assert whole["city"].isna().sum() == 40 and whole["city"].map(type).eq(float).sum() == 40
    expected_group = group_rows(TableFile(path, "parquet"), ["city"], ["amount"], ["sum"])
    expected_profile = profile_table(TableFile(path, "parquet"), "ds", False)
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(1))
    sample = read_sample(TableFile(path, "parquet"), SAMPLE, ROWS, SEED)
    expected = whole.iloc[sample_positions(SAMPLE, ROWS, SEED)].reset_index(drop=True)
    pd.testing.assert_frame_equal(sample, expected)
    handle = large_handle(path)
    columns = read_columns(handle, ["city", "day"])
    pd.testing.assert_frame_equal(columns, whole[["city", "day"]])
    for frame in (sample, columns):  # (assert_frame_equal takes None for NaN: not the tools)
        missing = frame["city"][frame["city"].isna()]
        assert len(missing) and all(isinstance(value, float) for value in missing)
    same(group_rows(handle, ["city"], ["amount"], ["sum"]), expected_group)
    same(profile_table(handle, "ds", False), expected_profile)


def test_a_large_group_by_with_columns_named_like_its_own_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame(
        {"used": [f"g{i % 7}" for i in range(ROWS)], "v0": np.arange(ROWS) % 11 * 1.5}
    )
    path = write(frame, tmp_path / "odd.parquet")
    expected = group_rows(TableFile(path, "parquet"), ["used"], ["v0"], ["sum", "count"])
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    same(group_rows(large_handle(path), ["used"], ["v0"], ["sum", "count"]), expected)


def test_large_counts_of_a_column_named_n(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"n": [i % 5 if i % 3 else 0 for i in range(ROWS)]})  # 0 most often
    path = write(frame, tmp_path / "n.parquet")
    expected = count_rows(TableFile(path, "parquet"), "n", 5)
    expected_profile = profile_table(TableFile(path, "parquet"), "ds", False)
    monkeypatch.setattr(tables, "read_table", lambda *_: pytest.fail("read whole"))
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(1))
    same(count_rows(large_handle(path), "n", 5), expected)
    same(profile_table(large_handle(path), "ds", False), expected_profile)
