"""Running a real tool and the code generated for it side by side (the data-side families).

`Reproduction.run` calls the tool as the agent does, builds the `Step` from its arguments and
result, generates the cell with `step_code` and executes it (`run_code`) with every dataset of
the chat written into the DATA folder as Parquet (read back exactly, dtypes included). Then
`shows` checks a number the tool reported was printed, equal at the printed precision, and
`frame` gives the dataset a cell bound for comparison with the stored one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from google.adk.tools.tool_context import ToolContext

from data_science.reproduce.code import Names, Source, Step, step_code
from data_science.tools.base import workspace_for
from tests.conftest import Tool, call, load_table
from tests.reproduce_support import run_code

NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def printed_numbers(printed: str) -> list[tuple[float, float]]:
    """Every number in the output with the half-unit of its last printed digit."""
    found = []
    for token in NUMBER.findall(printed.replace(",", "")):
        mantissa, _, exponent = token.lower().partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        scale = 10.0 ** (int(exponent) if exponent else 0)
        found.append((float(token), 0.5 * 10.0**-decimals * scale))
    return found


def shows(printed: str, value: float) -> bool:
    """`value` was printed: some number of the output equals it at that number's precision."""
    if isinstance(value, bool) or value is None:
        raise AssertionError(f"not a number to look for: {value!r}")
    return any(
        math.isclose(number, value, rel_tol=1e-12, abs_tol=half * (1 + 1e-9))
        for number, half in printed_numbers(printed)
    )


@dataclass
class Reproduction:
    """One chat's worth of steps replayed as code: the tool results and the cells' output."""

    tool_context: ToolContext
    folder: Path
    cells: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    printed: str = ""
    names: Names | None = None

    def _names(self) -> Names:
        if self.names is None:
            sources = {}
            self.folder.mkdir(parents=True, exist_ok=True)
            for record in workspace_for(self.tool_context).items("table"):
                file_name = f"{record.id}.parquet"
                load_table(self.tool_context, record.id).to_parquet(self.folder / file_name)
                sources[record.id] = Source(file_name, "read_parquet")
            self.names = Names(sources)
        return self.names

    async def run(self, tool: Tool, **args: Any) -> dict[str, Any]:
        """Call the tool, then run every cell so far and this step's; return the tool's result."""
        names = self._names()  # the uploads as they were before any step
        result = await call(tool, self.tool_context, **args)
        step = Step(tool.__name__, args, result)
        self.steps.append(step)
        self.cells.append(step_code(step, names))
        self.namespace, printed = run_code(self.cells, self.folder)
        self.printed = printed
        return result

    @property
    def code(self) -> str:
        return self.cells[-1]

    def frame(self, dataset_id: str) -> pd.DataFrame:
        assert self.names is not None
        variable = self.names.frame(dataset_id)
        value = self.namespace[variable]
        assert isinstance(value, pd.DataFrame)
        return value

    def assert_shows(self, *values: float) -> None:
        missing = [value for value in values if not shows(self.printed, value)]
        assert not missing, (
            f"not printed: {missing}\n--- code\n{self.code}\n--- printed\n{self.printed}"
        )

    def assert_same_table(self, dataset_id: str) -> None:
        """The frame the code made equals the stored dataset the tool made."""
        made = self.frame(dataset_id).reset_index(drop=True)
        stored = load_table(self.tool_context, dataset_id)
        pd.testing.assert_frame_equal(made, stored, check_dtype=False, check_categorical=False)
