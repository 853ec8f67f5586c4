"""The chart kinds that relate columns: scatter (two numbers), line and area (numbers along an
ordered x, binned when x has too many values) and the correlation heatmap. Each takes a figure,
the table and a `ChartSpec`, draws, and reports a `Drawn`."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from data_science.errors import ToolError
from data_science.ml.charts.canvas import (
    AGGREGATE_WORD,
    COLOR,
    MAX_GROUPS,
    ChartSpec,
    Drawn,
    as_datetime,
    display_name,
    group_labels,
    listing,
    need_numeric,
    need_x,
    one_y,
    sample_rows,
    short_label,
    tick_labels,
)
from data_science.ml.common import is_numeric, numeric_columns
from data_science.storage.tables import column_kind

MAX_LINE_POINTS = 500  # distinct x values on a line; more are binned (dates: per day, month…)
LINE_BINS = 200
MAX_HEATMAP_COLUMNS = 30
ANNOTATE_UP_TO = 12  # heatmap cells carry their value up to this many columns
PERIODS = (  # (pandas period code, word, approximate length in days)
    ("h", "hour", 1 / 24),
    ("D", "day", 1.0),
    ("W", "week", 7.0),
    ("M", "month", 30.44),
    ("Q", "quarter", 91.31),
    ("Y", "year", 365.25),
)


def _ordered_key(series: pd.Series, drawn: Drawn) -> tuple[pd.Series, str]:
    """The x values a line follows, binned when there are too many; and a word for the binning."""
    dates = as_datetime(series)
    if dates is not None:
        if dates.nunique() <= MAX_LINE_POINTS:
            return dates, ""
        span_days = (dates.max() - dates.min()) / pd.Timedelta(days=1)
        code, word = PERIODS[-1][:2]
        for period_code, period_word, days in PERIODS:
            if span_days / days <= MAX_LINE_POINTS:
                code, word = period_code, period_word
                break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            binned = dates.dt.to_period(code).dt.to_timestamp()
        drawn.notes.append(f"x has {dates.nunique():,} distinct times; aggregated per {word}")
        return binned, f"per {word}"
    if is_numeric(series):
        if series.nunique() <= MAX_LINE_POINTS:
            return series.astype(float), ""
        low, high = float(series.min()), float(series.max())
        edges = np.linspace(low, high, LINE_BINS + 1)
        middles = (edges[:-1] + edges[1:]) / 2
        codes = np.clip(np.searchsorted(edges, series.to_numpy(float), side="right") - 1, 0, None)
        codes = np.minimum(codes, LINE_BINS - 1)
        binned = pd.Series(middles[codes], index=series.index).where(series.notna())
        drawn.notes.append(
            f"x has {series.nunique():,} distinct values; aggregated in {LINE_BINS} equal bins"
        )
        return binned, "binned"
    labels = series.astype(str).where(series.notna())
    distinct = int(labels.nunique())
    if distinct > MAX_LINE_POINTS:
        raise ToolError(
            f"'{series.name}' is text with {distinct:,} distinct values, so there is no order to "
            "draw a line along. Use a date or numeric `x`, or kind='bar' to compare categories.",
            code="wrong_column_type",
        )
    drawn.notes.append(f"'{series.name}' holds categories: x follows their alphabetical order")
    return labels, ""


def draw_scatter(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """One point per row of two numeric columns (a seeded sample of big tables), coloured by
    `color_by` as groups or, for a many-valued number, on a colour scale."""
    x = need_x(spec, "A scatter plot")
    y = one_y(spec, "A scatter plot")
    assert y is not None  # noqa: S101  # one_y(required=True) guarantees it
    for column in (x, y):
        if not is_numeric(frame[column]):
            raise ToolError(
                f"A scatter plot needs numeric columns; '{column}' is "
                f"{column_kind(frame[column])}. Use a histogram for it, or pick numeric columns: "
                f"{listing(numeric_columns(frame))}.",
                code="wrong_column_type",
            )
    color_by = spec.color_by
    columns = list(dict.fromkeys([x, y] + ([color_by] if color_by else [])))
    title = f"{display_name(y)} vs {display_name(x)}" + (
        f" by {display_name(color_by)}" if color_by else ""
    )
    data = frame[columns].dropna()
    drawn = Drawn(title, 0)
    data = sample_rows(data, drawn)
    drawn.rows_used = len(data)
    axes = figure.subplots()
    if color_by and is_numeric(data[color_by]) and data[color_by].nunique() > MAX_GROUPS:
        points = axes.scatter(data[x], data[y], c=data[color_by], cmap="viridis", s=12, alpha=0.7)
        figure.colorbar(points, ax=axes, label=display_name(color_by))
    elif color_by:
        labels, order = group_labels(data[color_by])
        for group in order:
            chosen = labels == group
            axes.scatter(data.loc[chosen, x], data.loc[chosen, y], s=12, alpha=0.7, label=group)
        axes.legend(title=display_name(color_by), fontsize="small")
    else:
        axes.scatter(data[x], data[y], s=12, alpha=0.7, color=COLOR)
    axes.set_xlabel(display_name(x))
    axes.set_ylabel(display_name(y))
    axes.set_title(title)
    return drawn


def _over_x(
    frame: pd.DataFrame, spec: ChartSpec, what: str, default_agg: str, stacked: bool = False
) -> tuple[pd.DataFrame, Drawn, str]:
    """Aggregate y (or count rows) per x, one column per y or per colour group, sorted by x."""
    x = need_x(spec, what)
    ys = list(spec.y)
    if len(ys) > MAX_GROUPS:
        raise ToolError(
            f"{what} draws at most {MAX_GROUPS} `y` columns; {len(ys)} were given.",
            code="too_many_columns",
        )
    for y in ys:
        need_numeric(frame, y, "y column", what)
    if len(ys) > 1 and spec.color_by:
        raise ToolError(
            f"{what} takes either several `y` columns or one `y` with `color_by`, not both.",
            code="too_many_columns",
        )
    drawn = Drawn("", 0)
    key, binning = _ordered_key(frame[x], drawn)
    agg = spec.agg or default_agg
    data = pd.DataFrame({"__x__": key})
    for y in ys:
        data[y] = frame[y]
    order: list[str] = []
    if spec.color_by:
        data["__group__"], order = group_labels(frame[spec.color_by])
    data = data.dropna(subset=["__x__"] + (["__group__"] if spec.color_by else []))
    drawn.rows_used = len(data)
    if data.empty:
        raise ToolError(f"'{x}' has no values to draw along.", code="empty_column")
    if spec.color_by:
        grouped = data.groupby(["__x__", "__group__"], sort=True)
        series = grouped.size() if not ys else grouped[ys[0]].agg(agg)
        wide = series.unstack("__group__").reindex(columns=order)
        wide = wide.fillna(0) if not ys else wide
    elif ys:
        wide = data.groupby("__x__", sort=True)[ys].agg(agg)
    else:
        wide = data.groupby("__x__", sort=True).size().to_frame("rows")
    wide = wide.sort_index()
    measured = (
        "Rows"
        if not ys
        else f"{AGGREGATE_WORD[agg]} of {display_name(ys[0])}"
        if len(ys) == 1
        else ", ".join(display_name(y) for y in ys)
    )
    title = f"{measured} over {display_name(x)}"
    details = [agg if len(ys) > 1 else "", binning, "stacked" if stacked else ""]
    details = [part for part in details if part]
    if details:
        title += f" ({' '.join(details)})"
    if spec.color_by:
        title += f" by {display_name(spec.color_by)}"
    drawn.title = title
    drawn.facts["x_points"] = len(wide)
    return wide, drawn, measured


def _place_x(axes: Any, index: pd.Index) -> Any:
    """Positions for x: dates and numbers as they are, text at 0..n-1 with its labels."""
    if pd.api.types.is_datetime64_any_dtype(index):
        axes.tick_params(axis="x", labelrotation=30)
        return index
    if pd.api.types.is_numeric_dtype(index):
        if bool(np.all(np.mod(index.to_numpy(float), 1) == 0)):
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        return index
    labels = [short_label(label) for label in index]
    step = max(1, math.ceil(len(labels) / 30))
    axes.set_xticks(np.arange(len(labels))[::step], labels[::step])
    axes.tick_params(axis="x", labelrotation=35)
    return np.arange(len(labels))


def draw_line(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """The mean (or `agg`) of each `y` along an ordered `x`, one line per y or colour group."""
    wide, drawn, measured = _over_x(frame, spec, "A line chart", "mean")
    axes = figure.subplots()
    positions = _place_x(axes, wide.index)
    marker = "o" if len(wide) <= 60 else None
    for column in wide.columns:
        axes.plot(positions, wide[column].to_numpy(float), marker=marker, label=short_label(column))
    if len(wide.columns) > 1:
        axes.legend(title=display_name(spec.color_by) if spec.color_by else None, fontsize="small")
    axes.set_xlabel(display_name(str(spec.x)))
    axes.set_ylabel(measured if len(spec.y) <= 1 else f"{spec.agg or 'mean'} of value")
    axes.set_title(drawn.title)
    return drawn


def draw_area(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """Stacked totals (or `agg`) of each `y` along an ordered `x`."""
    wide, drawn, measured = _over_x(frame, spec, "An area chart", "sum", stacked=True)
    wide = wide.fillna(0)
    if (wide.to_numpy(float) < 0).any():
        drawn.notes.append("some values are negative; stacked areas are hard to read then")
    axes = figure.subplots()
    positions = _place_x(axes, wide.index)
    axes.stackplot(
        positions,
        wide.to_numpy(float).T,
        labels=[short_label(column) for column in wide.columns],
        alpha=0.85,
    )
    if len(wide.columns) > 1:
        axes.legend(
            title=display_name(spec.color_by) if spec.color_by else None,
            fontsize="small",
            loc="upper left",
        )
    axes.set_xlabel(display_name(str(spec.x)))
    axes.set_ylabel(measured if len(spec.y) <= 1 else f"{spec.agg or 'sum'} of value (stacked)")
    axes.set_title(drawn.title)
    return drawn


def draw_heatmap(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """Pearson correlations between numeric columns, the most complete MAX_HEATMAP_COLUMNS."""
    what = "A correlation heatmap"
    if spec.y:
        columns = list(dict.fromkeys(spec.y))
        for column in columns:
            need_numeric(frame, column, "column", what)
    else:
        columns = numeric_columns(frame)
    columns = [column for column in columns if frame[column].nunique() > 1]
    if len(columns) < 2:
        varying = [column for column in numeric_columns(frame) if frame[column].nunique() > 1]
        raise ToolError(
            f"{what} needs at least two numeric columns that vary. Numeric columns that vary: "
            f"{listing(varying)}.",
            code="too_few_columns",
        )
    drawn = Drawn("Correlation of numeric columns", len(frame))
    if len(columns) > MAX_HEATMAP_COLUMNS:
        missing = frame[columns].isna().sum()
        chosen = set(missing.sort_values(kind="stable").index[:MAX_HEATMAP_COLUMNS])
        drawn.notes.append(
            f"showing the {MAX_HEATMAP_COLUMNS} most complete of {len(columns)} numeric columns"
        )
        columns = [column for column in columns if column in chosen]
    corr = frame[columns].corr()
    matrix = corr.to_numpy(float)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    figure.colorbar(image, ax=axes, label="Pearson correlation", shrink=0.8)
    labels = [short_label(column, 20) for column in columns]
    tick_labels(axes, "y", labels)
    axes.set_xticks(np.arange(len(labels)), labels, rotation=45, ha="right")
    if len(columns) <= ANNOTATE_UP_TO:
        for row in range(len(columns)):
            for col in range(len(columns)):
                value = float(matrix[row, col])
                if math.isfinite(value):
                    axes.text(
                        col,
                        row,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if abs(value) > 0.6 else "black",
                    )
    axes.set_title(drawn.title)
    drawn.facts["strongest_pairs"] = strongest_pairs(corr)[:5]
    return drawn


def strongest_pairs(corr: pd.DataFrame) -> list[dict[str, Any]]:
    """Pairs of different columns, strongest |r| first."""
    matrix = corr.to_numpy(float)
    names = [str(name) for name in corr.columns]
    found: list[tuple[float, str, str]] = []
    for i, first in enumerate(names):
        for j in range(i + 1, len(names)):
            value = float(matrix[i, j])
            if math.isfinite(value):
                found.append((value, first, names[j]))
    found.sort(key=lambda pair: -abs(pair[0]))
    return [{"columns": [first, second], "r": round(r, 4)} for r, first, second in found]
