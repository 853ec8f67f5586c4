"""The code shown for the cleaning and encoding tools makes the dataset the tool made, and
prints the statistics it reported (fill values, bounds, scaling parameters, counts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools.prep import (
    cast_column,
    drop_columns,
    encode_columns,
    expand_dates,
    handle_outliers,
    impute_missing,
    remove_duplicates,
    rename_columns,
    scale_columns,
    text_to_tfidf,
)
from tests.conftest import Tool, add_dataset
from tests.reproduce_checks import Replay

Numbers = Callable[[dict[str, Any]], Iterator[float]]


def messy() -> pd.DataFrame:
    """Text numbers with currency and separators, dates as text, duplicates, notes."""
    return pd.DataFrame(
        {
            "price": ["$1,200.50", "12.5%", "(1,000)", "7", "1.234,5", "abc", None, "-$4", "7"],
            "count": ["1", "2", "2.5", "4", "x", "6", None, "8", "4"],
            "flag": ["yes", "N", "true", "0", "maybe", None, "on", "off", "0"],
            "when": [
                "2024-01-31",
                "31 Jan 2024",
                "2024-02-29 10:30",
                "nope",
                None,
                "2023-12-30",
                "2024-03-02",
                "2024-03-03",
                "2024-01-31",
            ],
            "note": [
                "great fast delivery",
                "slow delivery and bad packaging",
                "great value",
                "",
                None,
                "fast fast fast",
                "the packaging was great",
                "value for money",
                "great fast delivery",
            ],
            "ymd": [
                20240131,
                20240229,
                2023,
                20240101,
                20240315,
                20231225,
                20240704,
                20241231,
                20240131,
            ],
        }
    )


def penguins_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield result["rows_after"]


def fill_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield from (v for v in (result.get("fill_values") or {}).values() if isinstance(v, float))
    yield from result["filled_per_column"].values()
    yield result["rows_after"]


def bound_numbers(result: dict[str, Any]) -> Iterator[float]:
    for bound in result["bounds"].values():
        yield from bound.values()
    yield from (result["rows_with_outliers"], result["rows_after"])


def scale_numbers(result: dict[str, Any]) -> Iterator[float]:
    for parameters in result["parameters"].values():
        yield from parameters.values()


def cast_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield from (result["converted"], result["could_not_convert"], result["already_missing"])


def duplicate_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield from (result["rows_removed"], result["duplicate_groups"], result["rows_after"])


def tfidf_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield result["terms"]
    yield from (term["mean_weight"] for term in result["top_terms"])


def columns_after(result: dict[str, Any]) -> Iterator[float]:
    yield from (result["rows_after"], result["columns_after"])


PENGUIN_CASES: list[tuple[str, Tool, dict[str, Any], Numbers]] = [
    ("impute median", impute_missing, {}, fill_numbers),
    (
        "impute mean",
        impute_missing,
        {"strategy": "mean", "columns": ["Bill_Length_mm"]},
        fill_numbers,
    ),
    ("impute most frequent", impute_missing, {"strategy": "most_frequent"}, fill_numbers),
    (
        "impute constant",
        impute_missing,
        {"strategy": "constant", "columns": ["sex"], "fill_value": "unknown"},
        fill_numbers,
    ),
    ("impute knn", impute_missing, {"strategy": "knn"}, fill_numbers),
    ("impute iterative", impute_missing, {"strategy": "iterative"}, fill_numbers),
    ("drop", drop_columns, {"columns": ["Year", "island"]}, columns_after),
    (
        "rename",
        rename_columns,
        {"mapping": {"bill_length_mm": "bill", "Sex": "gender"}},
        columns_after,
    ),
    (
        "duplicates on columns",
        remove_duplicates,
        {"columns": ["species", "island"], "keep": "last"},
        duplicate_numbers,
    ),
    (
        "duplicates none kept",
        remove_duplicates,
        {"columns": ["species", "sex"], "keep": "none"},
        duplicate_numbers,
    ),
    ("outliers iqr clip", handle_outliers, {"threshold": 1.0}, bound_numbers),
    (
        "outliers zscore remove",
        handle_outliers,
        {"method": "zscore", "action": "remove", "threshold": 2.0},
        bound_numbers,
    ),
    ("scale standard", scale_columns, {}, scale_numbers),
    (
        "scale minmax",
        scale_columns,
        {"method": "minmax", "columns": ["body_mass_g"]},
        scale_numbers,
    ),
    ("scale robust", scale_columns, {"method": "robust"}, scale_numbers),
    ("onehot", encode_columns, {"columns": ["Island", "sex"]}, columns_after),
    (
        "ordinal",
        encode_columns,
        {"columns": ["species", "sex"], "method": "ordinal"},
        columns_after,
    ),
    (
        "target binary",
        encode_columns,
        {"columns": ["island", "species"], "method": "target", "target": "sex"},
        columns_after,
    ),
    (
        "target multiclass",
        encode_columns,
        {"columns": ["island"], "method": "target", "target": "species"},
        columns_after,
    ),
    (
        "target continuous",
        encode_columns,
        {"columns": ["island", "sex"], "method": "target", "target": "body_mass_g"},
        columns_after,
    ),
]

MESSY_CASES: list[tuple[str, Tool, dict[str, Any], Numbers]] = [
    ("cast number", cast_column, {"column": "price"}, cast_numbers),
    ("cast integer", cast_column, {"column": "count", "to": "integer"}, cast_numbers),
    ("cast boolean", cast_column, {"column": "flag", "to": "boolean"}, cast_numbers),
    ("cast datetime", cast_column, {"column": "when", "to": "datetime"}, cast_numbers),
    ("cast number dates", cast_column, {"column": "ymd", "to": "datetime"}, cast_numbers),
    ("cast text", cast_column, {"column": "ymd", "to": "text"}, cast_numbers),
    ("cast category", cast_column, {"column": "flag", "to": "category"}, cast_numbers),
    ("duplicates", remove_duplicates, {}, duplicate_numbers),
    ("expand dates", expand_dates, {"column": "when"}, columns_after),
    ("expand number dates", expand_dates, {"column": "ymd"}, columns_after),
    ("tfidf", text_to_tfidf, {"column": "note", "max_features": 5}, tfidf_numbers),
]


async def check(
    tool_context: ToolContext,
    folder: Path,
    frame: pd.DataFrame,
    tool: Tool,
    args: dict[str, Any],
    numbers: Numbers,
) -> None:
    dataset_id = add_dataset(tool_context, frame, "table.csv")
    replay = Replay(tool_context, folder)
    result = await replay.run_step(tool, dataset_id=dataset_id, **args)
    replay.assert_same_table(result["dataset_id"])
    replay.assert_shows(*numbers(result))


@pytest.mark.parametrize(
    ("tool", "args", "numbers"), [c[1:] for c in PENGUIN_CASES], ids=[c[0] for c in PENGUIN_CASES]
)
async def test_penguins_cleaned_by_code_as_by_the_tool(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    tmp_path: Path,
    tool: Tool,
    args: dict[str, Any],
    numbers: Numbers,
) -> None:
    await check(tool_context, tmp_path / "beside", penguins, tool, args, numbers)


@pytest.mark.parametrize(
    ("tool", "args", "numbers"), [c[1:] for c in MESSY_CASES], ids=[c[0] for c in MESSY_CASES]
)
async def test_messy_values_converted_by_code_as_by_the_tool(
    tool_context: ToolContext,
    tmp_path: Path,
    tool: Tool,
    args: dict[str, Any],
    numbers: Numbers,
) -> None:
    await check(tool_context, tmp_path / "beside", messy(), tool, args, numbers)
