"""Forecasting a time series."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.llm.model_view import drop_in_summary_mode
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.tools.base import (
    ToolError,
    column_names,
    derive_table,
    resolve_column,
    run_blocking,
    tool,
    workspace_for,
)

MAX_HORIZON = 365

if TYPE_CHECKING:
    from data_science.ml import timeseries
else:  # computed in the worker processes only (runtime/remote.py)
    timeseries = in_workers("data_science.ml.timeseries")


@tool
async def forecast(
    dataset_id: str,
    time_column: str,
    value_column: str,
    tool_context: ToolContext,
    horizon: int = 12,
    season_length: int | None = None,
) -> dict[str, Any]:
    """Forecast a numeric column over time, e.g. "forecast sales for the next 12 months".

    Values are averaged per time step. AutoARIMA and AutoETS (statsforecast) are scored against
    a seasonal-naive baseline on a temporal holdout (the last `horizon` steps: MAE, RMSE, MAPE,
    sMAPE); the better one then forecasts `horizon` steps ahead with a 95 % interval. The season
    length follows the data's frequency (monthly 12, daily 7, …) unless given. Where the
    optional `timeseries` extra is installed, AutoGluon's time-series models join the holdout
    comparison (`engines` says which ran). Returns the holdout metrics, the forecast, a chart,
    and a new `dataset_id` holding the forecast.
    """
    if not 1 <= horizon <= MAX_HORIZON:
        raise ToolError(f"horizon must be between 1 and {MAX_HORIZON} steps.", "bad_horizon")
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    time_column = resolve_column(column_names(record), time_column, "time column")
    value_column = resolve_column(column_names(record), value_column, "value column")
    table = await run_blocking(workspace.table_file, dataset_id)
    saved, result = await derive_table(
        workspace,
        parent_id=dataset_id,
        name=f"forecast of {value_column}",
        produce=lambda path: run_cpu(
            timeseries.forecast_to_file,
            table,
            time_column,
            value_column,
            horizon,
            season_length,
            path,
            lane="heavy",
        ),
        description=lambda report: f"{report['best_model']} forecast, {horizon} steps",
    )
    result["holdout"] = drop_in_summary_mode(
        workspace.settings, result["holdout"], "actual", "predicted"
    )
    chart = f"forecast_{re.sub(r'[^a-z0-9]+', '_', value_column.lower())}.png"
    version = await tool_context.save_artifact(
        chart, types.Part.from_bytes(data=result.pop("chart"), mime_type="image/png")
    )
    return {
        "dataset_id": saved.id,
        "time_column": time_column,
        "value_column": value_column,
        "chart": chart,
        "version": version,
        **result,
    }


@tool
async def decompose_series(
    dataset_id: str,
    time_column: str,
    value_column: str,
    tool_context: ToolContext,
    season_length: int | None = None,
) -> dict[str, Any]:
    """Split a time series into trend, seasonal pattern and remainder, with a chart.

    Use for "is there a trend / seasonality?". Classical additive decomposition: the trend is a
    centred moving average over one season, the seasonal pattern the average deviation at each
    position of the season. The season length follows the data's frequency unless given.
    Returns the seasonal pattern, trend and seasonal strength (0 = none, 1 = dominant) and a
    four-panel chart.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    time_column = resolve_column(column_names(record), time_column, "time column")
    value_column = resolve_column(column_names(record), value_column, "value column")
    table = await run_blocking(workspace.table_file, dataset_id)
    result = await run_cpu(
        timeseries.decompose_to_chart, table, time_column, value_column, season_length, lane="quick"
    )
    chart = f"decomposition_{re.sub(r'[^a-z0-9]+', '_', value_column.lower())}.png"
    version = await tool_context.save_artifact(
        chart, types.Part.from_bytes(data=result.pop("chart"), mime_type="image/png")
    )
    return {
        "dataset_id": dataset_id,
        "time_column": time_column,
        "value_column": value_column,
        "chart": chart,
        "version": version,
        **result,
    }
