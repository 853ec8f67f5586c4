"""The code of `run_python`, run in a notebook namespace: it prints what the sandbox printed, its
saved datasets become variables, and the notebook's `df` survives code that rebinds it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools import run_python
from tests.conftest import load_table
from tests.reproduce_checks import Replay

CODE = """
means = df.groupby("species")[["body_mass_g", "flipper_length_mm"]].mean().round(2)
print(means.to_string())
print("rows:", len(df))
save_dataset(means, "mean size by species")
df = df.dropna()  # rebinding df inside the code must not change the notebook's df
import matplotlib.pyplot as plt
plt.plot(means["body_mass_g"])
save_chart("mass by species")
"""


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


async def test_run_python_code_runs_verbatim_and_keeps_what_it_saved(
    chat: Replay, penguins: pd.DataFrame
) -> None:
    dataset_id = chat.upload(penguins, "penguins.csv")
    result, code = await chat.step(run_python, code=CODE, dataset_ids=[dataset_id])
    assert CODE.strip() in code
    saved = result["datasets"][0]["dataset_id"]

    namespace, output = chat.run()

    assert output.splitlines() == result["stdout"]
    pd.testing.assert_frame_equal(
        namespace["df_2"], load_table(chat.tool_context, saved), check_dtype=False
    )
    assert len(namespace["df"]) == len(penguins)  # the notebook's df, not the code's


async def test_two_datasets_are_given_by_id_and_no_df(chat: Replay, penguins: pd.DataFrame) -> None:
    first = chat.upload(penguins.head(30), "first.csv")
    second = chat.upload(penguins.tail(20), "second.csv")
    code = (
        "print(sorted(len(frame) for frame in datasets.values()))\n"
        "print('df' in globals() and len(df))\n"
        "df = None\n"
    )
    result, _ = await chat.step(run_python, code=code, dataset_ids=[first, second])

    namespace, output = chat.run()

    assert result["stdout"] == ["[20, 30]", "False"]
    assert output.splitlines() == result["stdout"]
    assert len(namespace["df"]) == 30  # put back after the code
