"""Rows and distributions of one table: a preview of actual rows, and per numeric column its
outliers (IQR fences and z-scores), skewness, kurtosis and a normality test."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from data_science.errors import ToolError
from data_science.ml.analysis.common import (
    ALPHA,
    cell,
    first_columns,
    load_numeric,
    numeric_values,
    p_text,
    pct,
    require_numeric,
    unique,
)
from data_science.ml.common import SEED, STD_MEANING, numeric_columns, std_ddof
from data_science.storage.large import LargeTable, empty_frame, read_rows
from data_science.storage.tables import TableFile

MAX_PREVIEW_ROWS = 50
MAX_PREVIEW_COLUMNS = 40
MAX_COLUMNS_DESCRIBED = 30
OUTLIER_EXAMPLES = 5
SHAPIRO_MAX_VALUES = 5_000
SKEW_KURTOSIS_MEANING = {
    "unbiased": "bias-corrected sample estimates (pandas' skew and kurt)",
    "biased": "moment estimates without bias correction (scipy.stats skew and kurtosis with "
    "bias=True)",
}


def preview_rows(
    table: TableFile,
    n: int,
    position: str,
    columns: list[str] | None,
    limit: int = MAX_PREVIEW_ROWS,
) -> dict[str, Any]:
    """The first, last or a random sample (seed 42) of `n` rows (at most `limit`), cells clipped
    to 80 characters."""
    if n < 1:
        raise ToolError(f"`n` must be at least 1 (at most {limit} rows are shown).", "bad_argument")
    frame = None if isinstance(table, LargeTable) else table.load()
    # Of a large table only the rows shown are read, from its file.
    names = list((empty_frame(table) if frame is None else frame).columns)
    total = len(frame) if frame is not None else cast(LargeTable, table).rows
    notes = []
    if n > limit:
        notes.append(f"At most {limit} rows are shown; asked for {n}.")
        n = limit
    chosen = unique(columns) if columns else [str(name) for name in names]
    if len(chosen) > MAX_PREVIEW_COLUMNS:
        notes.append(
            f"Only the first {MAX_PREVIEW_COLUMNS} of {len(chosen)} columns are shown; "
            "pass `columns` to choose others."
        )
        chosen = chosen[:MAX_PREVIEW_COLUMNS]
    count = min(n, total)
    if position == "head":
        positions = np.arange(count)
    elif position == "tail":
        positions = np.arange(total - count, total)
    elif position == "random":
        positions = np.sort(np.random.default_rng(SEED).choice(total, size=count, replace=False))
    else:
        raise ToolError(
            f"Unknown position '{position}'. Use 'head', 'tail' or 'random'.", "bad_argument"
        )
    picked = (
        frame.iloc[positions][chosen] if frame is not None else read_rows(table, positions, chosen)
    )
    rows = [
        {"row": int(row), "values": {str(key): cell(value) for key, value in record.items()}}
        for row, record in zip(positions, picked.to_dict(orient="records"), strict=True)
    ]
    return {
        "position": position,
        "total_rows": total,
        "rows_shown": len(rows),
        "columns": chosen,
        "rows": rows,
        "note": " ".join(notes) or None,
    }


def describe_distribution(
    table: TableFile,
    column: str | None,
    z_threshold: float,
    std: str = "sample",
    skew_kurtosis: str = "unbiased",
) -> dict[str, Any]:
    """Outliers (1.5 x IQR fences and |z| > threshold), skewness, kurtosis, normality.

    `std` ("sample" or "population") is the standard deviation of the z-scores; skewness and
    excess kurtosis are `skew_kurtosis` "unbiased" (bias-corrected) or "biased" estimates.
    """
    if not 0 < z_threshold <= 10:
        raise ToolError(
            f"`z_threshold` must be above 0 and at most 10 (3 is usual); got {z_threshold}.",
            "bad_argument",
        )
    ddof = std_ddof(std)
    if skew_kurtosis not in SKEW_KURTOSIS_MEANING:
        raise ToolError(
            "skew_kurtosis can be 'unbiased' (bias-corrected, as pandas) or 'biased' (as "
            f"scipy.stats with bias=True); got '{skew_kurtosis}'.",
            "bad_argument",
        )
    frame = load_numeric(table, [column] if column else []).reset_index(drop=True)
    if column is not None:
        require_numeric(
            frame,
            column,
            "Outlier and distribution analysis",
            " Use value_counts for a text column.",
        )
        chosen = [column]
    else:
        chosen = numeric_columns(frame)
        if not chosen:
            raise ToolError(
                "This dataset has no numeric columns, so there are no outliers or distribution "
                "shapes to measure. Use value_counts to see how text values are spread.",
                "no_numeric_columns",
            )
    chosen, note = first_columns(
        chosen, MAX_COLUMNS_DESCRIBED, "are described", "pass `column` for another one"
    )
    return {
        "rows": len(frame),
        "z_threshold": z_threshold,
        "std": STD_MEANING[std],
        "skew_kurtosis": SKEW_KURTOSIS_MEANING[skew_kurtosis],
        "columns": [
            _describe_column(frame[name], z_threshold, ddof, skew_kurtosis == "biased")
            for name in chosen
        ],
        "note": note,
    }


def _describe_column(
    series: pd.Series, z_threshold: float, ddof: int, biased: bool
) -> dict[str, Any]:
    values = numeric_values(series).dropna()
    n = len(values)
    entry: dict[str, Any] = {"column": str(series.name), "n": n, "missing": len(series) - n}
    if n < 3:
        entry["note"] = "Fewer than 3 non-missing values: too few to describe."
        return entry
    q1, q3 = (float(q) for q in np.percentile(values, [25, 75]))
    iqr = q3 - q1
    lower, upper = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    below, above = values[values < lower], values[values > upper]
    beyond = pd.concat([lower - below, above - upper])
    entry["iqr_outliers"] = {
        "q1": q1,
        "q3": q3,
        "iqr": iqr,
        "lower_fence": lower,
        "upper_fence": upper,
        "count": len(below) + len(above),
        "below": len(below),
        "above": len(above),
        "pct": pct(len(below) + len(above), n),
        "examples": _examples(values, beyond),
    }
    mean, std = float(values.mean()), float(values.std(ddof=ddof))
    if std > 0:
        z = (values - mean) / std
        flagged = z[z.abs() > z_threshold]
        entry["z_outliers"] = {
            "mean": mean,
            "std": std,
            "threshold": z_threshold,
            "count": len(flagged),
            "pct": pct(len(flagged), n),
            "examples": [
                {**example, "z": float(z[example["row"]])}
                for example in _examples(values, flagged.abs())
            ],
        }
        skewness, kurtosis = _skew_kurtosis(values, biased)
        entry["skewness"] = skewness
        entry["excess_kurtosis"] = kurtosis
        entry["normality"] = _shapiro(values)
        entry["shape"] = _shape_hint(skewness, kurtosis, entry["normality"])
    else:
        entry["z_outliers"] = {"mean": mean, "std": 0.0, "threshold": z_threshold, "count": 0}
        entry["shape"] = "constant: every value is the same"
    return entry


def _skew_kurtosis(values: pd.Series, biased: bool) -> tuple[float, float]:
    """Skewness and excess kurtosis: bias-corrected (pandas) or plain moment estimates."""
    if biased:
        array = values.to_numpy(dtype=float)
        return float(stats.skew(array, bias=True)), float(stats.kurtosis(array, bias=True))
    return cast(float, values.skew()), cast(float, values.kurt())


def _examples(values: pd.Series, extremeness: pd.Series) -> list[dict[str, Any]]:
    """The most extreme few: row number and value, furthest out first."""
    rows = extremeness.sort_values(ascending=False, kind="stable").index[:OUTLIER_EXAMPLES]
    return [{"row": int(row), "value": float(values[row])} for row in rows]


def _shapiro(values: pd.Series) -> dict[str, Any]:
    sample = (
        values
        if len(values) <= SHAPIRO_MAX_VALUES
        else values.sample(SHAPIRO_MAX_VALUES, random_state=SEED)
    )
    result = stats.shapiro(sample.to_numpy())
    p_value = float(result.pvalue)
    return {
        "test": "Shapiro-Wilk",
        "statistic": float(result.statistic),
        "p_value": p_value,
        "n_tested": len(sample),
        "looks_normal": p_value >= ALPHA,
    }


def _shape_hint(skewness: float, kurtosis: float, normality: dict[str, Any]) -> str:
    size = abs(skewness)
    side = "right" if skewness > 0 else "left"
    if size < 0.5:
        shape = "roughly symmetric"
    elif size < 1:
        shape = f"moderately {side}-skewed"
    else:
        shape = f"strongly {side}-skewed"
    if kurtosis > 1:
        shape += ", heavy-tailed"
    elif kurtosis < -1:
        shape += ", light-tailed (flat)"
    verdict = (
        "consistent with a normal distribution"
        if normality["looks_normal"]
        else "not normally distributed"
    )
    return f"{shape}; {verdict} (Shapiro-Wilk p = {p_text(normality['p_value'])})"
