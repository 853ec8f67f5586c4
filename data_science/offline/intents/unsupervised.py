"""Clustering, anomalies and time series: how many groups, which method, which date and value
columns, how far ahead."""

from __future__ import annotations

from typing import Any

from data_science.offline.intents.context import Context, Plan, ask

METHODS = [
    ("dbscan", r"\bdbscan\b|\bdensity\b"),
    ("agglomerative", r"\bagglomerative\b|\bhierarch|\bward\b|\bdendrogram\b"),
    ("gaussian_mixture", r"\bgaussian\b|\bmixture\b|\bgmm\b"),
    ("kmeans", r"\bk ?means\b"),
]
LINKAGES = [("average", r"\baverage linkage\b"), ("complete", r"\bcomplete linkage\b")]
GROUP_WORDS = (
    "clusters", "cluster", "groups", "group", "segments", "segment", "classes", "components",
)  # fmt: skip
TIME_UNITS = (
    "days", "day", "weeks", "week", "months", "month", "years", "year", "quarters", "quarter",
    "steps", "step", "periods", "period", "hours", "hour", "points", "ahead", "observations",
)  # fmt: skip


def _numeric_mentions(ctx: Context) -> list[str] | None:
    numeric = [name for name in ctx.columns if ctx.schema.numeric(name)]
    return numeric or None


def plan_cluster(ctx: Context, base: dict[str, Any]) -> Plan:
    method = next((name for name, pattern in METHODS if ctx.free.has(pattern)), None)
    method = method or base.get("method")
    k = ctx.u.number_before(*GROUP_WORDS) or ctx.u.number_after("k", "into")
    if k is None and base and not ctx.columns:
        k = ctx.lone_number()
    k = k or base.get("n_clusters")
    linkage = next((name for name, pattern in LINKAGES if ctx.u.has(pattern)), None)
    eps = next((n.value for n in ctx.u.numbers if n.previous_word in {"eps", "epsilon"}), None)
    return ctx.call(
        "cluster",
        dataset_id=ctx.dataset_id,
        n_clusters=None if method == "dbscan" else k,
        columns=_numeric_mentions(ctx) or base.get("columns"),
        method=method,
        linkage=linkage or base.get("linkage"),
        eps=eps if method == "dbscan" else None,
    )


def plan_choose_k(ctx: Context, base: dict[str, Any]) -> Plan:
    return ctx.call(
        "choose_k",
        dataset_id=ctx.dataset_id,
        columns=_numeric_mentions(ctx) or base.get("columns"),
        max_k=ctx.u.number_after("to", "max", "maximum"),
    )


def plan_anomalies(ctx: Context, base: dict[str, Any]) -> Plan:
    share = ctx.u.percent()
    if share is None:
        share = next(
            (n.value for n in ctx.u.numbers if n.previous_word == "contamination"),
            base.get("contamination"),
        )
    return ctx.call(
        "find_anomalies",
        dataset_id=ctx.dataset_id,
        columns=_numeric_mentions(ctx) or base.get("columns"),
        contamination=share,
    )


def _series(ctx: Context, base: dict[str, Any]) -> tuple[str | None, str | None, Plan | None]:
    """The time column and the value column of a series request, or a question."""
    schema = ctx.schema
    named_dates = [name for name in ctx.columns if schema.date_like(name)]
    candidates = schema.dates()
    time = next(iter(named_dates), None) or base.get("time_column")
    if time is None and len(candidates) == 1:
        time = candidates[0]
    if time is None:
        listing = (
            ctx.listing(candidates) if candidates else f"none of {ctx.listing()} looks like one"
        )
        return None, None, ask(f"Which column holds the dates? Date columns: {listing}.")
    values = [name for name in ctx.columns if schema.numeric(name) and name != time]
    value = next(iter(values), None) or base.get("value_column")
    numeric = [name for name in schema.numerics() if name != time and not name.endswith("id")]
    if value is None and len(numeric) == 1:
        value = numeric[0]
    if value is None:
        return (
            time,
            None,
            ask(f"Which column should I follow over time? Numbers: {ctx.listing(numeric)}."),
        )
    return time, value, None


def plan_forecast(ctx: Context, base: dict[str, Any]) -> Plan:
    time, value, question = _series(ctx, base)
    if question:
        return question
    stated = [n for n in ctx.u.numbers if n.next_word in TIME_UNITS and n.value == int(n.value)]
    horizon = int(stated[-1].value) if stated else ctx.u.number_after("next", "horizon")
    if horizon is None and base:
        horizon = ctx.lone_number()
    return ctx.call(
        "forecast",
        dataset_id=ctx.dataset_id,
        time_column=time,
        value_column=value,
        horizon=horizon or base.get("horizon"),
        season_length=_season(ctx) or base.get("season_length"),
    )


def plan_decompose(ctx: Context, base: dict[str, Any]) -> Plan:
    time, value, question = _series(ctx, base)
    if question:
        return question
    return ctx.call(
        "decompose_series",
        dataset_id=ctx.dataset_id,
        time_column=time,
        value_column=value,
        season_length=_season(ctx),
    )


def _season(ctx: Context) -> int | None:
    return ctx.u.number_after("length", "seasonality", "season", "period")
