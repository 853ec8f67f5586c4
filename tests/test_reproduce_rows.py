"""The code shown for filter_rows, derive_column and sort_rows makes the same dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools.rows import derive_column, filter_rows, sort_rows
from tests.conftest import Tool, add_dataset
from tests.reproduce_checks import Replay


def events() -> pd.DataFrame:
    """A small table with numbers, text, text dates, a true date column, gaps and zeros."""
    return pd.DataFrame(
        {
            "city": ["Oslo", "Bergen", None, "oslo", "Tromsø", "Bergen"],
            "sales": [120.0, 0.0, 55.5, np.nan, 980.0, 300.0],
            "units": [3, 0, 2, 5, 10, 4],
            "day": ["2024-01-05", "2024-02-10", "2024-02-29", None, "2023-12-31", "2024-03-01"],
            "when": pd.to_datetime(
                [
                    "2024-01-05 10:00",
                    "2024-02-10 12:30",
                    None,
                    "2024-03-01 08:00",
                    "2023-12-31 23:00",
                    "2024-03-01 09:15",
                ]
            ),
            "ok": [True, False, True, True, False, True],
        }
    )


FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("text equality", {"conditions": [{"column": "city", "op": "==", "value": "Bergen"}]}),
    (
        "number and any",
        {
            "conditions": [
                {"column": "Sales", "op": ">", "value": 100},
                {"column": "units", "op": "==", "value": 0},
            ],
            "match": "any",
        },
    ),
    ("not equal skips missing", {"conditions": [{"column": "sales", "op": "!=", "value": 0}]}),
    ("number as text", {"conditions": [{"column": "units", "op": ">=", "value": "4"}]}),
    (
        "in and not_in",
        {
            "conditions": [
                {"column": "city", "op": "in", "value": ["Oslo", "Bergen"]},
                {"column": "units", "op": "not_in", "value": [0, 3]},
            ]
        },
    ),
    ("between", {"conditions": [{"column": "sales", "op": "between", "value": [50, 300]}]}),
    ("text dates", {"conditions": [{"column": "day", "op": ">=", "value": "2024-02-01"}]}),
    ("dates", {"conditions": [{"column": "when", "op": "<", "value": "2024-03-01"}]}),
    ("missing", {"conditions": [{"column": "city", "op": "is null"}]}),
    ("not missing", {"conditions": [{"column": "sales", "op": "not_missing"}]}),
    ("contains", {"conditions": [{"column": "city", "op": "contains", "value": "OS"}]}),
    (
        "starts and ends",
        {
            "conditions": [
                {"column": "city", "op": "starts_with", "value": "b"},
                {"column": "city", "op": "ends_with", "value": "N"},
            ]
        },
    ),
    ("boolean", {"conditions": [{"column": "ok", "op": "==", "value": True}]}),
]

DERIVATIONS: list[tuple[str, dict[str, Any]]] = [
    ("divide columns", {"operation": "divide", "columns": ["sales", "units"]}),
    ("multiply by a value", {"operation": "multiply", "columns": ["sales"], "value": 1.25}),
    ("subtract", {"operation": "subtract", "columns": ["units", "sales"]}),
    ("row-wise sum", {"operation": "sum", "columns": ["sales", "units"]}),
    ("row-wise mean", {"operation": "mean", "columns": ["sales", "units"]}),
    ("row-wise max", {"operation": "max", "columns": ["sales", "units"]}),
    ("flag", {"operation": ">", "columns": ["sales"], "value": 100}),
    ("flag columns", {"operation": "<=", "columns": ["units", "sales"]}),
    ("text flag", {"operation": "==", "columns": ["city"], "value": "Bergen"}),
    ("bins", {"operation": "bin", "columns": ["sales"], "bins": [0, 100, 500, 1000]}),
    (
        "labelled bins",
        {"operation": "bin", "columns": ["units"], "bins": [0, 3, 10], "labels": ["few", "many"]},
    ),
    ("quantile bins", {"operation": "bin", "columns": ["units"], "bins": 3}),
    ("length", {"operation": "length", "columns": ["city"]}),
    ("month of text dates", {"operation": "date_part", "columns": ["day"], "part": "month"}),
    ("weekday", {"operation": "date_part", "columns": ["when"], "part": "weekday"}),
    ("hour", {"operation": "date_part", "columns": ["when"], "part": "hour"}),
    ("log", {"operation": "log", "columns": ["sales"]}),
    ("abs", {"operation": "abs", "columns": ["units"]}),
]

SORTS: list[tuple[str, dict[str, Any]]] = [
    ("ascending", {"by": ["sales"]}),
    ("descending top", {"by": ["City", "units"], "descending": True, "limit": 3}),
]

CASES: list[tuple[str, Tool, dict[str, Any]]] = [
    *((f"filter: {name}", filter_rows, args) for name, args in FILTERS),
    *((f"derive: {name}", derive_column, {"name": "new", **args}) for name, args in DERIVATIONS),
    *((f"sort: {name}", sort_rows, args) for name, args in SORTS),
]


@pytest.mark.parametrize(("tool", "args"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_the_code_makes_the_dataset_the_tool_made(
    tool_context: ToolContext, tmp_path: Path, tool: Tool, args: dict[str, Any]
) -> None:
    dataset_id = add_dataset(tool_context, events(), "events.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(tool, dataset_id=dataset_id, **args)
    replay.assert_same_table(result["dataset_id"])
    replay.assert_shows(result["rows_after"])
