"""`run_python`, called as the agent calls it: real sandboxed runs on palmerpenguins, every number
checked against pandas, statsmodels or scikit-learn computed here; refusals; what it saves
going through the upload checks before the workspace adopts it; cancel; isolation by session."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from google.adk.tools.tool_context import ToolContext
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from data_science.config import Settings
from data_science.runtime.jobs import jobs
from data_science.storage.workspace import Workspace
from data_science.tools.analysis import group_by
from data_science.tools.base import workspace_for
from data_science.tools.code import run_python
from tests.conftest import add_dataset, call, call_error, load_table, store_frame

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


@pytest.fixture
def penguins_id(tool_context: ToolContext, penguins: pd.DataFrame) -> str:
    return add_dataset(tool_context, penguins, "penguins.csv")


def printed(result: dict[str, Any]) -> Any:
    """The JSON the code printed on its last line."""
    return json.loads(result["stdout"][-1])


# Legitimate work ------------------------------------------------------------------------------


async def test_a_group_by_and_a_pivot_match_pandas(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    code = """
import json
means = df.groupby("species")["body_mass_g"].mean()
pivot = df.pivot_table(index="island", columns="sex", values="flipper_length_mm", aggfunc="median")
print(json.dumps({"means": means.to_dict(), "pivot": pivot.to_dict()}))
"""
    result = await call(run_python, tool_context, code=code)
    assert result["datasets_loaded"] == [penguins_id]
    expected_pivot = penguins.pivot_table(
        index="island", columns="sex", values="flipper_length_mm", aggfunc="median"
    )
    assert printed(result) == {
        "means": penguins.groupby("species")["body_mass_g"].mean().to_dict(),
        "pivot": json.loads(json.dumps(expected_pivot.to_dict())),
    }


async def test_a_statsmodels_ols_summary_matches_statsmodels(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    code = """
import json
import statsmodels.formula.api as smf
fit = smf.ols("body_mass_g ~ flipper_length_mm + C(species)", data=df.dropna()).fit()
print(fit.summary())
print(json.dumps({"params": fit.params.to_dict(), "r2": fit.rsquared, "n": int(fit.nobs)}))
"""
    result = await call(run_python, tool_context, code=code, dataset_ids=[penguins_id])
    fit = smf.ols("body_mass_g ~ flipper_length_mm + C(species)", data=penguins.dropna()).fit()
    got = printed(result)
    assert got["n"] == int(fit.nobs)
    assert np.isclose(got["r2"], fit.rsquared, rtol=1e-10)
    assert got["params"].keys() == fit.params.to_dict().keys()
    assert np.allclose(list(got["params"].values()), fit.params.to_numpy(), rtol=1e-8)
    assert any("OLS Regression Results" in line for line in result["stdout"])


async def test_a_scikit_learn_pipeline_scores_what_scikit_learn_scores(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    code = f"""
import json
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
data = df.dropna(subset={FEATURES!r})
X_train, X_test, y_train, y_test = train_test_split(
    data[{FEATURES!r}], data["species"], test_size=0.2, random_state=42, stratify=data["species"])
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
print(json.dumps({{"accuracy": model.score(X_test, y_test), "n_test": len(y_test)}}))
"""
    result = await call(run_python, tool_context, code=code)
    data = penguins.dropna(subset=FEATURES)
    x_train, x_test, y_train, y_test = train_test_split(
        data[FEATURES], data["species"], test_size=0.2, random_state=42, stratify=data["species"]
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    assert printed(result) == {
        "accuracy": accuracy_score(y_test, model.predict(x_test)),
        "n_test": len(y_test),
    }


async def test_a_chart_becomes_an_artifact_shown_like_every_other_chart(
    tool_context: ToolContext, penguins_id: str
) -> None:
    code = """
import matplotlib.pyplot as plt
df["body_mass_g"].plot.hist(bins=20)
plt.title("Body mass")
save_chart("Body mass of the penguins")
"""
    result = await call(run_python, tool_context, code=code)
    [chart] = result["charts"]
    assert chart == {
        "chart": "Body mass of the penguins.png",
        "version": 0,
        "title": "Body mass of the penguins",
    }
    artifact = await tool_context.load_artifact(chart["chart"])
    assert artifact is not None and artifact.inline_data is not None
    assert artifact.inline_data.mime_type == "image/png"
    assert artifact.inline_data.data is not None and artifact.inline_data.data[:4] == b"\x89PNG"


async def test_a_saved_dataset_is_a_new_dataset_the_other_tools_use(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    code = """
ratio = df.assign(mass_per_flipper=df["body_mass_g"] / df["flipper_length_mm"])
save_dataset(ratio, "penguins with mass per flipper")
save_dataset(ratio.groupby(["species", "island"])["mass_per_flipper"].mean(), "ratio by group")
"""
    result = await call(run_python, tool_context, code=code)
    made, by_group = result["datasets"]
    assert made["name"] == "penguins with mass per flipper" and made["rows"] == len(penguins)
    assert made["columns"] == [*penguins.columns, "mass_per_flipper"]
    record = await asyncio.to_thread(workspace_for(tool_context).get, made["dataset_id"])
    assert record.parent_id == penguins_id and record.description
    expected = penguins["body_mass_g"] / penguins["flipper_length_mm"]
    pd.testing.assert_series_equal(
        load_table(tool_context, made["dataset_id"])["mass_per_flipper"],
        expected,
        check_names=False,
    )
    # a group-by's keys (its index) are kept as columns
    assert by_group["columns"] == ["species", "island", "mass_per_flipper"]

    grouped = await call(
        group_by,
        tool_context,
        dataset_id=made["dataset_id"],
        group_columns=["species"],
        value_columns=["mass_per_flipper"],
        aggregations=["mean"],
    )
    means = {row["species"]: row["mass_per_flipper_mean"] for row in grouped["groups"]}
    truth = penguins.assign(ratio=expected).groupby("species")["ratio"].mean()
    assert means.keys() == set(truth.index)
    assert all(np.isclose(means[name], truth[name], rtol=1e-12) for name in truth.index)


async def test_only_the_named_datasets_are_loaded_and_unnamed_ones_stay_invisible(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    other = add_dataset(tool_context, pd.DataFrame({"secret": ["mkr-other-table"]}), "other.csv")
    code = """
import json, os
print(json.dumps({"ids": sorted(datasets), "files": sorted(os.listdir("/inputs")),
                  "has_df": "df" in globals()}))
"""
    result = await call(run_python, tool_context, code=code, dataset_ids=[penguins_id])
    assert printed(result) == {
        "ids": [penguins_id],
        "files": ["code.py", f"{penguins_id}.parquet"],
        "has_df": True,
    }
    both = await call(run_python, tool_context, code=code)
    assert printed(both)["ids"] == sorted([penguins_id, other])
    assert printed(both)["has_df"] is False  # `df` only when exactly one is loaded


async def test_without_ids_the_newest_datasets_that_fit_the_input_cap_are_loaded(
    tool_context: ToolContext, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = pd.DataFrame({"a": range(5)})
    first = add_dataset(tool_context, small, "first.csv")
    second = add_dataset(tool_context, small, "second.csv")
    record = await asyncio.to_thread(workspace_for(tool_context).get, second)
    monkeypatch.setattr(settings, "CODE_INPUT_MAX_BYTES", record.size_bytes)
    result = await call(run_python, tool_context, code="print(sorted(datasets))")
    assert result["datasets_loaded"] == [second]
    assert result["datasets_left_out"] == [first] and "dataset_ids" in result["note"]
    assert result["stdout"] == [str([second])]


async def test_long_output_is_clipped_and_said_so(
    tool_context: ToolContext, settings: Settings
) -> None:
    result = await call(run_python, tool_context, code="for i in range(100000):\n    print(i)")
    kept = "\n".join(result["stdout"])
    assert len(kept.encode()) <= settings.CODE_STDOUT_MAX_BYTES
    assert result["stdout"][:3] == ["0", "1", "2"]
    assert "CODE_STDOUT_MAX_BYTES" in result["stdout_truncated"]


# Refusals and failures -------------------------------------------------------------------------


async def test_a_failing_program_answers_its_traceback_and_saves_nothing(
    tool_context: ToolContext, penguins_id: str
) -> None:
    before = await asyncio.to_thread(workspace_for(tool_context).items)
    code = "save_dataset(df.head(), 'half done')\nprint('computing')\ndf['no such column']\n"
    refused = await call_error(
        run_python, tool_context, "code_failed", says=["KeyError", "no such column"], code=code
    )
    assert 'File "<code>", line 3' in refused["message"] and "computing" in refused["message"]
    assert await asyncio.to_thread(workspace_for(tool_context).items) == before


@pytest.mark.parametrize(
    ("code", "error", "says"),
    [
        ("", "invalid_code", ["1 to"]),
        ("x" * 100_001, "invalid_code", ["1 to"]),
        ("import time\nwhile True:\n    time.sleep(0.1)", "timeout", ["CODE_TIMEOUT_SECONDS"]),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "code_failed", ["SIGKILL"]),
        ("raise SystemExit(3)", "code_failed", ["exit(3)"]),
        ("import sys\nwhile True:\n    sys.stdout.write('y' * 65536)", "output_flood", ["MB"]),
    ],
    ids=["empty", "too-long", "timeout", "killed", "exit-status", "flood"],
)
async def test_bad_code_gets_a_clear_error(
    tool_context: ToolContext,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    error: str,
    says: list[str],
) -> None:
    monkeypatch.setattr(settings, "CODE_TIMEOUT_SECONDS", 5)
    await call_error(run_python, tool_context, error, says=says, code=code)


async def test_it_refuses_in_summary_mode_when_disabled_and_for_too_large_inputs(
    tool_context: ToolContext, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = add_dataset(tool_context, pd.DataFrame({"a": range(1000)}), "a.csv")
    monkeypatch.setattr(settings, "CODE_INPUT_MAX_BYTES", 10)
    await call_error(
        run_python,
        tool_context,
        "inputs_too_large",
        says=["CODE_INPUT_MAX_BYTES"],
        code="print(1)",
        dataset_ids=[dataset],
    )
    monkeypatch.setattr(settings, "ENABLE_CODE_EXECUTION", False)
    await call_error(
        run_python,
        tool_context,
        "code_execution_disabled",
        says=["ENABLE_CODE_EXECUTION"],
        code="1",
    )
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    await call_error(run_python, tool_context, "summary_mode", says=["SUMMARY_MODE_ONLY"], code="1")


async def test_another_users_or_sessions_dataset_is_an_unknown_id(
    tool_context: ToolContext, settings: Settings
) -> None:
    bobs = store_frame(Workspace(settings, "bob", tool_context.session.id), pd.DataFrame(), "b")
    other_session = store_frame(Workspace(settings, "alice", "another"), pd.DataFrame(), "c")
    for foreign in (bobs.id, other_session.id, "../../etc/passwd"):
        await call_error(
            run_python, tool_context, "unknown_id", code="print(1)", dataset_ids=[foreign]
        )


# What it saves goes through the upload checks ---------------------------------------------------


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (
            "import os\nsave_dataset(df, 'x')\nos.remove('/tmp/.outputs/dataset-0.parquet')\n"
            "os.symlink('/inputs/code.py', '/tmp/.outputs/dataset-0.parquet')",
            "not a regular file",
        ),
        (
            "save_dataset(df, 'x')\nopen('/tmp/.outputs/dataset-0.parquet', 'wb')"
            ".write(b'a,b\\n1,2\\n')",
            "its content is text/plain",
        ),
        (
            "import matplotlib.pyplot as plt\nplt.plot([1])\nsave_chart('c')\n"
            "open('/tmp/.outputs/chart-0.png', 'wb').write(b'GIF89a' + bytes(100))",
            "cannot be decoded",
        ),
        (
            "save_dataset(df, 'x')\nopen('/tmp/.outputs/dataset-0.parquet', 'r+b')"
            ".write(b'PAR1' + bytes(64))",
            "could not parse",
        ),
    ],
    ids=["symlink", "csv-named-parquet", "not-a-png", "damaged-parquet"],
)
async def test_a_tampered_output_is_refused_and_nothing_is_kept(
    tool_context: ToolContext, penguins_id: str, code: str, says: str
) -> None:
    before = await asyncio.to_thread(workspace_for(tool_context).items)
    await call_error(
        run_python, tool_context, "outputs_refused", says=[says, "nothing was saved"], code=code
    )
    assert await asyncio.to_thread(workspace_for(tool_context).items) == before
    staging = list(workspace_for(tool_context).root.glob(".staging-*"))
    assert staging == []


async def test_a_saved_name_is_display_text_never_a_path(
    tool_context: ToolContext, penguins_id: str
) -> None:
    code = "save_dataset(df.head(3), '../../../etc/passwd\\u202e\\x00')"
    result = await call(run_python, tool_context, code=code)
    [made] = result["datasets"]
    assert made["name"] == "../../../etc/passwd"
    record = await asyncio.to_thread(workspace_for(tool_context).get, made["dataset_id"])
    assert record.stored_name == "data.parquet"
    assert workspace_for(tool_context).data_path(record).parent.parent == (
        workspace_for(tool_context).root
    )


# A job the person can follow and cancel ----------------------------------------------------------


async def test_a_running_call_is_a_job_with_its_budget_and_cancel_stops_it(
    tool_context: ToolContext, settings: Settings
) -> None:
    running = asyncio.ensure_future(
        call_error(
            run_python,
            tool_context,
            "cancelled",
            says=["nothing was saved"],
            code="import time\nsave_dataset(__import__('pandas').DataFrame({'a': [1]}), 'x')\n"
            "time.sleep(600)",
        )
    )
    for _ in range(200):
        listed = jobs.for_session(tool_context.user_id, tool_context.session.id)
        if listed:
            break
        await asyncio.sleep(0.05)
    [job] = listed
    assert job.tool == "run_python" and job.budget_seconds == settings.CODE_TIMEOUT_SECONDS
    await asyncio.sleep(1)
    cancelled_at = time.monotonic()
    jobs.cancel(tool_context.user_id, tool_context.session.id, job.job_id)
    await running
    assert time.monotonic() - cancelled_at < 5
    assert jobs.for_session(tool_context.user_id, tool_context.session.id) == []
    assert await asyncio.to_thread(workspace_for(tool_context).items) == []
