"""The code of `forecast` and `decompose_series`, run on a monthly series the test makes: the
same holdout scores, model choice, forecast and decomposition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools import decompose_series, forecast
from tests.reproduce_checks import Replay, assert_printed, expected_metrics


@pytest.fixture
def chat(tool_context: ToolContext, tmp_path: Path) -> Replay:
    return Replay(tool_context, tmp_path / "notebook" / "data")


def monthly_sales(months: int = 48) -> pd.DataFrame:
    """A trend, a yearly season and noise, one row a month (and one month twice, averaged)."""
    rng = np.random.default_rng(3)
    month = pd.date_range("2020-01-01", periods=months, freq="MS")
    sales = 100 + 2 * np.arange(months) + 15 * np.sin(2 * np.pi * np.arange(months) / 12)
    frame = pd.DataFrame(
        {"month": month.strftime("%Y-%m-%d"), "sales": sales + rng.normal(0, 3, months)}
    )
    repeat = frame.iloc[[5]].assign(sales=frame["sales"].iloc[5] + 10)
    return pd.concat([frame, repeat]).sample(frac=1, random_state=2).reset_index(drop=True)


async def test_forecast_code_scores_chooses_and_forecasts_the_same(chat: Replay) -> None:
    dataset_id = chat.upload(monthly_sales(), "sales.csv")
    result, code = await chat.step(
        forecast, dataset_id=dataset_id, time_column="month", value_column="sales", horizon=6
    )
    assert result["engines"] == ["statsforecast"] and result["frequency"] == "MS"

    namespace, output = chat.run()

    expected: dict[str, str] = {}
    for model, metrics in result["holdout"]["metrics"].items():
        expected |= expected_metrics(model, metrics)
    for number, row in enumerate(result["forecast"], start=1):
        expected[f"forecast step {number}"] = f"{row['forecast']:.4f}"
    assert_printed(output, expected)
    assert f"best_model: {result['best_model']}" in output
    assert len(namespace["df_2"]) == 6 and list(namespace["df_2"].columns) == [
        "time",
        "forecast",
        "lower_95",
        "upper_95",
    ]
    assert "'month'" in code and "'sales'" in code


async def test_decompose_code_prints_the_same_pattern_and_strengths(chat: Replay) -> None:
    dataset_id = chat.upload(monthly_sales(36), "sales.csv")
    result, _ = await chat.step(  # named as a person might: the tool resolves the case
        decompose_series, dataset_id=dataset_id, time_column="Month", value_column="SALES"
    )

    _, output = chat.run()

    expected = {
        f"seasonal {position}": f"{value:.4f}"
        for position, value in enumerate(result["seasonal_pattern"])
    }
    for name in ("trend_strength", "seasonal_strength", "trend_change"):
        expected[name] = f"{result[name]:.4f}"
    assert len(expected) == 15
    assert_printed(output, expected)


async def test_a_series_without_a_calendar_is_numbered_in_the_code_too(chat: Replay) -> None:
    frame = monthly_sales(30).drop_duplicates("month").sort_values("month")
    frame = frame.assign(
        month=pd.to_datetime(frame["month"])
        + pd.to_timedelta(np.random.default_rng(1).integers(0, 3, len(frame)), unit="D")
    )
    dataset_id = chat.upload(frame, "irregular.csv")
    result, code = await chat.step(
        decompose_series,
        dataset_id=dataset_id,
        time_column="month",
        value_column="sales",
        season_length=6,
    )
    assert result["frequency"] == "1" and "np.arange(len(series))" in code

    _, output = chat.run()

    assert_printed(output, {"trend_strength": f"{result['trend_strength']:.4f}"})
