"""Code templates for the tools of `data_science.tools.timeseries`: statsforecast's models on
the same holdout and the classical decomposition, as `ml.timeseries` computes them."""

from __future__ import annotations

from data_science.ml.timeseries import AUTOGLUON, INTERVAL_LEVEL, STATS_MODELS
from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates.heldout import Cell


def _series(cell: Cell, step: Step, names: Names) -> None:
    """`series`: one value per time step (the mean of repeats), sorted, as the tool made it."""
    frame = names.frame(str(step.args["dataset_id"]))
    result = step.result
    # The columns as the tool resolved them (a chat may name them in another case).
    time_column = literal(result.get("time_column", step.args["time_column"]))
    value_column = literal(result.get("value_column", step.args["value_column"]))
    cell.need("import numpy as np", "import pandas as pd")
    cell.add(
        f"times = pd.to_datetime({frame}[{time_column}], errors='coerce')",
        f"values = pd.DataFrame({{'ds': times, 'y': {frame}[{value_column}]}}).dropna()",
        "series = values.groupby('ds')['y'].mean().reset_index().sort_values('ds')",
        "series = series.assign(unique_id='series')",
    )
    frequency = str(result["frequency"])
    if frequency.isdigit():
        cell.add(
            "# No calendar frequency could be inferred: the steps are numbered 0, 1, 2, ...",
            "series['ds'] = np.arange(len(series))",
            "frequency = 1",
        )
    else:
        cell.add(f"frequency = {literal(frequency)}  # pd.infer_freq(series['ds'])")
    cell.add(f"season = {literal(int(result['season_length']))}")


ERRORS = """\
def errors(actual, predicted):
    \"\"\"MAE, RMSE, MAPE and sMAPE (both in percent; MAPE is NaN when every actual is 0).\"\"\"
    error = predicted - actual
    nonzero = actual != 0
    mape = np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100 if nonzero.any() else np.nan
    denominator = np.abs(actual) + np.abs(predicted)
    smape = np.mean(np.where(denominator == 0, 0, 2 * np.abs(error) / denominator)) * 100
    return {
        "mae": np.mean(np.abs(error)),
        "rmse": np.sqrt(np.mean(error**2)),
        "mape": mape,
        "smape": smape,
    }

"""


@code_for("forecast")
def forecast_code(step: Step, names: Names) -> str:
    """Every model scored on the last `horizon` steps, the best refitted on the whole series
    to forecast `horizon` steps ahead with its 95 % interval."""
    cell = Cell()
    _series(cell, step, names)
    result = step.result
    cell.need(
        "from statsforecast import StatsForecast",
        "from statsforecast.models import AutoARIMA, AutoETS, SeasonalNaive",
    )
    if AUTOGLUON in result.get("best_model", "") or "autogluon" in result.get("engines", []):
        cell.add(
            "# The chat's forecast also tried AutoGluon's time-series models, which this code "
            "leaves out:",
            "# their numbers depend on a time budget and do not repeat exactly.",
        )
    models = ", ".join(f"{name}(season_length=season)" for name in STATS_MODELS)
    candidates = [name for name in STATS_MODELS if name != "SeasonalNaive"]
    made = names.new_frame(str(result["dataset_id"]))
    cell.add(
        ERRORS,
        f"horizon = {literal(int(result['horizon']))}",
        "history, holdout = series.iloc[:-horizon], series.iloc[-horizon:]",
        f"scored = StatsForecast(models=[{models}], freq=frequency, n_jobs=1)"
        ".forecast(h=horizon, df=history)",
        "metrics = {",
        "    name: errors(holdout['y'].to_numpy(), scored[name].to_numpy())",
        f"    for name in {literal(list(STATS_MODELS))}",
        "}",
        "for name, by_metric in metrics.items():",
        "    for metric, value in by_metric.items():",
        "        print(f'{name} {metric}: {value:.4f}')",
        "# The better of the two models on the holdout MAE (seasonal naive is the baseline).",
        f"best = min({literal(candidates)}, key=lambda name: metrics[name]['mae'])",
        "print('best_model:', best)",
        f"future = StatsForecast(models=[{models}], freq=frequency, n_jobs=1)"
        f".forecast(h=horizon, df=series, level=[{INTERVAL_LEVEL}])",
        f"{made} = pd.DataFrame(",
        "    {",
        "        'time': future['ds'].to_numpy(),",
        "        'forecast': future[best].to_numpy(),",
        f"        'lower_95': future[f'{{best}}-lo-{INTERVAL_LEVEL}'].to_numpy(),",
        f"        'upper_95': future[f'{{best}}-hi-{INTERVAL_LEVEL}'].to_numpy(),",
        "    }",
        ")",
        f"for step, value in enumerate({made}['forecast'], start=1):",
        "    print(f'forecast step {step}: {value:.4f}')",
    )
    return cell.render()


@code_for("decompose_series")
def decompose_series_code(step: Step, names: Names) -> str:
    """Classical additive decomposition: trend (centred moving average), season, remainder."""
    cell = Cell()
    _series(cell, step, names)
    cell.add(
        "values = series['y'].reset_index(drop=True)",
        "# The trend: a centred moving average over one season (2 x season when it is even).",
        "if season % 2:",
        "    trend = values.rolling(season, center=True).mean()",
        "else:",
        "    trend = values.rolling(season).mean().rolling(2).mean().shift(-(season // 2))",
        "position = np.arange(len(values)) % season",
        "pattern = (values - trend).groupby(position).mean()",
        "pattern -= pattern.mean()",
        "seasonal = pd.Series(pattern.to_numpy()[position])",
        "remainder = values - trend - seasonal",
        "known = remainder.notna()",
        "",
        "",
        "def strength(component_plus_remainder):",
        '    """1 - Var(remainder) / Var(component + remainder), floored at 0."""',
        "    spread = component_plus_remainder[known].var()",
        "    return max(0.0, 1.0 - remainder[known].var() / spread) if spread > 0 else 0.0",
        "",
        "",
        "for position_in_season, value in pattern.items():",
        "    print(f'seasonal {position_in_season}: {value:.4f}')",
        "print(f'trend_strength: {strength(trend + remainder):.4f}')",
        "print(f'seasonal_strength: {strength(seasonal + remainder):.4f}')",
        "trend_change = trend.dropna().iloc[-1] - trend.dropna().iloc[0]",
        "print(f'trend_change: {trend_change:.4f}')",
    )
    return cell.render()
