"""What every chart kind shares: the spec of a chart and the drawn result, the checks on the
columns it is given, short labels, colour groups, seeded samples and reading dates.

Big tables stay fast: point charts draw a seeded sample of at most `MAX_POINTS` rows, while the
other kinds summarise every row (counts, aggregates, quartiles, correlations).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from data_science.errors import ToolError
from data_science.ml.common import SEED, is_numeric, numeric_columns
from data_science.storage.tables import column_kind

if TYPE_CHECKING:  # the server process reads the chart kinds here without loading matplotlib
    from matplotlib.figure import Figure

ChartKind = Literal[
    "histogram", "scatter", "line", "bar", "box", "heatmap", "violin", "pie", "area"
]
Aggregate = Literal["mean", "sum", "median"]
CHART_KINDS: tuple[str, ...] = get_args(ChartKind)
AGGREGATES: tuple[str, ...] = get_args(Aggregate)
# Charts of a trained model (drawn by ml/model_charts.py) and the tasks each fits.
ModelChartKind = Literal["confusion_matrix", "roc_curve", "residuals", "feature_importance"]
MODEL_CHART_KINDS: tuple[str, ...] = get_args(ModelChartKind)
KINDS_BY_TASK: dict[str, tuple[str, ...]] = {
    "classification": ("confusion_matrix", "roc_curve", "feature_importance"),
    "regression": ("residuals", "feature_importance"),
}

MAX_POINTS = 20_000  # rows drawn by a scatter or violin plot; larger tables are sampled
MAX_BARS = 30  # categories in a bar chart (the most frequent)
MAX_GROUPS = 10  # colours in one chart; the rest become "other"
LABEL_WIDTH = 25
NAME_WIDTH = 40
COLOR = "#4C72B0"
OTHER = "other"
AGGREGATE_WORD = {"mean": "Mean", "sum": "Total", "median": "Median"}


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
class Drawn:
    """What a chart kind reports about what it drew; `draw_chart` adds the PNG bytes."""

    title: str
    rows_used: int
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def check_kind(task: str, kind: str, target: str) -> None:
    """Raise a ToolError naming the kinds that fit when `kind` does not fit a `task` model."""
    fitting = KINDS_BY_TASK.get(task)
    if fitting is None:
        raise ToolError(
            f"This model's task '{task}' has no charts; model charts exist for classification "
            "and regression models made by `train`.",
            code="unsupported_model",
        )
    if kind not in fitting:
        raise ToolError(
            f"A {kind.replace('_', ' ')} does not fit a {task} model (it predicts '{target}'). "
            f"Kinds that fit: {', '.join(fitting)}.",
            code="wrong_chart_kind",
        )


def figure_png(figure: Figure) -> bytes:
    """The figure as PNG bytes: every chart of the product leaves a worker this way."""
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


def display_name(column: str) -> str:
    """A column name as titles and axes show it: cut to NAME_WIDTH characters."""
    return short_label(column, NAME_WIDTH)


def listing(columns: list[str]) -> str:
    """Column names for an error message, at most 30 of them."""
    if not columns:
        return "none"
    shown = ", ".join(columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")


def need_x(spec: ChartSpec, what: str) -> str:
    """The `x` column, which `what` (e.g. "A histogram") cannot draw without."""
    if spec.x is None:
        raise ToolError(f"{what} needs an `x` column.", code="missing_argument")
    return spec.x


def one_y(spec: ChartSpec, what: str, required: bool = True) -> str | None:
    """The single `y` column of a kind that draws one (None when optional and absent)."""
    if len(spec.y) > 1:
        raise ToolError(
            f"{what} takes one `y` column, not {len(spec.y)}. Several y columns fit "
            "kind='line' or kind='area'.",
            code="too_many_columns",
        )
    if required and not spec.y:
        raise ToolError(f"{what} needs a `y` column.", code="missing_argument")
    return spec.y[0] if spec.y else None


def need_numeric(frame: pd.DataFrame, column: str, role: str, what: str) -> None:
    """Refuse a non-numeric `column` in its `role`, naming the numeric columns."""
    if not is_numeric(frame[column]):
        raise ToolError(
            f"{what} needs a numeric {role}; '{column}' is {column_kind(frame[column])}. "
            f"Numeric columns: {listing(numeric_columns(frame))}.",
            code="wrong_column_type",
        )


def need_category(frame: pd.DataFrame, column: str, what: str) -> None:
    """Numbers with many distinct values are not categories; say which columns are."""
    series = frame[column]
    if not is_numeric(series):
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
        f"{listing(categories)}.",
        code="wrong_column_type",
    )


def is_continuous(series: pd.Series) -> bool:
    """Numbers with more distinct values than a bar chart shows: a measure, not a category."""
    return is_numeric(series) and series.nunique() > MAX_BARS


def sample_rows(frame: pd.DataFrame, drawn: Drawn) -> pd.DataFrame:
    """At most MAX_POINTS rows (a seeded sample, noted on the chart) for a point chart."""
    if len(frame) <= MAX_POINTS:
        return frame
    drawn.notes.append(
        f"drew a random sample of {MAX_POINTS:,} of {len(frame):,} rows (seed {SEED})"
    )
    return frame.sample(MAX_POINTS, random_state=SEED)


def group_labels(series: pd.Series, limit: int = MAX_GROUPS) -> tuple[pd.Series, list[str]]:
    """Text labels for a colour column: its `limit` most frequent values, the rest "other"."""
    counts = series.value_counts()
    names = {key: short_label(key) for key in counts.index[:limit]}
    labels = series.map(names)
    order = list(dict.fromkeys(names.values()))
    if len(counts) > limit:
        labels = labels.where(labels.notna() | series.isna(), OTHER)
        order.append(OTHER)
    return labels, order


def tick_labels(axes: Any, axis: str, labels: list[str]) -> None:
    """Category labels on an axis, slanted on x when they are many or long."""
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


def as_datetime(series: pd.Series) -> pd.Series | None:
    """The column as naive datetimes if it holds dates (also dates written as text), else None."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            naive: pd.Series = series.dt.tz_convert(None)
            return naive
        return series
    if is_numeric(series) or pd.api.types.is_bool_dtype(series):
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
