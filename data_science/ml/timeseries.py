"""Forecasting with statsforecast (AutoARIMA, AutoETS) against a seasonal-naive baseline.

Every model is first scored on a temporal holdout (the last `horizon` points, never shuffled),
then refitted on the whole series to forecast `horizon` points ahead. When the optional
`timeseries` extra is installed (`uv sync --extra timeseries`), AutoGluon's time-series
predictor joins the comparison on the same holdout.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from data_science.errors import ToolError
from data_science.ml.charts.canvas import figure_png
from data_science.storage.tables import TableFile, write_parquet

SEASON_BY_FREQUENCY = {
    "h": 24,
    "D": 7,
    "B": 5,
    "W": 52,
    "M": 12,
    "MS": 12,
    "ME": 12,
    "Q": 4,
    "QS": 4,
    "QE": 4,
}
INTERVAL_LEVEL = 95
STATS_MODELS = ("AutoARIMA", "AutoETS", "SeasonalNaive")  # the last is the baseline
HISTORY_SHOWN = 200
AUTOGLUON = "AutoGluon"
# Seconds for each of AutoGluon's two fits (holdout, then the whole series).
AUTOGLUON_FIT_SECONDS = 30.0
# Models that train here and now: AutoGluon's presets add pretrained Chronos models, which
# download their weights from a hub (machines running this product may be offline).
AUTOGLUON_MODELS: dict[str, dict[str, Any]] = {
    "SeasonalNaive": {},
    "ETS": {},
    "Theta": {},
    "RecursiveTabular": {},
    "DirectTabular": {},
}


def autogluon_timeseries_installed() -> bool:
    """Whether the optional `timeseries` extra (AutoGluon time series) is installed."""
    return importlib.util.find_spec("autogluon.timeseries") is not None


def prepare_series(
    frame: pd.DataFrame, time_column: str, value_column: str
) -> tuple[pd.DataFrame, str | int]:
    """One value per time step (means of repeats), sorted, with its inferred frequency."""
    if not pd.api.types.is_numeric_dtype(frame[value_column]):
        raise ToolError(
            f"'{value_column}' is not numeric; forecast a numeric column.", "not_numeric"
        )
    times = pd.to_datetime(frame[time_column], errors="coerce")
    if times.isna().mean() > 0.5:
        raise ToolError(
            f"'{time_column}' does not hold dates or times; name the date column.",
            "not_a_time_column",
        )
    values = pd.DataFrame({"ds": times, "y": frame[value_column]}).dropna()
    series = values.groupby("ds")["y"].mean().reset_index().sort_values("ds")
    frequency = pd.infer_freq(series["ds"]) if len(series) >= 3 else None
    if frequency is None:
        series["ds"] = np.arange(len(series))
        return series.assign(unique_id="series"), 1
    return series.assign(unique_id="series"), frequency


def _season_length(frequency: str | int, requested: int | None) -> int:
    if requested:
        return requested
    if isinstance(frequency, int):
        return 1
    base = frequency.split("-")[0].lstrip("0123456789")
    return SEASON_BY_FREQUENCY.get(base, 1)


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, MAPE and sMAPE in percent (MAPE is NaN, shown as null, if all actuals are 0)."""
    error = predicted - actual
    nonzero = actual != 0
    mape = (
        float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100) if nonzero.any() else np.nan
    )
    denominator = np.abs(actual) + np.abs(predicted)
    smape = float(np.mean(np.where(denominator == 0, 0, 2 * np.abs(error) / denominator)) * 100)
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": mape,
        "smape": smape,
    }


def forecast_to_file(
    table: TableFile,
    time_column: str,
    value_column: str,
    horizon: int,
    season_length: int | None,
    out_path: Path,
) -> dict[str, Any]:
    """Holdout-score the models, forecast ahead with the best, write the forecast table."""
    series, frequency = prepare_series(table.load(), time_column, value_column)
    season = _season_length(frequency, season_length)
    if len(series) < 2 * horizon + max(season, 2):
        raise ToolError(
            f"The series has {len(series)} time steps; forecasting {horizon} ahead needs at least "
            f"{2 * horizon + max(season, 2)} (a holdout of {horizon} plus history). Use a shorter "
            "horizon.",
            "series_too_short",
        )
    history, holdout = series.iloc[:-horizon], series.iloc[-horizon:]
    # AutoGluon needs a calendar frequency; series with none are indexed 0, 1, 2, ...
    calendar = frequency if isinstance(frequency, str) else None
    use_autogluon = autogluon_timeseries_installed() and calendar is not None
    scored, names = _holdout_forecasts(
        history, frequency, season, horizon, calendar if use_autogluon else None
    )
    holdout_metrics = {
        name: _errors(holdout["y"].to_numpy(), scored[name].to_numpy()) for name in names
    }
    candidates = [name for name in names if name != "SeasonalNaive"]
    best = min(candidates, key=lambda name: holdout_metrics[name]["mae"])
    result = _forecast_ahead(series, frequency, season, horizon, best)
    summary = write_parquet(result, out_path)
    baseline = holdout_metrics["SeasonalNaive"]["mae"]
    return {
        "time_steps": len(series),
        "frequency": str(frequency),
        "season_length": season,
        "horizon": horizon,
        "holdout": {
            "size": horizon,
            "metrics": holdout_metrics,
            "actual": holdout["y"].tolist(),
            "predicted": {name: scored[name].tolist() for name in names},
        },
        "best_model": best,
        "engines": ["statsforecast", "autogluon"] if use_autogluon else ["statsforecast"],
        "beats_seasonal_naive": holdout_metrics[best]["mae"] < baseline,
        "forecast": result.head(50).to_dict(orient="records"),
        "summary": summary,
        "chart": _chart(series, result, value_column, best),
    }


def _statsforecast(season: int, frequency: str | int) -> Any:
    """statsforecast with fresh AutoARIMA, AutoETS and seasonal-naive models (STATS_MODELS)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive

    models = [
        AutoARIMA(season_length=season),
        AutoETS(season_length=season),
        SeasonalNaive(season_length=season),
    ]
    return StatsForecast(models=models, freq=frequency, n_jobs=1)


def _holdout_forecasts(
    history: pd.DataFrame,
    frequency: str | int,
    season: int,
    horizon: int,
    autogluon_frequency: str | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Every model's forecast of the `horizon` points after `history` (AutoGluon too when
    given its calendar frequency), and the models' names."""
    scored = _statsforecast(season, frequency).forecast(h=horizon, df=history)
    names = list(STATS_MODELS)
    if autogluon_frequency is not None:
        forecast = _autogluon_forecast(history, autogluon_frequency, horizon)
        scored[AUTOGLUON] = forecast["mean"].to_numpy()
        names.append(AUTOGLUON)
    return scored, names


def _forecast_ahead(
    series: pd.DataFrame, frequency: str | int, season: int, horizon: int, best: str
) -> pd.DataFrame:
    """The best model refitted on the whole series: `horizon` points ahead, 95 % interval."""
    times: Any
    if best == AUTOGLUON and isinstance(frequency, str):
        ahead = _autogluon_forecast(series, frequency, horizon)
        forecast, lower, upper = ahead["mean"], ahead["0.025"], ahead["0.975"]
        times = ahead.index.get_level_values("timestamp")
    else:
        future = _statsforecast(season, frequency).forecast(
            h=horizon, df=series, level=[INTERVAL_LEVEL]
        )
        forecast, times = future[best], future["ds"]
        lower = future[f"{best}-lo-{INTERVAL_LEVEL}"]
        upper = future[f"{best}-hi-{INTERVAL_LEVEL}"]
    return pd.DataFrame(
        {
            "time": np.asarray(times),
            "forecast": np.asarray(forecast),
            "lower_95": np.asarray(lower),
            "upper_95": np.asarray(upper),
        }
    )


def _autogluon_forecast(series: pd.DataFrame, frequency: str, horizon: int) -> pd.DataFrame:
    """AutoGluon's forecast of `horizon` steps after `series`: mean and the 95 % quantiles."""
    from autogluon.timeseries import TimeSeriesDataFrame, TimeSeriesPredictor

    data = TimeSeriesDataFrame.from_data_frame(
        series.rename(columns={"unique_id": "item_id", "ds": "timestamp", "y": "target"}),
        id_column="item_id",
        timestamp_column="timestamp",
    )
    with tempfile.TemporaryDirectory(prefix="autogluon-ts-") as path:
        predictor = TimeSeriesPredictor(
            prediction_length=horizon,
            freq=frequency,
            quantile_levels=[0.025, 0.975],
            path=path,
            verbosity=0,
        )
        predictor.fit(data, hyperparameters=AUTOGLUON_MODELS, time_limit=AUTOGLUON_FIT_SECONDS)
        return pd.DataFrame(predictor.predict(data))


def _chart(series: pd.DataFrame, result: pd.DataFrame, value_column: str, best: str) -> bytes:
    figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    axes = figure.subplots()
    shown = series.tail(HISTORY_SHOWN)
    axes.plot(shown["ds"], shown["y"], color="#4C72B0", label="history")
    axes.plot(result["time"], result["forecast"], color="#DD8452", label=f"forecast ({best})")
    axes.fill_between(
        result["time"],
        result["lower_95"],
        result["upper_95"],
        color="#DD8452",
        alpha=0.2,
        label="95 % interval",
    )
    axes.set_title(f"Forecast of {value_column}")
    axes.set_ylabel(value_column)
    axes.legend()
    return figure_png(figure)


def decompose_to_chart(
    table: TableFile, time_column: str, value_column: str, season_length: int | None
) -> dict[str, Any]:
    """Classical additive decomposition: trend (centred moving average), season, remainder."""
    series, frequency = prepare_series(table.load(), time_column, value_column)
    season = _season_length(frequency, season_length)
    if season < 2 or len(series) < 2 * season:
        raise ToolError(
            f"Decomposing needs a season of at least 2 steps and two full seasons of data; "
            f"this series has {len(series)} steps and a season of {season}. Give season_length.",
            "series_too_short",
        )
    values = series["y"].reset_index(drop=True)
    trend = centred_moving_average(values, season)
    detrended = values - trend
    position = np.arange(len(values)) % season
    pattern = detrended.groupby(position).mean()
    pattern -= pattern.mean()
    seasonal = pd.Series(pattern.to_numpy()[position])
    remainder = values - trend - seasonal
    known = remainder.notna()
    strength_trend = _strength(remainder[known], (trend + remainder)[known])
    strength_season = _strength(remainder[known], (seasonal + remainder)[known])
    return {
        "time_steps": len(values),
        "frequency": str(frequency),
        "season_length": season,
        "seasonal_pattern": [float(value) for value in pattern],
        "trend_strength": strength_trend,
        "seasonal_strength": strength_season,
        "trend_change": float(trend.dropna().iloc[-1] - trend.dropna().iloc[0]),
        "chart": _decomposition_chart(
            series["ds"], values, trend, seasonal, remainder, value_column
        ),
    }


def centred_moving_average(values: pd.Series, season: int) -> pd.Series:
    """The classical trend: a centred moving average (2 x m for an even season m)."""
    if season % 2:
        return values.rolling(season, center=True).mean()
    return values.rolling(season).mean().rolling(2).mean().shift(-(season // 2))


def _strength(remainder: pd.Series, component_plus_remainder: pd.Series) -> float:
    """Hyndman's strength: 1 - Var(remainder) / Var(component + remainder), floored at 0."""
    spread = float(component_plus_remainder.var())
    return max(0.0, 1.0 - float(remainder.var()) / spread) if spread > 0 else 0.0


def _decomposition_chart(
    times: pd.Series,
    values: pd.Series,
    trend: pd.Series,
    seasonal: pd.Series,
    remainder: pd.Series,
    value_column: str,
) -> bytes:
    figure = Figure(figsize=(9, 8), dpi=100, layout="constrained")
    panels = figure.subplots(4, 1, sharex=True)
    for axes, data, label in zip(
        panels,
        (values, trend, seasonal, remainder),
        (value_column, "trend", "season", "remainder"),
        strict=True,
    ):
        axes.plot(times.to_numpy(), data.to_numpy(), color="#4C72B0")
        axes.set_ylabel(label)
    panels[0].set_title(f"Decomposition of {value_column}")
    return figure_png(figure)
