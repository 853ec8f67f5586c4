"""The code shown for the data and analysis tools reruns to the numbers the tools reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools.analysis import (
    correlations,
    describe_distribution,
    group_by,
    hypothesis_test,
    preview_rows,
    value_counts,
)
from data_science.tools.data import analyze_dataset, list_data_files
from tests.conftest import Tool, add_dataset
from tests.reproduce_checks import Replay

Numbers = Callable[[dict[str, Any]], Iterator[float]]


def profile_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield from (result["rows"], result["columns"], result["duplicate_rows"])
    for entry in result["column_profiles"]:
        yield from (entry["missing"], entry["missing_pct"], entry["unique"])
        for key in ("mean", "std", "min", "q1", "median", "q3", "max"):
            if key in entry:
                yield entry[key]


def distribution_numbers(result: dict[str, Any]) -> Iterator[float]:
    for entry in result["columns"]:
        iqr, z = entry["iqr_outliers"], entry["z_outliers"]
        yield from (entry["n"], entry["missing"], iqr["q1"], iqr["q3"], iqr["lower_fence"])
        yield from (iqr["upper_fence"], iqr["count"], iqr["pct"], z["mean"], z["std"], z["count"])
        yield from (entry["skewness"], entry["excess_kurtosis"])
        yield from (entry["normality"]["statistic"], entry["normality"]["p_value"])


def pair_numbers(result: dict[str, Any]) -> Iterator[float]:
    for pair in result["pairs"]:
        yield pair["n"]
        for key in ("pearson_r", "pearson_p", "spearman_rho", "spearman_p"):
            if key in pair:
                yield pair[key]


def group_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield result["total_groups"]
    for group in result["groups"]:
        yield from (
            value
            for key, value in group.items()
            if isinstance(value, float | int)
            and key not in result["group_columns"]
            and value is not None
        )


def count_numbers(result: dict[str, Any]) -> Iterator[float]:
    yield from (result["distinct"], result["missing"])
    for entry in result["values"]:
        yield from (entry["count"], entry["pct"])
    yield from result["other_values"].values()


def hypothesis_numbers(result: dict[str, Any]) -> Iterator[float]:
    for key in ("statistic", "p_value", "df", "mean_difference", "eta_squared", "cramers_v", "n"):
        if result.get(key) is not None:
            yield result[key]
    yield from result.get("mean_difference_ci_95", [])
    for group in result.get("groups", []):
        yield from (group["n"], group["mean"], group["std"], group["median"])
    for row in result.get("contingency_table", {}).get("counts", {}).values():
        yield from row.values()


def preview_numbers(result: dict[str, Any]) -> Iterator[float]:
    for row in result["rows"]:
        yield row["row"]
        yield from (v for v in row["values"].values() if isinstance(v, float | int))


CASES: list[tuple[str, Tool, dict[str, Any], Numbers]] = [
    ("profile", analyze_dataset, {}, profile_numbers),
    ("profile, population std", analyze_dataset, {"std": "population"}, profile_numbers),
    ("preview head", preview_rows, {"n": 4, "columns": ["Body_Mass_G", "island"]}, preview_numbers),
    ("preview tail", preview_rows, {"n": 3, "position": "tail"}, preview_numbers),
    ("preview random", preview_rows, {"n": 6, "position": "random"}, preview_numbers),
    ("distribution", describe_distribution, {}, distribution_numbers),
    (
        "distribution, one column, options",
        describe_distribution,
        {
            "column": "body_mass_g",
            "z_threshold": 2.0,
            "std": "population",
            "skew_kurtosis": "biased",
        },
        distribution_numbers,
    ),
    ("correlations", correlations, {"top_k": 4}, pair_numbers),
    (
        "one pair",
        correlations,
        {"columns": ["bill_length_mm", "body_mass_g"], "method": "spearman"},
        pair_numbers,
    ),
    (
        "pearson among three",
        correlations,
        {"columns": ["bill_length_mm", "bill_depth_mm", "year"], "method": "pearson"},
        pair_numbers,
    ),
    ("group count", group_by, {"group_columns": ["island"]}, group_numbers),
    (
        "group aggregates",
        group_by,
        {
            "group_columns": ["species", "sex"],
            "value_columns": ["body_mass_g", "bill_length_mm"],
            "aggregations": ["median", "count", "std", "min", "max", "sum", "mean"],
            "std": "population",
        },
        group_numbers,
    ),
    ("value counts", value_counts, {"column": "sex"}, count_numbers),
    ("value counts top", value_counts, {"column": "island", "top_k": 2}, count_numbers),
    (
        "t-test",
        hypothesis_test,
        {"test": "t_test", "column": "body_mass_g", "group_column": "species"},
        hypothesis_numbers,
    ),
    (
        "t-test named",
        hypothesis_test,
        {
            "test": "t_test",
            "column": "flipper_length_mm",
            "group_column": "island",
            "groups": ["dream", "Torgersen"],
        },
        hypothesis_numbers,
    ),
    (
        "anova",
        hypothesis_test,
        {"test": "anova", "column": "bill_depth_mm", "group_column": "species"},
        hypothesis_numbers,
    ),
    (
        "anova groups",
        hypothesis_test,
        {
            "test": "anova",
            "column": "bill_depth_mm",
            "group_column": "island",
            "groups": ["Biscoe", "Dream"],
        },
        hypothesis_numbers,
    ),
    (
        "chi-square",
        hypothesis_test,
        {"test": "chi_square", "column": "sex", "group_column": "island"},
        hypothesis_numbers,
    ),
]


@pytest.mark.parametrize(
    ("tool", "args", "numbers"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
async def test_the_code_prints_the_numbers_the_tool_reported(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    tmp_path: Path,
    tool: Tool,
    args: dict[str, Any],
    numbers: Numbers,
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(tool, dataset_id=dataset_id, **args)
    expected = list(numbers(result))
    assert expected
    replay.assert_shows(*expected)


async def test_listing_the_files_is_a_comment(
    tool_context: ToolContext, penguins: pd.DataFrame, tmp_path: Path
) -> None:
    add_dataset(tool_context, penguins, "penguins.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    await replay.run_step(list_data_files)
    assert all(line.startswith("#") for line in replay.code.strip().splitlines())
    assert replay.printed == ""
