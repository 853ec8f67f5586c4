"""Chart requests: one chart (`plot`), an automatic overview (`auto_charts`), model charts
(`plot_model`), and "plot it" after another step.

Columns are given roles by where they stand: "A against B" puts A on y and B on x; columns after
"by"/"per"/"for each" become the category axis of a bar, box or violin chart, the colour of a
histogram, scatter or line, or the time axis of a line when they hold dates.
"""

from __future__ import annotations

from typing import Any

from data_science.offline.intents.context import Context, Plan, ask
from data_science.offline.intents.history import Call

KINDS = [
    ("heatmap", r"\bheat ?map|\bcorrelation matrix\b"),
    ("violin", r"\bviolin"),
    ("box", r"\bbox|\bwhisker"),
    ("pie", r"\bpie\b"),
    ("area", r"\barea (chart|plot|graph)\b|\bstacked\b"),
    ("scatter", r"\bscatter"),
    ("line", r"\bline\b|\bover time\b|\btime series\b"),
    ("bar", r"\bbar|\bbarchart\b"),
    ("histogram", r"\bhistogram|\bhist\b|\bdistribution|\bdistributed\b"),
]
AGGREGATES = [
    ("mean", r"\b(average|mean|avg)\b"),
    ("sum", r"\b(total|sum)\b"),
    ("median", r"\bmedian\b"),
]
OVER_TIME = r"\bover time\b|\btrend\b|\btime series\b|\bover the years\b|\bmonthly\b|\bdaily\b"
OVERVIEW = (
    r"\b(data|dataset|everything|all|overview|some|few|charts|graphs|plots|file|table|"
    r"automatic|auto|explore)\b"
)
MODEL_CHARTS = [
    ("confusion_matrix", r"\bconfusion\b"),
    ("roc_curve", r"\broc\b|\bauc\b"),
    ("residuals", r"\bresidual|\bactual\b.*\bpredicted\b|\bpredicted\b.*\bactual\b|\berrors\b"),
    ("feature_importance", r"\bimportan|\bmatter"),
]
CHARTED = frozenset(
    {"plot", "auto_charts", "plot_model", "cluster", "choose_k", "forecast", "decompose_series"}
)


def chart_kind(ctx: Context) -> str | None:
    return next((kind for kind, pattern in KINDS if ctx.free.has(pattern)), None)


def aggregate(ctx: Context) -> str | None:
    return next((name for name, pattern in AGGREGATES if ctx.free.has(pattern)), None)


def plan_plot(ctx: Context, base: dict[str, Any]) -> Plan:
    kind = chart_kind(ctx)
    subjects, by = ctx.split_by()
    if kind == "heatmap":
        numeric = [name for name in subjects if ctx.schema.numeric(name)]
        return ctx.call("plot", dataset_id=ctx.dataset_id, kind="heatmap", y=numeric or None)
    if not subjects and base.get("kind"):
        subjects, inherited_by = _roles(base)
        by = by or inherited_by
        kind = kind or str(base["kind"])
    if not subjects and not by:
        if ctx.previous and (ctx.pronoun or not kind):
            from_step = plot_previous(ctx, ctx.previous)
            if from_step is not None:
                return from_step
        overview = ctx.u.has(OVERVIEW) or len(ctx.u.words) == 1
        if kind is None and overview and not ctx.pronoun and not ctx.ambiguous:
            return ctx.call("auto_charts", dataset_id=ctx.dataset_id)
        return ctx.ambiguity("column") or _which_column(ctx, kind)
    return draw(ctx, kind, subjects, by) or _which_column(ctx, kind)


def draw(ctx: Context, kind: str | None, subjects: list[str], by: list[str]) -> Plan | None:
    """A `plot` call for `kind` (inferred from the columns' types when None), or None."""
    schema = ctx.schema
    numeric = [name for name in subjects if schema.numeric(name) and not schema.date_like(name)]
    others = [name for name in subjects if name not in numeric]
    dates = [name for name in [*by, *subjects] if schema.date_like(name)]
    groups = [name for name in by if name not in dates] + [n for n in others if n not in dates]
    over_time = bool(dates) or ctx.u.has(OVER_TIME)
    rate = bool(numeric) and bool(groups) and schema.binary(numeric[0])
    if kind is None:
        # "plot survived by class": the survival rate per class, not the spread of 0s and 1s.
        kind = "bar" if rate else _infer(numeric, groups, over_time and bool(schema.dates()))
    args: dict[str, Any] = {"dataset_id": ctx.dataset_id, "kind": kind}
    if kind == "histogram":
        first = (subjects or by)[0]
        colour = next((name for name in by if name != first), None)
        args.update(x=first, color_by=colour)
    elif kind == "scatter":
        if len(numeric) < 2:
            return None
        args.update(y=numeric[0], x=numeric[1], color_by=groups[0] if groups else None)
    elif kind in {"line", "area"}:
        time = dates[0] if dates else next(iter(schema.dates()), None)
        if time is None or not numeric:
            return None
        y: str | list[str] = numeric[0] if len(numeric) == 1 else numeric
        args.update(x=time, y=y, color_by=groups[0] if groups else None)
    elif kind in {"bar", "pie"}:
        category = groups[0] if groups else (subjects or by)[0]
        value = numeric[0] if numeric and category not in numeric else None
        agg = aggregate(ctx) or ("mean" if rate else None)
        args.update(x=category, y=value, agg=agg if value else None)
    elif kind in {"box", "violin"}:
        if groups and numeric:
            args.update(x=groups[0], y=numeric[0])
        else:
            args.update(x=(numeric or subjects)[0])
    return ctx.call("plot", **args)


def _infer(numeric: list[str], groups: list[str], over_time: bool) -> str:
    if numeric and over_time:
        return "line"
    if len(numeric) >= 2:
        return "scatter"
    if numeric and groups:
        return "box"
    return "histogram" if numeric else "bar"


def _roles(args: dict[str, Any]) -> tuple[list[str], list[str]]:
    """An earlier plot's columns as (subjects, by), so it can be redrawn another way."""
    y = args.get("y")
    ys = [y] if isinstance(y, str) else list(y or [])
    x, colour = args.get("x"), args.get("color_by")
    colours = [colour] if colour else []
    if args.get("kind") in {"box", "violin", "bar", "pie", "line", "area"} and ys:
        return ys, [x, *colours] if x else colours
    return [*ys, x] if x else ys, colours


def _which_column(ctx: Context, kind: str | None) -> Plan:
    numeric = ctx.schema.numerics()
    example = f' For example: "plot a histogram of {numeric[0]}".' if numeric else ""
    needs = "two numeric columns" if kind == "scatter" else "column"
    return ask(
        f"Which {needs} should I plot? Numeric columns: {ctx.listing(numeric)}; other columns: "
        f"{ctx.listing([n for n in ctx.schema.columns if n not in numeric])}.{example}"
    )


def plot_previous(ctx: Context, step: Call) -> Plan | None:
    """The chart that shows the result of the previous step ("now plot it"), or None."""
    args, name = step.args, step.name
    if name == "value_counts" and args.get("column"):
        return draw(ctx, None, [str(args["column"])], [])
    if name == "describe_distribution" and args.get("column"):
        return draw(ctx, "histogram", [str(args["column"])], [])
    if name == "group_by" and args.get("group_columns"):
        values = list(args.get("value_columns") or [])
        plan = draw(ctx, "bar", values[:1], list(args["group_columns"])[:1])
        agg = next(iter(args.get("aggregations") or []), None)
        if plan and values and agg in {"mean", "sum", "median"}:
            plan.args["agg"] = agg
        return plan
    if name == "correlations":
        columns = list(args.get("columns") or [])
        if len(columns) == 2:
            return draw(ctx, "scatter", columns, [])
        return ctx.call("plot", dataset_id=ctx.dataset_id, kind="heatmap", y=columns or None)
    if name == "hypothesis_test" and args.get("column") and args.get("group_column"):
        column, group = str(args["column"]), str(args["group_column"])
        if args.get("test") == "chi_square":
            return draw(ctx, "histogram", [column], [group])
        return draw(ctx, "box", [column], [group])
    labels = {"cluster": "cluster", "find_anomalies": "anomaly"}
    used = list(step.result.get("columns_used") or args.get("columns") or [])
    if name in labels and step.output_dataset and len(used) >= 2:
        return ctx.call(
            "plot",
            dataset_id=step.output_dataset,
            kind="scatter",
            x=used[0],
            y=used[1],
            color_by=labels[name],
        )
    if name in CHARTED:
        return Plan(text="The chart of that step is shown above.", reply="info")
    if name in {"analyze_dataset", "preview_rows", "suggest_next_steps"} or step.output_dataset:
        return ctx.call("auto_charts", dataset_id=step.output_dataset or ctx.dataset_id)
    model = step.result.get("model_id") or args.get("model_id")
    if model:
        return plan_model_chart(ctx, {"model_id": model, "task": step.result.get("task")})
    return None


def plan_model_chart(ctx: Context, base: dict[str, Any]) -> Plan:
    """`plot_model` for the named or latest model; feature importance without a model ranks
    features instead (`select_features`)."""
    from data_science.offline.intents.modeling import pick_model, plan_select_features

    kind = next((name for name, pattern in MODEL_CHARTS if ctx.u.has(pattern)), None)
    model = pick_model(ctx, base)
    target = model.get("target") if model else None
    named = [name for name in ctx.columns if name != target]
    if kind == "feature_importance" and (model is None or named):
        return plan_select_features(ctx, {})
    if model is None:
        return ask(
            "There is no trained model yet: which column should I train one to predict? "
            f"Columns: {ctx.listing()}."
        )
    if kind is None:
        task = base.get("task") or (
            "regression" if ctx.schema.types.get(str(target)) == "number" else "classification"
        )
        kind = "residuals" if task == "regression" else "confusion_matrix"
    return ctx.call("plot_model", model_id=model["id"], kind=kind)
