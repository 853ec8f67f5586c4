"""Forecasting: temporal holdout, honest errors, a baseline to beat."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.tools.timeseries import decompose_series, forecast
from tests.conftest import Refusal, add_dataset, call, load_table


def monthly_sales(months: int = 96) -> pd.DataFrame:
    """A trend, a yearly season and noise: what seasonal-naive alone cannot follow."""
    rng = np.random.default_rng(3)
    steps = np.arange(months)
    values = 200 + 2.5 * steps + 30 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 4, months)
    dates = pd.date_range("2015-01-01", periods=months, freq="MS")
    return pd.DataFrame({"month": dates.strftime("%Y-%m-%d"), "sales": values})


async def test_the_forecast_is_scored_on_the_last_months_and_beats_the_baseline(
    tool_context: ToolContext,
) -> None:
    frame = monthly_sales()
    dataset_id = add_dataset(tool_context, frame, "sales.csv")
    result = await call(
        forecast,
        tool_context,
        dataset_id=dataset_id,
        time_column="month",
        value_column="sales",
        horizon=12,
    )
    assert result["season_length"] == 12 and result["frequency"] == "MS"
    holdout = result["holdout"]
    assert holdout["actual"] == pytest.approx(frame["sales"].tail(12).tolist())
    best = result["best_model"]
    predicted = np.array(holdout["predicted"][best])
    actual = np.array(holdout["actual"])
    assert holdout["metrics"][best]["mae"] == pytest.approx(np.mean(np.abs(predicted - actual)))
    assert holdout["metrics"][best]["rmse"] == pytest.approx(
        np.sqrt(np.mean((predicted - actual) ** 2))
    )
    assert result["beats_seasonal_naive"]
    # AutoGluon joins the comparison only where the `timeseries` extra is installed.
    installed = importlib.util.find_spec("autogluon.timeseries") is not None
    assert result["engines"] == (["statsforecast", "autogluon"] if installed else ["statsforecast"])
    assert ("AutoGluon" in holdout["metrics"]) == installed
    stored = load_table(tool_context, result["dataset_id"])
    assert len(stored) == 12 and (stored["lower_95"] <= stored["upper_95"]).all()
    assert pd.Timestamp(stored["time"].iloc[0]) == pd.Timestamp("2023-01-01")
    part = await tool_context.load_artifact(result["chart"])
    assert part.inline_data.data.startswith(b"\x89PNG")


async def test_decomposition_recovers_the_trend_and_the_season(tool_context: ToolContext) -> None:
    frame = monthly_sales()
    dataset_id = add_dataset(tool_context, frame, "sales.csv")
    result = await call(
        decompose_series,
        tool_context,
        dataset_id=dataset_id,
        time_column="month",
        value_column="sales",
    )
    assert result["season_length"] == 12
    pattern = np.array(result["seasonal_pattern"])
    expected = 30 * np.sin(2 * np.pi * np.arange(12) / 12)
    assert np.abs(pattern - expected).max() < 5  # noise has sd 4
    assert result["seasonal_strength"] > 0.9 and result["trend_strength"] > 0.9
    trend = frame["sales"].rolling(12).mean().rolling(2).mean().shift(-6)
    assert result["trend_change"] == pytest.approx(trend.dropna().iloc[-1] - trend.dropna().iloc[0])
    part = await tool_context.load_artifact(result["chart"])
    assert part.inline_data.data.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("frame", "case"),
    [
        pytest.param(
            monthly_sales(20),
            Refusal(
                forecast,
                {"value_column": "sales", "horizon": 12},
                "series_too_short",
                ["shorter horizon"],
            ),
            id="a-series-too-short-for-the-horizon-is-explained",
        ),
        pytest.param(
            monthly_sales().assign(region="north"),
            Refusal(forecast, {"value_column": "region"}, "not_numeric"),
            id="a-text-value-column-is-refused",
        ),
        pytest.param(
            monthly_sales(18),
            Refusal(
                decompose_series, {"value_column": "sales"}, "series_too_short", ["season_length"]
            ),
            id="decomposition-needs-two-seasons",
        ),
    ],
)
async def test_a_series_that_cannot_be_modelled_is_refused_with_the_way_forward(
    tool_context: ToolContext, frame: pd.DataFrame, case: Refusal
) -> None:
    dataset_id = add_dataset(tool_context, frame, "s.csv")
    await case.check(tool_context, dataset_id=dataset_id, time_column="month")
