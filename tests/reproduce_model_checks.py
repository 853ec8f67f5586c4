"""Helpers of the modelling families' reproduce tests: a chat of real tool calls whose steps are
turned into code cells, run, and read back as the numbers they printed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from google.adk.tools.tool_context import ToolContext

from data_science.reproduce.code import Names, Source, Step, step_code
from tests.conftest import Tool, add_dataset, call
from tests.reproduce_support import run_code

PRINTED = re.compile(r"^(?P<label>[^\n]+?): (?P<value>-?\d+(?:\.\d+)?|nan)$", re.MULTILINE)
HOSTILE = '"); import os; os.system("touch /tmp/pwned")  #'


@dataclass
class Chat:
    """Real tool calls in one session, each recorded as a Step and written as a code cell."""

    tool_context: ToolContext
    folder: Path
    sources: dict[str, Source] = field(default_factory=dict)
    cells: list[str] = field(default_factory=list)
    names: Names | None = None

    def upload(self, frame: pd.DataFrame, file_name: str) -> str:
        """Store `frame` as a dataset and put the file the notebook reads beside it."""
        dataset_id = add_dataset(self.tool_context, frame, file_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(self.folder / file_name, index=False)
        self.sources[dataset_id] = Source(file_name, "read_parquet")
        return dataset_id

    async def step(self, tool: Tool, **args: Any) -> tuple[dict[str, Any], str]:
        """Call `tool` for real; return its result and the code cell of the step."""
        result = await call(tool, self.tool_context, **args)
        return result, self.record(tool.__name__, args, result)

    def record(self, tool: str, args: dict[str, Any], result: dict[str, Any]) -> str:
        """Write the step of a call already made as a code cell; return the cell."""
        if self.names is None:
            self.names = Names(self.sources)
        code = step_code(Step(tool, args, result), self.names)
        self.cells.append(code)
        return code

    def run(self) -> tuple[dict[str, Any], str]:
        """Run every cell so far, in order, as a notebook would."""
        return run_code(self.cells, self.folder)


def printed_numbers(output: str) -> dict[str, str]:
    """The `label: number` lines a cell printed, by label (the last one wins)."""
    return {match["label"]: match["value"] for match in PRINTED.finditer(output)}


def expected_metrics(prefix: str, metrics: Mapping[str, float]) -> dict[str, str]:
    """What a cell prints for the tool's `metrics`: `<prefix> <name>` at four decimals."""
    return {f"{prefix} {name}": f"{value:.4f}" for name, value in metrics.items()}


def assert_printed(output: str, expected: Mapping[str, str]) -> None:
    """Every expected line was printed with exactly the expected value."""
    printed = printed_numbers(output)
    missing = {label: value for label, value in expected.items() if printed.get(label) != value}
    assert not missing, f"expected {missing}, the code printed:\n{output}"
