"""Drawing one chart: check the spec, hand it to its kind, and return the PNG with what the
reader should know (including arguments the kind does not use).

Pure functions with no ADK import, using matplotlib's object API (thread- and process-safe), so
they run in a worker process.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from matplotlib.figure import Figure

from data_science.errors import ToolError
from data_science.ml.charts.canvas import (
    AGGREGATES,
    CHART_KINDS,
    Chart,
    ChartSpec,
    Drawn,
    figure_png,
)
from data_science.ml.charts.distributions import (
    bin_edges,
    draw_bar,
    draw_box,
    draw_counted_histogram,
    draw_histogram,
    draw_pie,
    draw_violin,
)
from data_science.ml.charts.relations import draw_area, draw_heatmap, draw_line, draw_scatter
from data_science.ml.common import is_numeric
from data_science.ml.large import histogram_counts, numeric_summary
from data_science.storage.large import LargeTable, empty_frame, sample_facts
from data_science.storage.tables import TableFile

FIGURE_SIZE = (9.0, 5.5)
SQUARE_SIZE = (8.0, 7.0)
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
DRAWERS: dict[str, Callable[[Figure, pd.DataFrame, ChartSpec], Drawn]] = {
    "histogram": draw_histogram,
    "scatter": draw_scatter,
    "line": draw_line,
    "area": draw_area,
    "bar": draw_bar,
    "box": draw_box,
    "violin": draw_violin,
    "heatmap": draw_heatmap,
    "pie": draw_pie,
}


def render_chart(table: TableFile, spec: ChartSpec) -> Chart:
    """Load the table and draw `spec` on it.

    A large table is never loaded whole: a histogram of a number is binned and counted over
    its file, every other chart is drawn on its seeded sample, which the chart states."""
    if not isinstance(table, LargeTable):
        return draw_chart(table.load(), spec)
    types = empty_frame(table)
    if spec.kind == "histogram" and spec.x and not spec.color_by and is_numeric(types[spec.x]):
        return _large_histogram(table, spec, pd.api.types.is_integer_dtype(types[spec.x]))
    used = [spec.x, spec.color_by, *spec.y] if spec.kind != "heatmap" or spec.y else []
    columns = [name for name in dict.fromkeys(used) if name is not None] or None
    return sampled_chart(draw_chart(table.sample(columns), spec), table)


def sampled_chart(chart: Chart, table: LargeTable) -> Chart:
    """`chart`, drawn on the table's sample, saying so in its notes and facts."""
    rows = min(table.sample_rows, table.rows)
    chart.notes.insert(
        0, f"drawn on a random sample of {rows:,} of {table.rows:,} rows (seed {table.seed})"
    )
    chart.facts.update(sample_facts(rows, table.rows, table.seed))
    return chart


def _large_histogram(table: LargeTable, spec: ChartSpec, integers: bool) -> Chart:
    """The histogram `draw_histogram` draws of numeric `spec.x`, with bins from DuckDB's count,
    extremes and quartiles, and counts taken a batch of the file at a time."""
    x = str(spec.x)
    count, low, high, q25, q75 = numeric_summary(table, x)
    if not count:
        raise ToolError(f"'{x}' has no values to draw.", code="empty_column")
    edges = bin_edges(count, (low, high, q25, q75), integers)
    counts = histogram_counts(table, x, edges)
    figure = Figure(figsize=FIGURE_SIZE, dpi=100, layout="constrained")
    drawn = draw_counted_histogram(figure, x, edges, counts, integers)
    drawn.notes[:0] = _ignored_arguments(spec)
    return Chart(figure_png(figure), drawn.title, drawn.rows_used, drawn.notes, drawn.facts)


def draw_chart(frame: pd.DataFrame, spec: ChartSpec) -> Chart:
    """Draw `spec` on `frame`; an unknown kind or aggregate is refused with the known ones."""
    drawer = DRAWERS.get(spec.kind)
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
    """Notes naming the given arguments this kind does not read, so none is silently dropped."""
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
