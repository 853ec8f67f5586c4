"""Choosing an overview of a new table (`auto_charts`): three to five charts, each with the
reason it was chosen.

The table's columns are first sorted into measures (numbers, most variable first), categories
(complete, few values) and dates; then one small planner per chart kind proposes its charts,
either as a main chart or as an extra that fills up to five.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_science.ml.charts.canvas import MAX_GROUPS, Chart, ChartSpec, as_datetime
from data_science.ml.charts.drawing import draw_chart, sampled_chart
from data_science.ml.charts.relations import MAX_HEATMAP_COLUMNS, strongest_pairs
from data_science.ml.common import is_numeric, is_row_id
from data_science.storage.large import LargeTable
from data_science.storage.tables import TableFile

MAX_OVERVIEW_CHARTS = 5
MIN_NOTABLE_CORRELATION = 0.3  # a weaker pair is drawn only to fill up
SMALL_NUMBER_VALUES = 10  # numbers with this few values are categories, not measures
MAX_CATEGORY_VALUES = 50

Plan = tuple[ChartSpec, str]


@dataclass(frozen=True)
class OverviewChart:
    """One chart `auto_charts` chose, and why."""

    chart: Chart
    spec: ChartSpec
    why: str


@dataclass(frozen=True)
class _Columns:
    """The columns of a table sorted into what an overview can draw."""

    rows: int
    measures: list[tuple[str, float]]  # (name, spread), most variable first
    categories: list[tuple[str, int, int]]  # (name, distinct, present), main category first
    dates: list[str]

    @property
    def numeric(self) -> list[str]:
        return [name for name, _ in self.measures]

    @property
    def main(self) -> str | None:
        return self.categories[0][0] if self.categories else None


def render_overview(table: TableFile) -> list[OverviewChart]:
    """Pick a few charts that introduce the table (see `plan_overview`) and draw them; a large
    table's are picked and drawn on its seeded sample, which each chart states."""
    if isinstance(table, LargeTable):
        frame = table.sample()
        return [
            OverviewChart(sampled_chart(draw_chart(frame, spec), table), spec, why)
            for spec, why in plan_overview(frame)
        ]
    frame = table.load()
    return [OverviewChart(draw_chart(frame, spec), spec, why) for spec, why in plan_overview(frame)]


def plan_overview(frame: pd.DataFrame) -> list[Plan]:
    """Three to five charts that introduce a new table, each with the reason it was chosen.

    The most variable numeric column (spread relative to typical size) gets a histogram, the
    main category (complete, few values) a bar chart, three or more numeric columns a
    correlation heatmap, the most correlated pair a scatter; then a line over time, a box plot
    of the main number by the main category, or more histograms and bars fill up to five.
    """
    columns = _sort_columns(frame)
    plans: list[Plan] = []
    extras: list[Plan] = []
    for planner in (_plan_histograms, _plan_bars, _plan_heatmap, _plan_scatter, _plan_line):
        chosen, spare = planner(frame, columns)
        plans += chosen
        extras += spare
    extras = _plan_box(frame, columns) + extras
    for extra in extras:
        if len(plans) >= MAX_OVERVIEW_CHARTS:
            break
        plans.append(extra)
    return plans[:MAX_OVERVIEW_CHARTS]


def _sort_columns(frame: pd.DataFrame) -> _Columns:
    """Measures, categories and dates; constant columns and row ids are left out, and small
    whole numbers stand in as categories when there is no text category."""
    rows = len(frame)
    measures: list[tuple[str, float]] = []
    categories: list[tuple[str, int, int]] = []
    small_numbers: list[tuple[str, int, int]] = []
    dates: list[str] = []
    for column in frame.columns:
        series, name = frame[column], str(column)
        distinct = int(series.nunique())
        if distinct <= 1:
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            dates.append(name)
        elif is_numeric(series):
            if is_row_id(name, distinct, rows):
                continue
            if distinct <= SMALL_NUMBER_VALUES:
                small_numbers.append((name, distinct, int(series.notna().sum())))
                continue
            spread = _relative_spread(series)
            if spread is not None:
                measures.append((name, spread))
        elif distinct <= MAX_CATEGORY_VALUES and distinct <= max(2, 0.5 * rows):
            categories.append((name, distinct, int(series.notna().sum())))
        elif as_datetime(series) is not None:
            dates.append(name)
    measures.sort(key=lambda item: -item[1])
    categories.sort(key=lambda item: (-item[2], item[1]))
    small_numbers.sort(key=lambda item: (-item[2], item[1]))
    return _Columns(rows, measures, categories or small_numbers, dates)


def _relative_spread(series: pd.Series) -> float | None:
    """Standard deviation over the typical size (mean |x|); None when that size is zero."""
    values = series.dropna().to_numpy(float)
    typical = float(np.mean(np.abs(values)))
    if typical > 0 and np.isfinite(typical):
        return float(np.std(values)) / typical
    return None


def _plan_histograms(frame: pd.DataFrame, columns: _Columns) -> tuple[list[Plan], list[Plan]]:
    """The most variable measure as a main chart; the next two as extras."""
    plans: list[Plan] = []
    extras: list[Plan] = []
    for rank, (name, spread) in enumerate(columns.measures[:3]):
        why = (
            f"'{name}' is the numeric column whose values vary most relative to their typical "
            f"size (std / mean |x| = {spread:.2f})"
            if rank == 0
            else f"'{name}' is the next most variable numeric column (std / mean |x| = "
            f"{spread:.2f})"
        )
        (plans if rank == 0 else extras).append((ChartSpec("histogram", x=name), why))
    return plans, extras


def _plan_bars(frame: pd.DataFrame, columns: _Columns) -> tuple[list[Plan], list[Plan]]:
    """The main category as a main chart; the next two categories as extras."""
    if not columns.categories:
        return [], []
    name, distinct, present = columns.categories[0]
    why = (
        f"'{name}' is the main category: {distinct} distinct values and the fewest gaps "
        f"({columns.rows - present:,} missing)"
    )
    extras: list[Plan] = [
        (ChartSpec("bar", x=other), f"'{other}' is another category ({values} values)")
        for other, values, _ in columns.categories[1:3]
    ]
    return [(ChartSpec("bar", x=name), why)], extras


def _plan_heatmap(frame: pd.DataFrame, columns: _Columns) -> tuple[list[Plan], list[Plan]]:
    """Three measures or more: which of them move together."""
    numeric = columns.numeric
    if len(numeric) < 3:
        return [], []
    shown = numeric[:MAX_HEATMAP_COLUMNS]
    spec = ChartSpec("heatmap", y=tuple(name for name in map(str, frame.columns) if name in shown))
    return [(spec, f"{len(numeric)} numeric columns: the heatmap shows which move together")], []


def _plan_scatter(frame: pd.DataFrame, columns: _Columns) -> tuple[list[Plan], list[Plan]]:
    """The most correlated pair of measures: a main chart when the correlation is notable,
    coloured by the main category when it has few values."""
    numeric = columns.numeric
    if len(numeric) < 2:
        return [], []
    pairs = strongest_pairs(frame[numeric[:MAX_HEATMAP_COLUMNS]].corr())
    if not pairs:
        return [], []
    first, second = pairs[0]["columns"]
    few_values = bool(columns.categories) and columns.categories[0][1] <= MAX_GROUPS
    color = columns.main if few_values else None
    plan = (
        ChartSpec("scatter", x=first, y=(second,), color_by=color),
        f"'{first}' and '{second}' are the most correlated pair (r = {pairs[0]['r']:.2f})",
    )
    if abs(pairs[0]["r"]) >= MIN_NOTABLE_CORRELATION:
        return [plan], []
    return [], [plan]


def _plan_line(frame: pd.DataFrame, columns: _Columns) -> tuple[list[Plan], list[Plan]]:
    """A date column: the main measure (or the number of rows) over time."""
    if not columns.dates:
        return [], []
    numeric, date = columns.numeric, columns.dates[0]
    y = (numeric[0],) if numeric else ()
    what = f"the mean of '{numeric[0]}'" if numeric else "the number of rows"
    return [(ChartSpec("line", x=date, y=y), f"'{date}' holds dates: {what} over time")], []


def _plan_box(frame: pd.DataFrame, columns: _Columns) -> list[Plan]:
    """The first extra: how the main measure differs between the main category's values."""
    numeric, main = columns.numeric, columns.main
    if not numeric or main is None:
        return []
    why = f"how '{numeric[0]}' differs between the values of '{main}'"
    return [(ChartSpec("box", x=main, y=(numeric[0],)), why)]
