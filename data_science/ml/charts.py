"""Drawing charts of a table to PNG bytes with matplotlib's object API (thread- and process-safe).

Pure functions with no ADK import, so they run in a worker process. Big tables stay fast:
point charts (scatter, violin) draw a seeded sample of at most `MAX_POINTS` rows, while bar,
line, area, pie, box, histogram and heatmap summarise every row (counts, aggregates, quartiles,
correlations), which is both exact and quick on a million rows.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib import cbook
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from data_science.errors import ToolError
from data_science.ml.supervised import ROW_ID_NAME
from data_science.storage.tables import TableFile, column_kind

ChartKind = Literal[
    "histogram", "scatter", "line", "bar", "box", "heatmap", "violin", "pie", "area"
]
Aggregate = Literal["mean", "sum", "median"]
CHART_KINDS: tuple[str, ...] = get_args(ChartKind)
AGGREGATES: tuple[str, ...] = get_args(Aggregate)

MAX_POINTS = 20_000  # rows drawn by a scatter or violin plot; larger tables are sampled
SEED = 42
MAX_BARS = 30  # categories in a bar chart (the most frequent)
MAX_BOXES = 20  # categories in a box or violin plot
MAX_GROUPS = 10  # colours in one chart; the rest become "other"
MAX_SLICES = 8  # pie slices before "other"
MAX_LINE_POINTS = 500  # distinct x values on a line; more are binned (dates: per day, month…)
LINE_BINS = 200
MAX_HEATMAP_COLUMNS = 30
ANNOTATE_UP_TO = 12  # heatmap cells carry their value up to this many columns
MIN_NOTABLE_CORRELATION = 0.3  # auto_charts draws a weaker pair only to fill up
MAX_BINS = 100
MAX_FLIERS = 1_000  # outlier markers per box
LABEL_WIDTH = 25
NAME_WIDTH = 40
NANOSECONDS_PER_DAY = 86_400 * 10**9
COLOR = "#4C72B0"
OTHER = "other"
FIGURE_SIZE = (9.0, 5.5)
SQUARE_SIZE = (8.0, 7.0)
AGGREGATE_WORD = {"mean": "Mean", "sum": "Total", "median": "Median"}
USES = {  # the arguments each kind reads; others are reported as ignored
    "histogram": {"x", "color_by"},
    "scatter": {"x", "y", "color_by"},
    "line": {"x", "y", "color_by", "agg"},
    "area": {"x", "y", "color_by", "agg"},
    "bar": {"x", "y", "agg"},
    "box": {"x", "y"},
    "violin": {"x", "y"},
    "heatmap": {"y"},
    "pie": {"x", "y"},
}
PERIODS = (  # (pandas period code, word, approximate length in days)
    ("h", "hour", 1 / 24),
    ("D", "day", 1.0),
    ("W", "week", 7.0),
    ("M", "month", 30.44),
    ("Q", "quarter", 91.31),
    ("Y", "year", 365.25),
)


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: the kind and the (already resolved) column names it reads."""

    kind: str
    x: str | None = None
    y: tuple[str, ...] = ()
    color_by: str | None = None
    agg: str | None = None


@dataclass
class Chart:
    """A drawn chart: PNG bytes, title, rows that fed it, and what the reader should know."""

    png: bytes
    title: str
    rows_used: int
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Drawn:
    title: str
    rows_used: int
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OverviewChart:
    """One chart `auto_charts` chose, and why."""

    chart: Chart
    spec: ChartSpec
    why: str


# Entry points (run in a worker process) -----------------------------------------------------------
def render_chart(table: TableFile, spec: ChartSpec) -> Chart:
    """Load the table and draw `spec` on it."""
    return draw_chart(table.load(), spec)


def render_overview(table: TableFile) -> list[OverviewChart]:
    """Pick a few charts that introduce the table (see `plan_overview`) and draw them."""
    frame = table.load()
    return [OverviewChart(draw_chart(frame, spec), spec, why) for spec, why in plan_overview(frame)]


def draw_chart(frame: pd.DataFrame, spec: ChartSpec) -> Chart:
    drawer = _DRAWERS.get(spec.kind)
    if drawer is None:
        raise ToolError(
            f"Unknown chart kind '{spec.kind}'. Use one of: {', '.join(CHART_KINDS)}.",
            code="unknown_chart_kind",
        )
    if spec.agg is not None and spec.agg not in AGGREGATES:
        raise ToolError(
            f"Unknown aggregate '{spec.agg}'. Use one of: {', '.join(AGGREGATES)}.",
            code="unknown_aggregate",
        )
    size = SQUARE_SIZE if spec.kind in {"heatmap", "pie"} else FIGURE_SIZE
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    drawn = drawer(figure, _plain_categories(frame, spec), spec)
    drawn.notes[:0] = _ignored_arguments(spec)
    return Chart(figure_png(figure), drawn.title, drawn.rows_used, drawn.notes, drawn.facts)


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def short_label(value: Any, width: int = LABEL_WIDTH) -> str:
    """A category label cut to `width` characters (dates without a time show as the date)."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        text = value.strftime("%Y-%m-%d")
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _name(column: str) -> str:
    return short_label(column, NAME_WIDTH)


def _plain_categories(frame: pd.DataFrame, spec: ChartSpec) -> pd.DataFrame:
    """Pandas categoricals count unobserved categories too; chart their plain values."""
    used = [spec.x, spec.color_by, *spec.y]
    changed = {
        column: frame[column].astype(object)
        for column in dict.fromkeys(used)
        if column is not None and isinstance(frame[column].dtype, pd.CategoricalDtype)
    }
    return frame.assign(**changed) if changed else frame


def _ignored_arguments(spec: ChartSpec) -> list[str]:
    given = {
        "x": spec.x is not None,
        "y": bool(spec.y),
        "color_by": spec.color_by is not None,
        "agg": spec.agg is not None,
    }
    unused = [name for name, present in given.items() if present and name not in USES[spec.kind]]
    notes = [f"`{name}` is not used by a {spec.kind} chart and was ignored" for name in unused]
    if spec.agg is not None and not spec.y and "agg" in USES[spec.kind]:
        notes.append("`agg` combines a `y` column; without one, rows were counted")
    return notes


# Column checks ------------------------------------------------------------------------------------
def is_number(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [str(column) for column in frame.columns if is_number(frame[column])]


def _listing(columns: list[str]) -> str:
    if not columns:
        return "none"
    shown = ", ".join(columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")


def _need_x(spec: ChartSpec, what: str) -> str:
    if spec.x is None:
        raise ToolError(f"{what} needs an `x` column.", code="missing_argument")
    return spec.x


def _one_y(spec: ChartSpec, what: str, required: bool = True) -> str | None:
    if len(spec.y) > 1:
        raise ToolError(
            f"{what} takes one `y` column, not {len(spec.y)}. Several y columns fit "
            "kind='line' or kind='area'.",
            code="too_many_columns",
        )
    if required and not spec.y:
        raise ToolError(f"{what} needs a `y` column.", code="missing_argument")
    return spec.y[0] if spec.y else None


def _need_numeric(frame: pd.DataFrame, column: str, role: str, what: str) -> None:
    if not is_number(frame[column]):
        raise ToolError(
            f"{what} needs a numeric {role}; '{column}' is {column_kind(frame[column])}. "
            f"Numeric columns: {_listing(numeric_columns(frame))}.",
            code="wrong_column_type",
        )


def _need_category(frame: pd.DataFrame, column: str, what: str) -> None:
    """Numbers with many distinct values are not categories; say which columns are."""
    series = frame[column]
    if not is_number(series):
        return
    distinct = int(series.nunique())
    if distinct <= MAX_BARS:
        return
    categories = [
        str(name)
        for name in frame.columns
        if not pd.api.types.is_datetime64_any_dtype(frame[name])
        and 2 <= frame[name].nunique() <= MAX_BARS
    ]
    raise ToolError(
        f"{what} needs a category in `x`; '{column}' is numeric with {distinct:,} distinct "
        f"values. Use kind='histogram' for its distribution, or one of these category columns: "
        f"{_listing(categories)}.",
        code="wrong_column_type",
    )


def _is_continuous(series: pd.Series) -> bool:
    return is_number(series) and series.nunique() > MAX_BARS


def _sample(frame: pd.DataFrame, drawn: _Drawn) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame
    drawn.notes.append(
        f"drew a random sample of {MAX_POINTS:,} of {len(frame):,} rows (seed {SEED})"
    )
    return frame.sample(MAX_POINTS, random_state=SEED)


def _groups(series: pd.Series, limit: int = MAX_GROUPS) -> tuple[pd.Series, list[str]]:
    """Text labels for a colour column: its `limit` most frequent values, the rest "other"."""
    counts = series.value_counts()
    names = {key: short_label(key) for key in counts.index[:limit]}
    labels = series.map(names)
    order = list(dict.fromkeys(names.values()))
    if len(counts) > limit:
        labels = labels.where(labels.notna() | series.isna(), OTHER)
        order.append(OTHER)
    return labels, order


def _tick_labels(axes: Any, axis: str, labels: list[str]) -> None:
    positions = np.arange(len(labels))
    if axis == "x":
        axes.set_xticks(positions, labels)
        longest = max((len(label) for label in labels), default=0)
        if len(labels) > 6 or (len(labels) > 1 and longest > 10):
            axes.tick_params(axis="x", labelrotation=35)
            for text in axes.get_xticklabels():
                text.set_horizontalalignment("right")
    else:
        axes.set_yticks(positions, labels)


# Dates and ordered x ------------------------------------------------------------------------------
def as_datetime(series: pd.Series) -> pd.Series | None:
    """The column as naive datetimes if it holds dates (also dates written as text), else None."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            naive: pd.Series = series.dt.tz_convert(None)
            return naive
        return series
    if is_number(series) or pd.api.types.is_bool_dtype(series):
        return None
    values = series.dropna()
    if values.empty:
        return None
    sample = values.sample(min(len(values), 200), random_state=SEED).astype(str)
    if sample.str.len().min() < 6 or not sample.str.contains(r"\d").all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.to_datetime(sample, errors="coerce", utc=True).notna().mean() < 0.9:
            return None
        parsed = pd.to_datetime(series, errors="coerce", utc=True)
    if parsed.notna().sum() < 0.9 * len(values):
        return None
    return parsed.dt.tz_convert(None)


def _ordered_key(series: pd.Series, drawn: _Drawn) -> tuple[pd.Series, str]:
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
    if is_number(series):
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


# Drawers ------------------------------------------------------------------------------------------
def _histogram(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    x = _need_x(spec, "A histogram")
    axes = figure.subplots()
    series = frame[x]
    dates = as_datetime(series) if not is_number(series) else None
    title = f"Distribution of {_name(x)}"
    if not is_number(series) and dates is None:
        drawn = _Drawn(title, int(series.notna().sum()))
        counts = series.value_counts()
        if len(counts) > MAX_BARS:
            drawn.notes.append(f"showing the {MAX_BARS} most frequent of {len(counts):,} values")
        counts = counts.head(MAX_BARS)[::-1]
        axes.barh(np.arange(len(counts)), counts.to_numpy(), color=COLOR)
        _tick_labels(axes, "y", [short_label(label) for label in counts.index])
        axes.set_xlabel("rows")
        axes.set_ylabel(_name(x))
        axes.set_title(title)
        return drawn
    values: pd.Series
    if dates is not None:  # matplotlib's date numbers: days since its 1970 epoch
        present = dates.dropna()
        nanoseconds = present.to_numpy().astype("datetime64[ns]").astype("int64")
        values = pd.Series(nanoseconds / NANOSECONDS_PER_DAY, index=present.index)
    else:
        values = series.dropna().astype(float)
    drawn = _Drawn(title, len(values))
    if values.empty:
        raise ToolError(f"'{x}' has no values to draw.", code="empty_column")
    edges = _bin_edges(values.to_numpy(float), pd.api.types.is_integer_dtype(series))
    if spec.color_by:
        labels, order = _groups(frame.loc[values.index, spec.color_by])
        for group in order:
            axes.hist(values[labels == group], bins=edges.tolist(), alpha=0.55, label=group)
        axes.legend(title=_name(spec.color_by), fontsize="small")
        drawn.title = title = f"{title} by {_name(spec.color_by)}"
    else:
        axes.hist(values, bins=edges.tolist(), color=COLOR, edgecolor="white")
    if pd.api.types.is_integer_dtype(series):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if dates is not None:
        axes.xaxis_date()
        axes.tick_params(axis="x", labelrotation=30)
    axes.set_xlabel(_name(x))
    axes.set_ylabel("rows")
    axes.set_title(title)
    return drawn


def _bin_edges(values: np.ndarray, integers: bool) -> np.ndarray:
    """Freedman-Diaconis bins (at least Sturges'), at most MAX_BINS; one per integer when few."""
    low, high = float(values.min()), float(values.max())
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    sturges = math.ceil(math.log2(len(values))) + 1
    q75, q25 = np.percentile(values, [75, 25])
    width = 2 * (q75 - q25) / len(values) ** (1 / 3)
    bins = max(sturges, math.ceil((high - low) / width)) if width > 0 else sturges
    bins = min(bins, MAX_BINS)
    if integers and high - low + 1 <= bins:
        return np.arange(low - 0.5, high + 1.5)
    return np.linspace(low, high, bins + 1)


def _scatter(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    x = _need_x(spec, "A scatter plot")
    y = _one_y(spec, "A scatter plot")
    assert y is not None  # noqa: S101  # _one_y(required=True) guarantees it
    for column in (x, y):
        if not is_number(frame[column]):
            raise ToolError(
                f"A scatter plot needs numeric columns; '{column}' is "
                f"{column_kind(frame[column])}. Use a histogram for it, or pick numeric columns: "
                f"{_listing(numeric_columns(frame))}.",
                code="wrong_column_type",
            )
    color_by = spec.color_by
    columns = list(dict.fromkeys([x, y] + ([color_by] if color_by else [])))
    title = f"{_name(y)} vs {_name(x)}" + (f" by {_name(color_by)}" if color_by else "")
    data = frame[columns].dropna()
    drawn = _Drawn(title, 0)
    data = _sample(data, drawn)
    drawn.rows_used = len(data)
    axes = figure.subplots()
    if color_by and is_number(data[color_by]) and data[color_by].nunique() > MAX_GROUPS:
        points = axes.scatter(data[x], data[y], c=data[color_by], cmap="viridis", s=12, alpha=0.7)
        figure.colorbar(points, ax=axes, label=_name(color_by))
    elif color_by:
        labels, order = _groups(data[color_by])
        for group in order:
            chosen = labels == group
            axes.scatter(data.loc[chosen, x], data.loc[chosen, y], s=12, alpha=0.7, label=group)
        axes.legend(title=_name(color_by), fontsize="small")
    else:
        axes.scatter(data[x], data[y], s=12, alpha=0.7, color=COLOR)
    axes.set_xlabel(_name(x))
    axes.set_ylabel(_name(y))
    axes.set_title(title)
    return drawn


def _over_x(
    frame: pd.DataFrame, spec: ChartSpec, what: str, default_agg: str, stacked: bool = False
) -> tuple[pd.DataFrame, _Drawn, str]:
    """Aggregate y (or count rows) per x, one column per y or per colour group, sorted by x."""
    x = _need_x(spec, what)
    ys = list(spec.y)
    if len(ys) > MAX_GROUPS:
        raise ToolError(
            f"{what} draws at most {MAX_GROUPS} `y` columns; {len(ys)} were given.",
            code="too_many_columns",
        )
    for y in ys:
        _need_numeric(frame, y, "y column", what)
    if len(ys) > 1 and spec.color_by:
        raise ToolError(
            f"{what} takes either several `y` columns or one `y` with `color_by`, not both.",
            code="too_many_columns",
        )
    drawn = _Drawn("", 0)
    key, binning = _ordered_key(frame[x], drawn)
    agg = spec.agg or default_agg
    data = pd.DataFrame({"__x__": key})
    for y in ys:
        data[y] = frame[y]
    order: list[str] = []
    if spec.color_by:
        data["__group__"], order = _groups(frame[spec.color_by])
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
        else f"{AGGREGATE_WORD[agg]} of {_name(ys[0])}"
        if len(ys) == 1
        else ", ".join(_name(y) for y in ys)
    )
    title = f"{measured} over {_name(x)}"
    details = [agg if len(ys) > 1 else "", binning, "stacked" if stacked else ""]
    details = [part for part in details if part]
    if details:
        title += f" ({' '.join(details)})"
    if spec.color_by:
        title += f" by {_name(spec.color_by)}"
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


def _line(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    wide, drawn, measured = _over_x(frame, spec, "A line chart", "mean")
    axes = figure.subplots()
    positions = _place_x(axes, wide.index)
    marker = "o" if len(wide) <= 60 else None
    for column in wide.columns:
        axes.plot(positions, wide[column].to_numpy(float), marker=marker, label=short_label(column))
    if len(wide.columns) > 1:
        axes.legend(title=_name(spec.color_by) if spec.color_by else None, fontsize="small")
    axes.set_xlabel(_name(str(spec.x)))
    axes.set_ylabel(measured if len(spec.y) <= 1 else f"{spec.agg or 'mean'} of value")
    axes.set_title(drawn.title)
    return drawn


def _area(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
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
            title=_name(spec.color_by) if spec.color_by else None,
            fontsize="small",
            loc="upper left",
        )
    axes.set_xlabel(_name(str(spec.x)))
    axes.set_ylabel(measured if len(spec.y) <= 1 else f"{spec.agg or 'sum'} of value (stacked)")
    axes.set_title(drawn.title)
    return drawn


def _bar(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    x = _need_x(spec, "A bar chart")
    y = _one_y(spec, "A bar chart", required=False)
    _need_category(frame, x, "A bar chart")
    if y is None:
        counts = frame[x].value_counts()
        values, measured = counts.head(MAX_BARS), "rows"
        title = f"Rows per {_name(x)}"
        drawn = _Drawn(title, int(counts.sum()))
    else:
        _need_numeric(frame, y, "y column", "A bar chart of an aggregate")
        agg = spec.agg or "mean"
        data = frame[[x, y]].dropna()
        counts = data[x].value_counts()
        top = counts.index[:MAX_BARS]
        values = data[data[x].isin(top)].groupby(x, observed=True)[y].agg(agg)
        measured = f"{AGGREGATE_WORD[agg].lower()} of {_name(y)}"
        title = f"{AGGREGATE_WORD[agg]} of {_name(y)} by {_name(x)}"
        drawn = _Drawn(title, len(data))
    if values.empty:
        raise ToolError(f"'{x}' has no values to count.", code="empty_column")
    if len(counts) > MAX_BARS:
        drawn.notes.append(f"showing the {MAX_BARS} most frequent of {len(counts):,} categories")
        drawn.title = title = f"{title} (top {MAX_BARS})"
    axes = figure.subplots()
    numeric_x = is_number(frame[x])
    values = values.sort_index() if numeric_x else values.sort_values(ascending=False)
    labels = [short_label(label) for label in values.index]
    text = [f"{value:,.4g}" for value in values.to_numpy(float)]
    if numeric_x:  # ordered categories read left to right
        bars = axes.bar(np.arange(len(values)), values.to_numpy(float), color=COLOR)
        _tick_labels(axes, "x", labels)
        axes.set_xlabel(_name(x))
        axes.set_ylabel(measured)
    else:  # largest first, from the top; long labels stay readable on the side
        bars = axes.barh(np.arange(len(values))[::-1], values.to_numpy(float), color=COLOR)
        axes.set_yticks(np.arange(len(values))[::-1], labels)
        axes.set_xlabel(measured)
        axes.set_ylabel(_name(x))
    axes.bar_label(bars, labels=text, fontsize=8, padding=2)
    axes.set_title(title)
    drawn.facts["bars"] = len(values)
    return drawn


def _box(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    return _distribution_by_category(figure, frame, spec, "box")


def _violin(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    return _distribution_by_category(figure, frame, spec, "violin")


def _distribution_by_category(
    figure: Figure, frame: pd.DataFrame, spec: ChartSpec, kind: str
) -> _Drawn:
    what = "A box plot" if kind == "box" else "A violin plot"
    x = _need_x(spec, what)
    y = _one_y(spec, what, required=False)
    if y is None:  # one distribution: x itself must be numeric
        if not is_number(frame[x]):
            raise ToolError(
                f"{what} needs a numeric `y` to draw per category of `x`='{x}' (or a numeric "
                f"`x` alone). Numeric columns: {_listing(numeric_columns(frame))}.",
                code="missing_argument",
            )
        values = frame[x].dropna().to_numpy(float)
        groups, labels, title, value_name = [values], [_name(x)], f"Spread of {_name(x)}", x
        drawn = _Drawn(title, len(values))
    else:
        if _is_continuous(frame[x]) and not _is_continuous(frame[y]):
            raise ToolError(
                f"{what} draws a number per category: put the category in `x` and the number "
                f"in `y` (x='{y}', y='{x}').",
                code="wrong_column_type",
            )
        _need_numeric(frame, y, "y column", what)
        _need_category(frame, x, what)
        data = frame[[x, y]].dropna()
        counts = data[x].value_counts()
        top = list(counts.index[:MAX_BOXES])
        if is_number(frame[x]):
            top.sort()
        title = f"{_name(y)} by {_name(x)}"
        drawn = _Drawn(title, len(data))
        if len(counts) > MAX_BOXES:
            drawn.notes.append(
                f"showing the {MAX_BOXES} most frequent of {len(counts):,} categories"
            )
            drawn.title = title = f"{title} (top {MAX_BOXES})"
        by_category = dict(tuple(data.groupby(x, sort=False)[y]))
        groups = [by_category[category].to_numpy(float) for category in top]
        labels = [short_label(category) for category in top]
        value_name = y
    if not groups or all(len(group) == 0 for group in groups):
        raise ToolError(f"'{value_name}' has no values to draw.", code="empty_column")
    axes = figure.subplots()
    rng = np.random.default_rng(SEED)
    if kind == "box":
        stats = cbook.boxplot_stats(groups, labels=labels)
        for stat in stats:  # quartiles are exact; only the outlier markers are thinned
            if len(stat["fliers"]) > MAX_FLIERS:
                stat["fliers"] = rng.choice(stat["fliers"], MAX_FLIERS, replace=False)
        axes.bxp(
            stats,
            positions=np.arange(len(groups)),
            patch_artist=True,
            boxprops={"facecolor": "#C7D3E8"},
        )
    else:
        kept = [
            (g, label) for g, label in zip(groups, labels, strict=True) if len(np.unique(g)) > 1
        ]
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
    _tick_labels(axes, "x", labels)
    if y is not None:
        axes.set_xlabel(_name(x))
    axes.set_ylabel(_name(value_name))
    axes.set_title(title)
    return drawn


def _heatmap(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    what = "A correlation heatmap"
    if spec.y:
        columns = list(dict.fromkeys(spec.y))
        for column in columns:
            _need_numeric(frame, column, "column", what)
    else:
        columns = numeric_columns(frame)
    columns = [column for column in columns if frame[column].nunique() > 1]
    if len(columns) < 2:
        varying = [column for column in numeric_columns(frame) if frame[column].nunique() > 1]
        raise ToolError(
            f"{what} needs at least two numeric columns that vary. Numeric columns that vary: "
            f"{_listing(varying)}.",
            code="too_few_columns",
        )
    drawn = _Drawn("Correlation of numeric columns", len(frame))
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
    _tick_labels(axes, "y", labels)
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


def _pie(figure: Figure, frame: pd.DataFrame, spec: ChartSpec) -> _Drawn:
    x = _need_x(spec, "A pie chart")
    y = _one_y(spec, "A pie chart", required=False)
    _need_category(frame, x, "A pie chart")
    if y is None:
        values = frame[x].value_counts()
        title = f"Share of rows by {_name(x)}"
        rows = int(values.sum())
    else:
        _need_numeric(frame, y, "y column", "A pie chart of totals")
        data = frame[[x, y]].dropna()
        values = data.groupby(x, observed=True)[y].sum().sort_values(ascending=False)
        if (values < 0).any():
            raise ToolError(
                f"A pie chart needs totals of zero or more; '{y}' sums to a negative value for "
                "some categories. Use kind='bar' with agg='sum' instead.",
                code="negative_values",
            )
        title = f"Share of total {_name(y)} by {_name(x)}"
        rows = len(data)
    if values.empty or float(values.sum()) <= 0:
        raise ToolError(f"'{x}' has nothing to share out.", code="empty_column")
    drawn = _Drawn(title, rows)
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


_DRAWERS: dict[str, Callable[[Figure, pd.DataFrame, ChartSpec], _Drawn]] = {
    "histogram": _histogram,
    "scatter": _scatter,
    "line": _line,
    "area": _area,
    "bar": _bar,
    "box": _box,
    "violin": _violin,
    "heatmap": _heatmap,
    "pie": _pie,
}


# Choosing an overview -----------------------------------------------------------------------------
def plan_overview(frame: pd.DataFrame) -> list[tuple[ChartSpec, str]]:
    """Three to five charts that introduce a new table, each with the reason it was chosen.

    The most variable numeric column (spread relative to typical size) gets a histogram, the
    main category (complete, few values) a bar chart, three or more numeric columns a
    correlation heatmap, the most correlated pair a scatter; then a line over time, a box plot
    of the main number by the main category, or more histograms and bars fill up to five.
    """
    rows = len(frame)
    measures: list[tuple[str, float]] = []
    categories: list[tuple[str, int, int]] = []  # (name, distinct, present)
    small_numbers: list[tuple[str, int, int]] = []
    dates: list[str] = []
    for column in frame.columns:
        series, name = frame[column], str(column)
        distinct = int(series.nunique())
        if distinct <= 1:
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            dates.append(name)
        elif is_number(series):
            if ROW_ID_NAME.match(name) and distinct >= 0.95 * rows:
                continue
            if distinct <= 10:
                small_numbers.append((name, distinct, int(series.notna().sum())))
                continue
            values = series.dropna().to_numpy(float)
            typical = float(np.mean(np.abs(values)))
            if typical > 0 and np.isfinite(typical):
                measures.append((name, float(np.std(values)) / typical))
        elif distinct <= 50 and distinct <= max(2, 0.5 * rows):
            categories.append((name, distinct, int(series.notna().sum())))
        elif as_datetime(series) is not None:
            dates.append(name)
    measures.sort(key=lambda item: -item[1])
    categories.sort(key=lambda item: (-item[2], item[1]))
    small_numbers.sort(key=lambda item: (-item[2], item[1]))
    if not categories:
        categories = small_numbers
    numeric = [name for name, _ in measures]
    plans: list[tuple[ChartSpec, str]] = []
    extras: list[tuple[ChartSpec, str]] = []

    for rank, (name, spread) in enumerate(measures[:3]):
        why = (
            f"'{name}' is the numeric column whose values vary most relative to their typical "
            f"size (std / mean |x| = {spread:.2f})"
            if rank == 0
            else f"'{name}' is the next most variable numeric column (std / mean |x| = "
            f"{spread:.2f})"
        )
        (plans if rank == 0 else extras).append((ChartSpec("histogram", x=name), why))
    main = categories[0][0] if categories else None
    if main is not None:
        name, distinct, present = categories[0]
        why = (
            f"'{name}' is the main category: {distinct} distinct values and the fewest gaps "
            f"({rows - present:,} missing)"
        )
        plans.append((ChartSpec("bar", x=name), why))
        for other, distinct, _ in categories[1:3]:
            extras.append(
                (ChartSpec("bar", x=other), f"'{other}' is another category ({distinct} values)")
            )
    if len(numeric) >= 3:
        shown = numeric[:MAX_HEATMAP_COLUMNS]
        plans.append(
            (
                ChartSpec(
                    "heatmap", y=tuple(name for name in map(str, frame.columns) if name in shown)
                ),
                f"{len(numeric)} numeric columns: the heatmap shows which move together",
            )
        )
    if len(numeric) >= 2:
        pairs = strongest_pairs(frame[numeric[:MAX_HEATMAP_COLUMNS]].corr())
        if pairs:
            first, second = pairs[0]["columns"]
            color = main if main is not None and categories[0][1] <= MAX_GROUPS else None
            strong = abs(pairs[0]["r"]) >= MIN_NOTABLE_CORRELATION
            (plans if strong else extras).append(
                (
                    ChartSpec("scatter", x=first, y=(second,), color_by=color),
                    f"'{first}' and '{second}' are the most correlated pair "
                    f"(r = {pairs[0]['r']:.2f})",
                )
            )
    if dates:
        y = (numeric[0],) if numeric else ()
        what = f"the mean of '{numeric[0]}'" if numeric else "the number of rows"
        plans.append(
            (ChartSpec("line", x=dates[0], y=y), f"'{dates[0]}' holds dates: {what} over time")
        )
    if numeric and main is not None:
        extras.insert(
            0,
            (
                ChartSpec("box", x=main, y=(numeric[0],)),
                f"how '{numeric[0]}' differs between the values of '{main}'",
            ),
        )
    for extra in extras:
        if len(plans) >= 5:
            break
        plans.append(extra)
    return plans[:5]
