"""The code shown for steps on a large table (LARGE_TABLE_ROWS and SAMPLE_ROWS set low here),
run: it reads the upload as the app reads it and draws the sample the tool drew.

A large CSV upload is stored as Parquet (storage/columnar.py); the notebook reads that file back
with the missing text as NaN, as the app does. A step computed on a sample writes the same
seeded positions with plain numpy, so the printed numbers are the tool's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.ml.common import SEED
from data_science.reproduce.export import reader_of, uploads
from data_science.storage import columnar, tables
from data_science.storage.large import read_sample
from data_science.tools.analysis import group_by
from data_science.tools.base import workspace_for
from data_science.tools.data import analyze_dataset
from data_science.tools.regression import regression_report
from data_science.tools.train import train
from data_science.tools.viz import auto_charts, plot, plot_model
from tests.conftest import load_table
from tests.reproduce_checks import Replay, assert_printed, expected_metrics
from tests.test_large_tables import large_table_settings
from tests.test_reproduce_analysis import group_numbers, profile_numbers
from tests.test_reproduce_regression import report_numbers
from tests.test_reproduce_viz import chart_numbers

ROWS = 3_000
LARGE_ROWS = 1_000
SAMPLE = 800
ROW_GROUP = 700  # several row groups, the last one short, as a big upload has


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return large_table_settings(tmp_path, monkeypatch, LARGE_ROWS, SAMPLE)


@pytest.fixture(scope="module")
def shops() -> pd.DataFrame:
    """Cities with gaps (NaN after read_csv, null in the Parquet file), amounts with gaps,
    whole numbers and dates written as text."""
    rng = np.random.default_rng(11)
    city = pd.Series(rng.choice(["Paris", "Lyon", "Nice", "Lille"], ROWS, p=[0.4, 0.3, 0.2, 0.1]))
    city[rng.choice(ROWS, 60, replace=False)] = None
    amount = rng.gamma(2.0, 50.0, ROWS).round(2)
    amount[rng.choice(ROWS, 90, replace=False)] = np.nan
    quantity = rng.integers(1, 9, ROWS)
    return pd.DataFrame(
        {
            "city": city,
            "amount": amount,
            "quantity": quantity,
            "price": (amount / quantity).round(3),
            "day": pd.date_range("2024-01-01", periods=ROWS, freq="h").strftime("%Y-%m-%d"),
        }
    )


@pytest.fixture
def replay(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


def upload_csv(replay: Replay, frame: pd.DataFrame, tmp_path: Path) -> str:
    """Store `frame` as a large CSV upload is stored (Parquet, converted as the upload converts
    it), and put beside the notebook the file the export puts there, read as the export says."""
    text = tmp_path / "shops.csv"
    frame.to_csv(text, index=False)
    workspace = workspace_for(replay.tool_context)
    path = workspace.staging_path("shops.parquet")
    scan = columnar.scan_csv(text, ",")
    assert scan is not None and columnar.csv_to_parquet(text, ",", scan, path, ROW_GROUP)
    try:
        summary = tables.table_summary(tables.TableFile(path, "parquet").load())
        record = workspace.adopt_file(
            path, kind="table", name="shops.csv", stored_name=path.name, summary=summary
        )
    finally:
        workspace.discard_staging(path)
    (upload,) = uploads(workspace)
    replay.folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(upload.stored, replay.folder / upload.file_name)
    replay.sources[record.id] = reader_of(upload.stored, record.extension, upload.file_name)
    return record.id


def assert_rows_plotted(printed: str, expected: list[int]) -> None:
    """Each chart's code printed exactly the rows its tool plotted (not any number that
    happens to match)."""
    found = [int(count) for count in re.findall(r"^rows plotted: (\d+)", printed, re.MULTILINE)]
    assert found == expected, printed


def assert_drew_the_sample(replay: Replay, dataset_id: str) -> None:
    """The code's sample is the rows the tool read (`storage.large.read_sample`), row for row."""
    table = workspace_for(replay.tool_context).table_file(dataset_id)
    drawn = replay.namespace["df_sample"]
    pd.testing.assert_frame_equal(drawn, read_sample(table, SAMPLE, ROWS, SEED))


def assert_no_app_import(code: str) -> None:
    assert "import data_science" not in code and "from data_science" not in code, code


async def test_a_large_csv_upload_reads_back_as_the_app_reads_it(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    result = await replay.run_step(analyze_dataset, dataset_id=dataset_id)
    assert result["rows"] == ROWS
    replay.assert_shows(*profile_numbers(result))
    read = replay.frame(dataset_id)
    stored = load_table(replay.tool_context, dataset_id)
    pd.testing.assert_frame_equal(read, stored)
    # assert_frame_equal takes None for NaN: the app's frame has NaN for missing text, so must
    # the notebook's (a None and a NaN behave differently in pandas and scikit-learn).
    missing = read["city"][read["city"].isna()]
    assert len(missing) == 60 and all(isinstance(value, float) for value in missing)


async def test_group_by_on_a_large_table_prints_the_duckdb_answer(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    result = await replay.run_step(
        group_by,
        dataset_id=dataset_id,
        group_columns=["city"],
        value_columns=["amount", "price"],
        aggregations=["mean", "median", "std", "count"],
    )
    assert "sample" not in result and result["rows_missing_group"] == 60
    assert "sample" not in replay.code
    replay.assert_shows(*group_numbers(result))


async def test_train_on_a_large_table_draws_the_tools_sample(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    result, code = await replay.step(train, dataset_id=dataset_id, target="amount", model="ridge")
    assert result["sample"] == {"rows": SAMPLE, "of": ROWS, "seed": SEED}
    assert_no_app_import(code)
    assert f"sample of {SAMPLE:,} of its {ROWS:,} rows" in code
    _, output = replay.run()
    assert_drew_the_sample(replay, dataset_id)
    expected = {"n_train": str(result["n_train"]), "n_test": str(result["n_test"])}
    expected |= expected_metrics("test", result["test_metrics"])
    validation = result["cross_validation"]
    expected |= expected_metrics(
        f"cross-validation {validation['scoring']}",
        {"mean": validation["mean"], "std": validation["std"]},
    )
    assert_printed(output, expected)


async def test_a_scatter_of_a_large_table_draws_the_tools_sample(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    result, code = await replay.step(
        plot, dataset_id=dataset_id, kind="scatter", x="amount", y="price", color_by="city"
    )
    assert result["sample"] == {"rows": SAMPLE, "of": ROWS, "seed": SEED}
    assert_no_app_import(code)
    assert f"sample of {SAMPLE:,} of its {ROWS:,} rows" in code
    whole = shops[["amount", "price"]].dropna()
    assert result["rows_plotted"] < len(whole)  # the sample's rows, not the table's
    replay.run()
    assert_rows_plotted(replay.printed, [result["rows_plotted"]])

    replay.assert_shows(*chart_numbers(result))


async def test_a_model_chart_after_training_on_a_sample_reruns_on_its_test_rows(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    trained, _ = await replay.step(train, dataset_id=dataset_id, target="amount", model="ridge")
    result = await replay.run_step(plot_model, model_id=trained["model_id"], kind="residuals")
    replay.assert_shows(result["rmse"], result["mae"], result["r2"], result["mean_residual"])


async def test_the_overview_charts_of_a_large_table_draw_the_tools_sample(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    result = await replay.run_step(auto_charts, dataset_id=dataset_id)
    assert all(chart["sample"]["of"] == ROWS for chart in result["charts"])
    assert f"sample of {SAMPLE:,} of its {ROWS:,} rows" in replay.code
    assert_drew_the_sample(replay, dataset_id)
    for chart in result["charts"]:
        replay.assert_shows(*chart_numbers(chart))


async def test_a_regression_report_on_a_large_table_refits_on_the_tools_sample(
    replay: Replay, shops: pd.DataFrame, tmp_path: Path
) -> None:
    dataset_id = upload_csv(replay, shops, tmp_path)
    result, code = await replay.step(
        regression_report, dataset_id=dataset_id, target="amount", features=["quantity", "city"]
    )
    assert result["sample"] == {"rows": SAMPLE, "of": ROWS, "seed": SEED}
    assert_no_app_import(code)
    replay.run()
    assert_drew_the_sample(replay, dataset_id)
    replay.assert_shows(*report_numbers(result))
