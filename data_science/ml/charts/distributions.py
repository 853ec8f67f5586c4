"""The chart kinds that show how values are spread or shared out: histogram, bar, box, violin
and pie. Each takes a figure, the table and a `ChartSpec`, draws, and reports a `Drawn`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import cbook
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from data_science.errors import ToolError
from data_science.ml.charts.canvas import (
    AGGREGATE_WORD,
    COLOR,
    MAX_BARS,
    MAX_POINTS,
    OTHER,
    ChartSpec,
    Drawn,
    as_datetime,
    display_name,
    group_labels,
    is_continuous,
    listing,
    need_category,
    need_numeric,
    need_x,
    one_y,
    short_label,
    tick_labels,
)
from data_science.ml.common import SEED, is_numeric, numeric_columns

MAX_BOXES = 20  # categories in a box or violin plot
MAX_SLICES = 8  # pie slices before "other"
MAX_BINS = 100
MAX_FLIERS = 1_000  # outlier markers per box
NANOSECONDS_PER_DAY = 86_400 * 10**9


def draw_histogram(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """Bins of a number or a date (Freedman-Diaconis), or counts of a text column's values."""
    x = need_x(spec, "A histogram")
    axes = figure.subplots()
    series = frame[x]
    dates = as_datetime(series) if not is_numeric(series) else None
    title = f"Distribution of {display_name(x)}"
    if not is_numeric(series) and dates is None:
        drawn = Drawn(title, int(series.notna().sum()))
        counts = series.value_counts()
        if len(counts) > MAX_BARS:
            drawn.notes.append(f"showing the {MAX_BARS} most frequent of {len(counts):,} values")
        counts = counts.head(MAX_BARS)[::-1]
        axes.barh(np.arange(len(counts)), counts.to_numpy(), color=COLOR)
        tick_labels(axes, "y", [short_label(label) for label in counts.index])
        axes.set_xlabel("rows")
        axes.set_ylabel(display_name(x))
        axes.set_title(title)
        return drawn
    values: pd.Series
    if dates is not None:  # matplotlib's date numbers: days since its 1970 epoch
        present = dates.dropna()
        nanoseconds = present.to_numpy().astype("datetime64[ns]").astype("int64")
        values = pd.Series(nanoseconds / NANOSECONDS_PER_DAY, index=present.index)
    else:
        values = series.dropna().astype(float)
    drawn = Drawn(title, len(values))
    if values.empty:
        raise ToolError(f"'{x}' has no values to draw.", code="empty_column")
    edges = _bin_edges(values.to_numpy(float), pd.api.types.is_integer_dtype(series))
    if spec.color_by:
        labels, order = group_labels(frame.loc[values.index, spec.color_by])
        for group in order:
            axes.hist(values[labels == group], bins=edges.tolist(), alpha=0.55, label=group)
        axes.legend(title=display_name(spec.color_by), fontsize="small")
        drawn.title = title = f"{title} by {display_name(spec.color_by)}"
    else:
        axes.hist(values, bins=edges.tolist(), color=COLOR, edgecolor="white")
    _label_histogram(axes, x, title, pd.api.types.is_integer_dtype(series), dates is not None)
    return drawn


def draw_counted_histogram(
    figure: Figure, x: str, edges: np.ndarray, counts: np.ndarray, integers: bool
) -> Drawn:
    """A numeric histogram from its bin `edges` and `counts` (counted out of memory): the
    chart `draw_histogram` draws from the values themselves."""
    axes = figure.subplots()
    title = f"Distribution of {display_name(x)}"
    centres = (edges[:-1] + edges[1:]) / 2
    axes.hist(centres, bins=edges.tolist(), weights=counts, color=COLOR, edgecolor="white")
    _label_histogram(axes, x, title, integers, dates=False)
    return Drawn(title, int(counts.sum()))


def _label_histogram(axes: Any, x: str, title: str, integers: bool, dates: bool) -> None:
    if integers:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if dates:
        axes.xaxis_date()
        axes.tick_params(axis="x", labelrotation=30)
    axes.set_xlabel(display_name(x))
    axes.set_ylabel("rows")
    axes.set_title(title)


def _bin_edges(values: np.ndarray, integers: bool) -> np.ndarray:
    q25, q75 = np.percentile(values, [25, 75])
    spread = (float(values.min()), float(values.max()), float(q25), float(q75))
    return bin_edges(len(values), spread, integers)


def bin_edges(count: int, spread: tuple[float, float, float, float], integers: bool) -> np.ndarray:
    """Freedman-Diaconis bins (at least Sturges'), at most MAX_BINS; one per integer when few.

    `spread`: the values' minimum, maximum and first and third quartiles; `count`: how many."""
    low, high, q25, q75 = spread
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    sturges = math.ceil(math.log2(count)) + 1
    width = 2 * (q75 - q25) / count ** (1 / 3)
    bins = max(sturges, math.ceil((high - low) / width)) if width > 0 else sturges
    bins = min(bins, MAX_BINS)
    if integers and high - low + 1 <= bins:
        return np.arange(low - 0.5, high + 1.5)
    return np.linspace(low, high, bins + 1)


def draw_bar(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """Rows per category, or an aggregate of `y` per category, for the MAX_BARS most frequent."""
    x = need_x(spec, "A bar chart")
    y = one_y(spec, "A bar chart", required=False)
    need_category(frame, x, "A bar chart")
    if y is None:
        counts = frame[x].value_counts()
        values, measured = counts.head(MAX_BARS), "rows"
        title = f"Rows per {display_name(x)}"
        drawn = Drawn(title, int(counts.sum()))
    else:
        need_numeric(frame, y, "y column", "A bar chart of an aggregate")
        agg = spec.agg or "mean"
        data = frame[[x, y]].dropna()
        counts = data[x].value_counts()
        top = counts.index[:MAX_BARS]
        values = data[data[x].isin(top)].groupby(x, observed=True)[y].agg(agg)
        measured = f"{AGGREGATE_WORD[agg].lower()} of {display_name(y)}"
        title = f"{AGGREGATE_WORD[agg]} of {display_name(y)} by {display_name(x)}"
        drawn = Drawn(title, len(data))
    if values.empty:
        raise ToolError(f"'{x}' has no values to count.", code="empty_column")
    if len(counts) > MAX_BARS:
        drawn.notes.append(f"showing the {MAX_BARS} most frequent of {len(counts):,} categories")
        drawn.title = title = f"{title} (top {MAX_BARS})"
    axes = figure.subplots()
    numeric_x = is_numeric(frame[x])
    values = values.sort_index() if numeric_x else values.sort_values(ascending=False)
    labels = [short_label(label) for label in values.index]
    text = [f"{value:,.4g}" for value in values.to_numpy(float)]
    if numeric_x:  # ordered categories read left to right
        bars = axes.bar(np.arange(len(values)), values.to_numpy(float), color=COLOR)
        tick_labels(axes, "x", labels)
        axes.set_xlabel(display_name(x))
        axes.set_ylabel(measured)
    else:  # largest first, from the top; long labels stay readable on the side
        bars = axes.barh(np.arange(len(values))[::-1], values.to_numpy(float), color=COLOR)
        axes.set_yticks(np.arange(len(values))[::-1], labels)
        axes.set_xlabel(measured)
        axes.set_ylabel(display_name(x))
    axes.bar_label(bars, labels=text, fontsize=8, padding=2)
    axes.set_title(title)
    drawn.facts["bars"] = len(values)
    return drawn


def draw_box(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """Quartiles of `y` per category of `x` (or of `x` alone)."""
    return _distribution_by_category(figure, frame, spec, "box")


def draw_violin(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """The shape of `y`'s distribution per category of `x` (or of `x` alone)."""
    return _distribution_by_category(figure, frame, spec, "violin")


def _distribution_by_category(
    figure: Figure, frame: pd.DataFrame, spec: ChartSpec, kind: str
) -> Drawn:
    """A box or violin per category of `x` of the numbers in `y`, or one of `x` alone."""
    what = "A box plot" if kind == "box" else "A violin plot"
    x = need_x(spec, what)
    y = one_y(spec, what, required=False)
    if y is None:
        groups, labels, drawn = _one_distribution(frame, x, what)
    else:
        groups, labels, drawn = _per_category(frame, x, y, what)
    value_name = x if y is None else y
    if not groups or all(len(group) == 0 for group in groups):
        raise ToolError(f"'{value_name}' has no values to draw.", code="empty_column")
    axes = figure.subplots()
    rng = np.random.default_rng(SEED)
    if kind == "box":
        _draw_boxes(axes, groups, labels, rng)
    else:
        labels = _draw_violins(axes, groups, labels, rng, drawn, what, value_name)
    tick_labels(axes, "x", labels)
    if y is not None:
        axes.set_xlabel(display_name(x))
    axes.set_ylabel(display_name(value_name))
    axes.set_title(drawn.title)
    return drawn


def _one_distribution(
    frame: pd.DataFrame, x: str, what: str
) -> tuple[list[np.ndarray], list[str], Drawn]:
    """The values of `x` alone, which must then be numeric."""
    if not is_numeric(frame[x]):
        raise ToolError(
            f"{what} needs a numeric `y` to draw per category of `x`='{x}' (or a numeric "
            f"`x` alone). Numeric columns: {listing(numeric_columns(frame))}.",
            code="missing_argument",
        )
    values = frame[x].dropna().to_numpy(float)
    return [values], [display_name(x)], Drawn(f"Spread of {display_name(x)}", len(values))


def _per_category(
    frame: pd.DataFrame, x: str, y: str, what: str
) -> tuple[list[np.ndarray], list[str], Drawn]:
    """The values of `y` in each of the MAX_BOXES most frequent categories of `x`."""
    if is_continuous(frame[x]) and not is_continuous(frame[y]):
        raise ToolError(
            f"{what} draws a number per category: put the category in `x` and the number "
            f"in `y` (x='{y}', y='{x}').",
            code="wrong_column_type",
        )
    need_numeric(frame, y, "y column", what)
    need_category(frame, x, what)
    data = frame[[x, y]].dropna()
    counts = data[x].value_counts()
    top = list(counts.index[:MAX_BOXES])
    if is_numeric(frame[x]):
        top.sort()
    drawn = Drawn(f"{display_name(y)} by {display_name(x)}", len(data))
    if len(counts) > MAX_BOXES:
        drawn.notes.append(f"showing the {MAX_BOXES} most frequent of {len(counts):,} categories")
        drawn.title = f"{drawn.title} (top {MAX_BOXES})"
    by_category = dict(tuple(data.groupby(x, sort=False)[y]))
    groups = [by_category[category].to_numpy(float) for category in top]
    return groups, [short_label(category) for category in top], drawn


def _draw_boxes(
    axes: Any, groups: list[np.ndarray], labels: list[str], rng: np.random.Generator
) -> None:
    """Exact quartiles per group; only the outlier markers are thinned to MAX_FLIERS."""
    stats = cbook.boxplot_stats(groups, labels=labels)
    for stat in stats:
        if len(stat["fliers"]) > MAX_FLIERS:
            stat["fliers"] = rng.choice(stat["fliers"], MAX_FLIERS, replace=False)
    axes.bxp(
        stats,
        positions=np.arange(len(groups)),
        patch_artist=True,
        boxprops={"facecolor": "#C7D3E8"},
    )


def _draw_violins(
    axes: Any,
    groups: list[np.ndarray],
    labels: list[str],
    rng: np.random.Generator,
    drawn: Drawn,
    what: str,
    value_name: str,
) -> list[str]:
    """Violins of the groups with two distinct values or more (each from a seeded sample when
    large); returns the labels of the groups drawn."""
    kept = [(g, label) for g, label in zip(groups, labels, strict=True) if len(np.unique(g)) > 1]
    if len(kept) < len(groups):
        drawn.notes.append("categories with fewer than two distinct values were left out")
    if not kept:
        raise ToolError(
            f"{what} needs categories with at least two distinct values of '{value_name}'. "
            "Try kind='box' or kind='bar'.",
            code="too_few_values",
        )
    groups, labels = [g for g, _ in kept], [label for _, label in kept]
    cap = max(200, MAX_POINTS // len(groups))
    if any(len(g) > cap for g in groups):
        drawn.notes.append(f"each violin is drawn from a random sample of up to {cap:,} rows")
        groups = [rng.choice(g, cap, replace=False) if len(g) > cap else g for g in groups]
    axes.violinplot(groups, positions=np.arange(len(groups)), showmedians=True)
    return labels


def draw_pie(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> Drawn:
    """Each category's share of the rows (or of `y`'s total); the smallest pooled as other."""
    x = need_x(spec, "A pie chart")
    y = one_y(spec, "A pie chart", required=False)
    need_category(frame, x, "A pie chart")
    if y is None:
        values = frame[x].value_counts()
        title = f"Share of rows by {display_name(x)}"
        rows = int(values.sum())
    else:
        need_numeric(frame, y, "y column", "A pie chart of totals")
        data = frame[[x, y]].dropna()
        values = data.groupby(x, observed=True)[y].sum().sort_values(ascending=False)
        if (values < 0).any():
            raise ToolError(
                f"A pie chart needs totals of zero or more; '{y}' sums to a negative value for "
                "some categories. Use kind='bar' with agg='sum' instead.",
                code="negative_values",
            )
        title = f"Share of total {display_name(y)} by {display_name(x)}"
        rows = len(data)
    if values.empty or float(values.sum()) <= 0:
        raise ToolError(f"'{x}' has nothing to share out.", code="empty_column")
    drawn = Drawn(title, rows)
    labels = [short_label(label) for label in values.index[:MAX_SLICES]]
    shares = list(values.to_numpy(float)[:MAX_SLICES])
    if len(values) > MAX_SLICES:
        rest = float(values.iloc[MAX_SLICES:].sum())
        labels.append(f"{OTHER} ({len(values) - MAX_SLICES:,})")
        shares.append(rest)
        drawn.notes.append(
            f"the {len(values) - MAX_SLICES:,} smallest of {len(values):,} values are "
            f"grouped as '{OTHER}'"
        )
    axes = figure.subplots()
    axes.pie(
        shares,
        labels=labels,
        autopct=lambda pct: f"{pct:.1f}%" if pct >= 2 else "",
        startangle=90,
        counterclock=False,
        wedgeprops={"edgecolor": "white"},
    )
    axes.set_aspect("equal")
    axes.set_title(title)
    total = float(sum(shares))
    drawn.facts["shares"] = {
        label: round(float(share) / total, 4) for label, share in zip(labels, shares, strict=True)
    }
    return drawn
