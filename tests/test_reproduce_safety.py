"""Every data-side tool has a code template, and names from the data stay strings in the code:
a column or file named like code is written as a literal, so running the cell runs no code."""

from __future__ import annotations

import inspect
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.reproduce.code import TEMPLATES, Names, Source, Step, step_code
from data_science.reproduce.templates._shared import DEFAULTS
from data_science.tools import (
    analysis,
    data,
    features,
    files,
    guidance,
    prep,
    query,
    regression,
    rows,
    viz,
)
from tests.conftest import Tool, add_dataset
from tests.reproduce_checks import Replay, run_code

FAMILIES = [files, data, analysis, regression, rows, query, viz, prep, features, guidance]
EXCLUDED = {"export_model"}  # a model step: code-b's template (tools.files holds its tool)


def family_tools() -> list[str]:
    names = []
    for module in FAMILIES:
        for name, value in vars(module).items():
            made_here = getattr(value, "__module__", "") == module.__name__
            if made_here and hasattr(value, "__wrapped__") and not name.startswith("_"):
                names.append(name)
    return sorted(set(names) - EXCLUDED)


def test_every_tool_of_the_data_families_has_a_template() -> None:
    import data_science.reproduce.templates  # noqa: F401  (registers them)

    tools = family_tools()
    assert len(tools) >= 34
    assert [name for name in tools if name not in TEMPLATES] == []


def assert_only_in_strings(code: str, text: str) -> None:
    """`text` occurs in the code only inside string literals and comments, never as code."""
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type not in {tokenize.STRING, tokenize.COMMENT}:
            assert text not in token.string, f"{text!r} is code here: {token.line!r}"


def hostile_marker(tmp_path: Path) -> tuple[str, Path]:
    """A name that would create a file if it ever ran as code, and that file."""
    marker = tmp_path / "pwned"
    return f'"); import os; os.system("touch {marker}")  #', marker


def hostile_frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: [1.0, 2.0, 2.0, 40.0, None, 3.0, 5.0, 2.5],
            "group": ["a", "b", "a", "b", None, "b", "a", "b"],
            "when": [
                "2024-01-01",
                "2024-02-01",
                "2024-03-01",
                "2024-04-01",
                "2024-05-01",
                "2024-06-01",
                "2024-07-01",
                "2024-08-01",
            ],
        }
    )


def calls(name: str) -> list[tuple[Tool, dict[str, Any]]]:
    return [
        (data.analyze_dataset, {}),
        (analysis.describe_distribution, {"column": name}),
        (analysis.value_counts, {"column": name}),
        (
            analysis.group_by,
            {"group_columns": ["group"], "value_columns": [name], "aggregations": ["mean", "max"]},
        ),
        (analysis.hypothesis_test, {"test": "t_test", "column": name, "group_column": "group"}),
        (
            rows.filter_rows,
            {
                "conditions": [
                    {"column": name, "op": ">", "value": 1.5},
                    {"column": "group", "op": "==", "value": name},
                ],
                "match": "any",
            },
        ),
        (rows.derive_column, {"name": name + "2", "operation": "log", "columns": [name]}),
        (rows.sort_rows, {"by": [name]}),
        (prep.rename_columns, {"mapping": {"group": name + "'\"\n"}}),
        (prep.impute_missing, {"strategy": "constant", "columns": ["group"], "fill_value": name}),
        (prep.handle_outliers, {"columns": [name]}),
        (prep.encode_columns, {"columns": ["group"]}),
        (prep.expand_dates, {"column": "when"}),
        (viz.plot, {"kind": "bar", "x": "group", "y": name}),
        (viz.plot, {"kind": "histogram", "x": name}),
    ]


@pytest.mark.parametrize("number", range(15))
async def test_a_column_named_like_code_stays_a_string(
    tool_context: ToolContext, tmp_path: Path, number: int
) -> None:
    name, marker = hostile_marker(tmp_path)
    tool, args = calls(name)[number]
    dataset_id = add_dataset(tool_context, hostile_frame(name), 'it\'s "quoted".csv')
    replay = Replay(tool_context, tmp_path / "beside")
    await replay.run_step(tool, dataset_id=dataset_id, **args)
    assert_only_in_strings(replay.code, "os.system")
    assert not marker.exists()


async def test_sql_and_a_quoted_upload_name_stay_strings(
    tool_context: ToolContext, tmp_path: Path
) -> None:
    name, marker = hostile_marker(tmp_path)
    dataset_id = add_dataset(tool_context, hostile_frame(name), "data.csv")
    label = name.replace("'", "''")  # the hostile name as an SQL string in the query text
    columns = f"\"group\", count(*) AS n, '{label}' AS label"
    sql = f"SELECT {columns} FROM {dataset_id} GROUP BY 1 ORDER BY 1"  # noqa: S608
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(query.run_sql, sql=sql)
    replay.assert_same_table(result["dataset_id"])
    assert not marker.exists()

    folder = tmp_path / "upload"
    folder.mkdir()
    file_name = 'it\'s "x"); import os; os.system("touch pwned")  #.csv'  # cwd: tmp_path
    hostile_frame(name).to_csv(folder / file_name, index=False)
    names = Names({"ds_upload": Source(file_name, "read_csv", {"sep": ","})})
    step = Step("value_counts", {"dataset_id": "ds_upload", "column": "group"}, {"column": "group"})
    namespace, printed = run_code([step_code(step, names)], folder)
    assert_only_in_strings(step_code(step, Names({"ds_upload": Source(file_name)})), "os.system")
    assert re.search(r"^a\s+3\s", printed, re.MULTILINE)
    assert not marker.exists() and not Path("pwned").exists()
    assert len(namespace[names.frame("ds_upload")]) == 8


def test_the_templates_know_each_tool_s_defaults() -> None:
    """A template fills in the defaults the tool's signature has (the tools are a layer above
    the templates, so the defaults are written there once and checked here)."""
    for module in FAMILIES:
        for name in family_tools():
            tool = getattr(module, name, None)
            if tool is None or getattr(tool, "__module__", "") != module.__name__:
                continue
            defaults = {
                key: parameter.default
                for key, parameter in inspect.signature(tool).parameters.items()
                if parameter.default is not inspect.Parameter.empty
            }
            assert DEFAULTS.get(name, {}) == defaults, name
