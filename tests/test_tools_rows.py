"""Row tools (filter_rows, derive_column, sort_rows), each checked against pandas run here."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.tools.base import workspace_for
from data_science.tools.rows import derive_column, filter_rows, sort_rows
from tests.conftest import Refusal, add_dataset, call, load_table, refusal

Frame = pd.DataFrame


def events() -> Frame:
    """Flights-like rows with text dates, real timestamps, a zero divisor and missing values."""
    rng = np.random.default_rng(3)
    n = 120
    stamps = pd.Timestamp("2024-01-01 06:00") + pd.to_timedelta(rng.integers(0, 24 * 300, n), "h")
    frame = pd.DataFrame(
        {
            "origin": rng.choice(["JFK", "LGA", "EWR"], n),
            "dep_delay": rng.normal(20, 40, n).round(1),
            "distance": rng.choice([0, 200, 760, 1400], n).astype(float),
            "day": stamps.strftime("%Y-%m-%d"),
            "departed": stamps,
        }
    )
    frame.loc[[4, 9, 50], "dep_delay"] = np.nan
    frame.loc[[7, 8], "origin"] = None
    return frame


def expect_rows(
    result: dict[str, Any], source: Frame, expected: Frame, context: ToolContext
) -> None:
    """The derived table equals `expected` (pandas, computed by the test), row for row."""
    stored = load_table(context, result["dataset_id"])
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    assert (result["rows_before"], result["rows_after"]) == (len(source), len(expected))
    assert result["columns"] == [str(c) for c in expected.columns]


# filter_rows -----------------------------------------------------------------------------
FILTERS: list[Any] = [
    pytest.param(
        [{"column": "island", "op": "==", "value": "Biscoe"}], "all",
        lambda f: f["island"] == "Biscoe", id="text equals",
    ),
    pytest.param(
        [{"column": "Body Mass G", "op": ">", "value": 4000}], "all",
        lambda f: f["body_mass_g"] > 4000, id="greater, loose column name",
    ),
    pytest.param(
        [{"column": "body_mass_g", "op": "<=", "value": "3,500"}], "all",
        lambda f: f["body_mass_g"] <= 3500, id="number written as text",
    ),
    pytest.param(
        [{"column": "sex", "op": "!=", "value": "male"}], "all",
        lambda f: (f["sex"] != "male") & f["sex"].notna(), id="not equal skips missing",
    ),
    pytest.param(
        [{"column": "species", "op": "in", "value": ["Adelie", "Gentoo"]}], "all",
        lambda f: f["species"].isin(["Adelie", "Gentoo"]), id="in",
    ),
    pytest.param(
        [{"column": "sex", "op": "not_in", "value": ["female"]}], "all",
        lambda f: ~f["sex"].isin(["female"]) & f["sex"].notna(), id="not in skips missing",
    ),
    pytest.param(
        [{"column": "flipper_length_mm", "op": "between", "value": [190, 200]}], "all",
        lambda f: f["flipper_length_mm"].between(190, 200), id="between inclusive",
    ),
    pytest.param(
        [{"column": "sex", "op": "is_missing"}], "all", lambda f: f["sex"].isna(), id="missing",
    ),
    pytest.param(
        [{"column": "bill_length_mm", "op": "not_missing"}], "all",
        lambda f: f["bill_length_mm"].notna(), id="not missing",
    ),
    pytest.param(
        [{"column": "island", "op": "contains", "value": "IS"}], "all",
        lambda f: f["island"].str.lower().str.contains("is"), id="contains ignores case",
    ),
    pytest.param(
        [{"column": "island", "op": "starts_with", "value": "tor"}], "all",
        lambda f: f["island"].str.lower().str.startswith("tor"), id="starts with",
    ),
    pytest.param(
        [{"column": "island", "op": "ends_with", "value": "EAM"}], "all",
        lambda f: f["island"].str.lower().str.endswith("eam"), id="ends with",
    ),
    pytest.param(
        [
            {"column": "species", "op": "==", "value": "Gentoo"},
            {"column": "sex", "op": "=", "value": "female"},
            {"column": "bill_length_mm", "op": "<", "value": 45},
        ],
        "all",
        lambda f: (f["species"] == "Gentoo") & (f["sex"] == "female") & (f["bill_length_mm"] < 45),
        id="all of three",
    ),
    pytest.param(
        [
            {"column": "island", "op": "==", "value": "Dream"},
            {"column": "body_mass_g", "op": ">=", "value": 6000},
        ],
        "any",
        lambda f: (f["island"] == "Dream") | (f["body_mass_g"] >= 6000),
        id="any of two",
    ),
    pytest.param(
        [{"column": "year", "op": "==", "value": 2008}], "all",
        lambda f: f["year"] == 2008, id="integer column",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("conditions", "match", "mask"), FILTERS)
async def test_filter_rows_keeps_what_pandas_keeps(
    tool_context: ToolContext,
    penguins: Frame,
    conditions: list[dict[str, Any]],
    match: str,
    mask: Callable[[Frame], pd.Series],
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    source = load_table(tool_context, dataset_id)
    result = await call(
        filter_rows, tool_context, dataset_id=dataset_id, conditions=conditions, match=match
    )
    expected = source[mask(source).fillna(False).astype(bool)]
    expect_rows(result, source, expected, tool_context)
    assert result["action"].startswith(f"kept {len(expected):,} of 344 rows where")
    assert result["source_dataset_id"] == dataset_id and result["dataset_id"] != dataset_id
    assert len(result["preview"]) == min(10, len(expected))
    pd.testing.assert_frame_equal(load_table(tool_context, dataset_id), source)


DATE_FILTERS: list[Any] = [
    pytest.param(
        {"column": "day", "op": ">", "value": "2024-06-30"},
        lambda f: pd.to_datetime(f["day"]) > pd.Timestamp("2024-06-30"), id="text dates as dates",
    ),
    pytest.param(
        {"column": "departed", "op": "between", "value": ["2024-03-01", "2024-03-31 23:59"]},
        lambda f: f["departed"].between(
            pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-31 23:59")
        ),
        id="timestamps between",
    ),
    pytest.param(
        {"column": "departed", "op": "<", "value": "2024-02-01"},
        lambda f: f["departed"] < pd.Timestamp("2024-02-01"), id="timestamps before",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "mask"), DATE_FILTERS)
async def test_dates_compare_as_dates(
    tool_context: ToolContext, condition: dict[str, Any], mask: Callable[[Frame], pd.Series]
) -> None:
    frame = events()
    dataset_id = add_dataset(tool_context, frame, "flights.csv")
    result = await call(filter_rows, tool_context, dataset_id=dataset_id, conditions=[condition])
    expected = frame[mask(frame)]
    assert 0 < len(expected) < len(frame)
    expect_rows(result, frame, expected, tool_context)


def one(column: str, op: str, *value: Any) -> dict[str, Any]:
    """filter_rows' arguments for one condition (no value when none is given)."""
    return {"conditions": [{"column": column, "op": op, **({"value": value[0]} if value else {})}]}


FILTER_REFUSALS = [
    refusal("greater than on text", filter_rows, one("species", ">", "A"), "wrong_type",
            "compares numbers or dates", "'species' holds text", "'contains'"),
    refusal("text for a number", filter_rows, one("body_mass_g", "==", "heavy"), "wrong_type",
            "'body_mass_g' is numeric"),
    refusal("a decimal comma is no number", filter_rows, one("body_mass_g", ">", "3,5"),
            "wrong_type", "needs a number; got '3,5'"),
    refusal("unknown column", filter_rows, one("weight", ">", 1), "unknown_column",
            "Columns: species, island"),
    refusal("unknown operation", filter_rows, one("species", "like", "A%"), "bad_condition",
            "'like'", "starts_with"),
    refusal("in without a list", filter_rows, one("species", "in", "Adelie"), "bad_condition",
            "a list of values"),
    refusal("comparison without a value", filter_rows, one("body_mass_g", ">"), "bad_condition",
            "needs one value"),
    refusal("contains on numbers", filter_rows, one("body_mass_g", "contains", "4"),
            "wrong_type", "cast_column"),
    refusal("between reversed", filter_rows, one("body_mass_g", "between", [5000, 4000]),
            "bad_condition", "low ≤ high"),
    refusal("no conditions", filter_rows, {"conditions": []}, "no_conditions", '"op"'),
]  # fmt: skip


# derive_column ---------------------------------------------------------------------------
def flag(values: pd.Series, where: pd.Series) -> pd.Series:
    """A comparison as derive_column stores it: true/false, missing where the input is."""
    return values.astype("boolean").mask(where)


def pandas_bins(series: pd.Series, edges: list[float], labels: list[str]) -> pd.Series:
    return pd.cut(series, edges, labels=labels, include_lowest=True).astype("string")


DERIVATIONS: list[Any] = [
    pytest.param(
        {"operation": "divide", "columns": ["body_mass_g", "flipper_length_mm"]},
        lambda f: f["body_mass_g"] / f["flipper_length_mm"], id="divide two columns",
    ),
    pytest.param(
        {"operation": "add", "columns": ["body_mass_g"], "value": 100},
        lambda f: f["body_mass_g"] + 100, id="add a number",
    ),
    pytest.param(
        {"operation": "subtract", "columns": ["bill_length_mm", "bill_depth_mm"]},
        lambda f: f["bill_length_mm"] - f["bill_depth_mm"], id="subtract",
    ),
    pytest.param(
        {"operation": "multiply", "columns": ["bill_depth_mm"], "value": 2.5},
        lambda f: f["bill_depth_mm"] * 2.5, id="multiply by a number",
    ),
    pytest.param(
        {"operation": "sum", "columns": ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]},
        lambda f: f[["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]].sum(
            axis=1, min_count=1
        ),
        id="row-wise sum",
    ),
    pytest.param(
        {"operation": "mean", "columns": ["bill_length_mm", "bill_depth_mm"]},
        lambda f: f[["bill_length_mm", "bill_depth_mm"]].mean(axis=1), id="row-wise mean",
    ),
    pytest.param(
        {"operation": "min", "columns": ["bill_length_mm", "bill_depth_mm"]},
        lambda f: f[["bill_length_mm", "bill_depth_mm"]].min(axis=1), id="row-wise min",
    ),
    pytest.param(
        {"operation": "max", "columns": ["bill_length_mm", "bill_depth_mm"]},
        lambda f: f[["bill_length_mm", "bill_depth_mm"]].max(axis=1), id="row-wise max",
    ),
    pytest.param(
        {"operation": ">", "columns": ["body_mass_g"], "value": 4000},
        lambda f: flag(f["body_mass_g"] > 4000, f["body_mass_g"].isna()), id="flag vs number",
    ),
    pytest.param(
        {"operation": "==", "columns": ["species"], "value": "Adelie"},
        lambda f: flag(f["species"] == "Adelie", f["species"].isna()), id="flag text equals",
    ),
    pytest.param(
        {"operation": "<", "columns": ["bill_depth_mm", "bill_length_mm"]},
        lambda f: flag(
            f["bill_depth_mm"] < f["bill_length_mm"],
            f["bill_depth_mm"].isna() | f["bill_length_mm"].isna(),
        ),
        id="flag vs column",
    ),
    pytest.param(
        {"operation": "bin", "columns": ["body_mass_g"], "bins": [2700, 4000, 5000, 6300],
         "labels": ["light", "medium", "heavy"]},
        lambda f: pandas_bins(
            f["body_mass_g"], [2700, 4000, 5000, 6300], ["light", "medium", "heavy"]
        ),
        id="bins by edges",
    ),
    pytest.param(
        {"operation": "bin", "columns": ["body_mass_g"], "bins": [3000, 4000, 5000]},
        lambda f: pandas_bins(
            f["body_mass_g"], [3000, 4000, 5000], ["[3000, 4000]", "(4000, 5000]"]
        ),
        id="bins outside the edges are missing",
    ),
    pytest.param(
        {"operation": "length", "columns": ["island"]},
        lambda f: f["island"].str.len(), id="text length",
    ),
    pytest.param(
        {"operation": "log", "columns": ["body_mass_g"]},
        lambda f: np.log(f["body_mass_g"]), id="log",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("arguments", "expected"), DERIVATIONS)
async def test_derive_column_computes_what_pandas_computes(
    tool_context: ToolContext,
    penguins: Frame,
    arguments: dict[str, Any],
    expected: Callable[[Frame], pd.Series],
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    source = load_table(tool_context, dataset_id)
    result = await call(derive_column, tool_context, dataset_id=dataset_id, name="new", **arguments)
    stored = load_table(tool_context, result["dataset_id"])
    assert stored.columns.tolist() == [*penguins.columns, "new"]
    pd.testing.assert_frame_equal(stored[penguins.columns.tolist()], source)
    pd.testing.assert_series_equal(stored["new"], expected(source).rename("new"), check_dtype=False)
    assert result["action"].startswith("added the column 'new' = ")
    assert len(result["preview"]) == 10 and next(iter(result["preview"][0])) == "new"


async def test_quantile_bins_match_pandas_qcut(tool_context: ToolContext, penguins: Frame) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        derive_column,
        tool_context,
        dataset_id=dataset_id,
        name="mass_quartile",
        operation="bin",
        columns=["body_mass_g"],
        bins=4,
        labels=["q1", "q2", "q3", "q4"],
    )
    stored = load_table(tool_context, result["dataset_id"])["mass_quartile"]
    expected = pd.qcut(penguins["body_mass_g"], 4, labels=["q1", "q2", "q3", "q4"])
    assert (
        stored.astype(object).where(stored.notna(), None).tolist()
        == expected.astype(object).where(expected.notna(), None).tolist()
    )
    assert result["edges"] == pytest.approx(
        penguins["body_mass_g"].quantile([0, 0.25, 0.5, 0.75, 1]).tolist()
    )


async def test_division_by_a_zero_in_a_column_gives_missing_and_is_counted(
    tool_context: ToolContext,
) -> None:
    frame = events()
    dataset_id = add_dataset(tool_context, frame, "flights.csv")
    result = await call(
        derive_column,
        tool_context,
        dataset_id=dataset_id,
        name="delay_per_mile",
        operation="divide",
        columns=["dep_delay", "distance"],
    )
    stored = load_table(tool_context, result["dataset_id"])["delay_per_mile"]
    zero = frame["distance"] == 0
    expected = (frame["dep_delay"] / frame["distance"]).where(~zero)
    pd.testing.assert_series_equal(stored, expected.rename("delay_per_mile"))
    assert result["divided_by_zero"] == int(zero.sum()) > 0
    assert f"{int(zero.sum())} rows divided by zero are missing" in result["action"]


async def test_log_and_abs_of_values_below_zero(tool_context: ToolContext) -> None:
    frame = events()
    dataset_id = add_dataset(tool_context, frame, "flights.csv")
    logged = await call(
        derive_column,
        tool_context,
        dataset_id=dataset_id,
        name="log_delay",
        operation="log",
        columns=["dep_delay"],
    )
    positive = frame["dep_delay"] > 0
    expected = np.log(frame["dep_delay"].where(positive)).rename("log_delay")
    pd.testing.assert_series_equal(
        load_table(tool_context, logged["dataset_id"])["log_delay"], expected
    )
    assert logged["not_positive"] == int((frame["dep_delay"] <= 0).sum()) > 0
    absolute = await call(
        derive_column,
        tool_context,
        dataset_id=dataset_id,
        name="abs_delay",
        operation="abs",
        columns=["dep_delay"],
    )
    stored = load_table(tool_context, absolute["dataset_id"])["abs_delay"]
    pd.testing.assert_series_equal(stored, frame["dep_delay"].abs().rename("abs_delay"))


DATE_PARTS = [
    ("year", lambda d: d.dt.year),
    ("quarter", lambda d: d.dt.quarter),
    ("month", lambda d: d.dt.month),
    ("day", lambda d: d.dt.day),
    ("weekday", lambda d: d.dt.dayofweek),
    ("hour", lambda d: d.dt.hour),
]


@pytest.mark.parametrize(("part", "expected"), DATE_PARTS)
@pytest.mark.parametrize("column", ["departed", "day"])
async def test_date_parts_of_timestamps_and_of_text_dates(
    tool_context: ToolContext, part: str, expected: Callable[[pd.Series], pd.Series], column: str
) -> None:
    frame = events()
    dataset_id = add_dataset(tool_context, frame, "flights.csv")
    result = await call(
        derive_column,
        tool_context,
        dataset_id=dataset_id,
        name="part",
        operation="date_part",
        columns=[column],
        part=part,
    )
    stored = load_table(tool_context, result["dataset_id"])["part"]
    assert stored.tolist() == expected(pd.to_datetime(frame[column])).tolist()


DERIVE_REFUSALS = [
    refusal(
        "divide by a text column",
        derive_column,
        {"name": "r", "operation": "divide", "columns": ["body_mass_g", "species"]},
        "not_numeric",
        "'species'",
        "cast_column",
    ),
    refusal(
        "date part of text that is no date",
        derive_column,
        {"name": "y", "operation": "date_part", "columns": ["species"], "part": "year"},
        "not_a_date",
        "'species' is text",
        "cast_column to='datetime'",
    ),
    refusal(
        "date part of numbers",
        derive_column,
        {"name": "y", "operation": "date_part", "columns": ["year"], "part": "year"},
        "not_a_date",
        "'year' is integer",
    ),
    refusal(
        "date part without a part",
        derive_column,
        {"name": "y", "operation": "date_part", "columns": ["year"]},
        "bad_argument",
        "`part`",
    ),
    refusal(
        "ordering flag on text",
        derive_column,
        {"name": "f", "operation": ">", "columns": ["island"], "value": "B"},
        "wrong_type",
        "'island' holds text",
    ),
    refusal(
        "length of numbers",
        derive_column,
        {"name": "n", "operation": "length", "columns": ["body_mass_g"]},
        "wrong_type",
        "'body_mass_g' is number",
    ),
    refusal(
        "a name that exists",
        derive_column,
        {"name": "Species", "operation": "length", "columns": ["species"]},
        "column_exists",
        "already exists",
    ),
    refusal(
        "labels that do not fit the bins",
        derive_column,
        {"name": "b", "operation": "bin", "columns": ["body_mass_g"], "bins": [0, 4000, 9000],
         "labels": ["light"]},
        "bad_labels",
        "2 bins need 2 labels",
    ),
    refusal(
        "edges that do not increase",
        derive_column,
        {"name": "b", "operation": "bin", "columns": ["body_mass_g"], "bins": [5000, 4000]},
        "bad_bins",
        "must increase",
    ),
    refusal(
        "one column and no value",
        derive_column,
        {"name": "s", "operation": "add", "columns": ["body_mass_g"]},
        "bad_argument",
        "needs a number as `value`",
    ),
    refusal(
        "a value where none is taken",
        derive_column,
        {"name": "s", "operation": "sum", "columns": ["body_mass_g"], "value": 3},
        "bad_argument",
        "takes no `value`",
    ),
    refusal(
        "unknown column",
        derive_column,
        {"name": "s", "operation": "log", "columns": ["body_mas"]},
        "unknown_column",
        "Did you mean",
    ),
]  # fmt: skip


# sort_rows -------------------------------------------------------------------------------
SORTS: list[Any] = [
    pytest.param({"by": ["body_mass_g"], "descending": True, "limit": 5}, id="top five"),
    pytest.param({"by": ["Body Mass G"], "limit": 3}, id="bottom three"),
    pytest.param({"by": ["species", "bill_length_mm"]}, id="two keys"),
    pytest.param({"by": ["sex", "island"], "descending": True}, id="text keys, missing last"),
]


@pytest.mark.parametrize("arguments", SORTS)
async def test_sort_rows_orders_like_pandas(
    tool_context: ToolContext, penguins: Frame, arguments: dict[str, Any]
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    source = load_table(tool_context, dataset_id)
    result = await call(sort_rows, tool_context, dataset_id=dataset_id, **arguments)
    by = [name.lower().replace(" ", "_") for name in arguments["by"]]
    expected = source.sort_values(
        by, ascending=not arguments.get("descending", False), kind="stable", na_position="last"
    )
    if "limit" in arguments:
        expected = expected.head(arguments["limit"])
    expect_rows(result, source, expected, tool_context)
    assert result["action"].startswith(f"sorted 344 rows by {', '.join(by)}")


SORT_REFUSALS = [
    refusal("no columns", sort_rows, {"by": []}, "no_columns", "at least one column"),
    refusal("a limit of zero", sort_rows, {"by": ["year"], "limit": 0}, "bad_limit", "at least 1"),
    refusal("unknown column", sort_rows, {"by": ["mass"]}, "unknown_column", "Columns:"),
]


@pytest.mark.parametrize("case", [*FILTER_REFUSALS, *DERIVE_REFUSALS, *SORT_REFUSALS])
async def test_bad_requests_are_refused_with_the_way_forward(
    tool_context: ToolContext, penguins: Frame, case: Refusal
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    await case.check(tool_context, dataset_id=dataset_id)
    stored = workspace_for(tool_context).items("table")
    assert [record.id for record in stored] == [dataset_id]  # nothing half-made


async def test_summary_mode_shows_no_rows(
    tool_context: ToolContext, settings: Settings, penguins: Frame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    source = load_table(tool_context, dataset_id)
    result = await call(sort_rows, tool_context, dataset_id=dataset_id, by=["body_mass_g"], limit=3)
    assert "preview" not in result and result["rows_after"] == 3
    expected = source.sort_values("body_mass_g", kind="stable").head(3)
    expect_rows(result, source, expected, tool_context)
