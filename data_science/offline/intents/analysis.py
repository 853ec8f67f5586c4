"""Looking at data: profile, rows, distributions, correlations, tests, counts and group-bys."""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.context import Context, Plan, ask
from data_science.offline.intents.options import spread_options

AGGREGATIONS = [
    # The mean of a 0/1 column is its rate: "survival rate", "what share survived".
    ("mean", r"\b(average|mean|avg|rate|share|proportion|percentage|fraction)\b"),
    ("median", r"\bmedian\b"),
    ("sum", r"\b(total|sum)\b"),
    ("min", r"\b(min|minimum|lowest|smallest)\b"),
    ("max", r"\b(max|maximum|highest|largest|biggest)\b"),
    ("std", r"\b(std|standard deviation|spread|variability)\b"),
]
COUNTING = r"\bcounts?\b|\bhow many\b|\bnumber of\b|\bfrequenc|\bmost (common|frequent|popular)\b"
TESTS = [
    ("t_test", r"\bt ?test\b|\bttest\b"),
    ("chi_square", r"\bchi\b|\bindependen"),
    ("anova", r"\banova\b"),
]
TWO_GROUPS = r"\bbetween (\w+ ){1,3}and\b|\btwo groups\b|\bboth groups\b"


def plan_profile(ctx: Context, base: dict[str, Any]) -> Plan:
    std = spread_options(ctx.free).get("std")
    return ctx.call("analyze_dataset", dataset_id=ctx.dataset_id, std=std)


def plan_preview(ctx: Context, base: dict[str, Any]) -> Plan:
    u = ctx.free
    dataset = ctx.dataset_id
    step = ctx.previous
    if ctx.pronoun and step is not None and step.output_dataset:
        dataset = step.output_dataset
    n = ctx.u.number_before("rows", "records", "lines", "entries", "examples", "reviews")
    n = n or ctx.u.number_after("first", "last", "top", "bottom", "head", "tail", "show")
    position = None
    if u.has(r"\b(last|bottom|tail|end)\b"):
        position = "tail"
    elif u.has(r"\b(random|sample|shuffle|randomly)\b"):
        position = "random"
    return ctx.call(
        "preview_rows", dataset_id=dataset, n=n, position=position, columns=ctx.columns or None
    )


def plan_distribution(ctx: Context, base: dict[str, Any]) -> Plan:
    column = next(iter(ctx.columns), None) or base.get("column")
    return ctx.call(
        "describe_distribution",
        dataset_id=ctx.dataset_id,
        column=column,
        **spread_options(ctx.free),
    )


def plan_correlations(ctx: Context, base: dict[str, Any]) -> Plan:
    categorical = [name for name in ctx.columns if ctx.schema.categorical(name)]
    if len(categorical) >= 2:
        return ctx.call(
            "hypothesis_test",
            dataset_id=ctx.dataset_id,
            test="chi_square",
            column=categorical[0],
            group_column=categorical[1],
        )
    numeric = [name for name in ctx.columns if ctx.schema.numeric(name)]
    method = "spearman" if ctx.u.has(r"\b(spearman|rank)\b") else None
    method = "pearson" if ctx.u.has(r"\bpearson\b") else method
    return ctx.call(
        "correlations",
        dataset_id=ctx.dataset_id,
        columns=numeric if len(numeric) >= 2 else None,
        method=method or base.get("method"),
    )


def plan_test(ctx: Context, base: dict[str, Any]) -> Plan:
    named = ctx.columns or [str(base[key]) for key in ("column", "group_column") if base.get(key)]
    test = next((name for name, pattern in TESTS if ctx.u.has(pattern)), None)
    schema = ctx.schema
    categorical = [name for name in named if schema.categorical(name)]
    numeric = [name for name in named if schema.numeric(name)]
    if test == "chi_square" or (len(categorical) >= 2 and not numeric):
        if len(categorical) < 2:
            return ask(
                "Which two category columns should I test for independence? Categories: "
                f"{ctx.listing(schema.categories())}."
            )
        return ctx.call(
            "hypothesis_test",
            dataset_id=ctx.dataset_id,
            test="chi_square",
            column=categorical[0],
            group_column=categorical[1],
        )
    if len(numeric) >= 2 and not categorical:
        categorical = _numeric_groups(ctx, numeric)
        numeric = [name for name in numeric if name not in categorical]
    if not numeric or not categorical:
        return ask(
            "Which numeric column should I compare, and across which groups? For example: "
            '"is body mass different between species". Numeric columns: '
            f"{ctx.listing(schema.numerics())}; groups: {ctx.listing(schema.categories())}."
        )
    group = categorical[0]
    if test is None:
        two = schema.types.get(group) == "boolean" or _two_groups(ctx, group)
        test = "t_test" if two else "anova"
    return ctx.call(
        "hypothesis_test",
        dataset_id=ctx.dataset_id,
        test=test,
        column=numeric[0],
        group_column=group,
    )


def _two_groups(ctx: Context, group: str) -> bool:
    """ "between males and females": two values of one column, not two columns."""
    match = re.search(TWO_GROUPS, ctx.u.text)
    if match is None:
        return False
    start = ctx.u.text[: match.start() + 1].count(" ") - 1
    end = start + len(match.group().split())
    inside = {m.column for m in ctx.mentions if start <= m.start < end}
    return inside <= {group}


def plan_aggregate(ctx: Context, base: dict[str, Any]) -> Plan:
    """`group_by` when values are summarised per group, `value_counts` for one column's counts."""
    subjects, by = ctx.split_by()
    free = ctx.free
    aggregations = [name for name, pattern in AGGREGATIONS if free.has(pattern)]
    values = [name for name in subjects if ctx.schema.numeric(name)]
    groups = by + [name for name in subjects if name not in values]
    if not ctx.mentions and base:
        if "column" in base:
            top = ctx.u.number_after("top", "first") or base.get("top_k")
            return ctx.call(
                "value_counts", dataset_id=ctx.dataset_id, column=base["column"], top_k=top
            )
        kept = aggregations or base.get("aggregations")
        return _group_by(ctx, list(base["group_columns"]), base.get("value_columns"), kept)
    if base.get("group_columns") and by and not aggregations and not values:
        added = ctx.u.has(r"\b(too|also|as well|and)\b")
        groups = [*base["group_columns"], *by] if added else by
        return _group_by(ctx, groups, base.get("value_columns"), base.get("aggregations"))
    counting = free.has(COUNTING) or "column" in base
    explicit = free.has(r"\bgroup(ed)? by\b|\bpivot\b|\baggregat")
    if counting and not aggregations and not values and len(groups) == 1 and not explicit:
        top = ctx.u.number_after("top", "first") or base.get("top_k")
        return ctx.call("value_counts", dataset_id=ctx.dataset_id, column=groups[0], top_k=top)
    if not groups:
        return ctx.ambiguity("column") or ask(
            "Which column should I group or count by? Categories: "
            f"{ctx.listing(ctx.schema.categories())}."
        )
    return _group_by(ctx, groups, values or None, aggregations or None)


def _group_by(
    ctx: Context, groups: list[str], values: list[str] | None, aggregations: list[str] | None
) -> Plan:
    std = spread_options(ctx.free).get("std") if "std" in (aggregations or []) else None
    return ctx.call(
        "group_by",
        dataset_id=ctx.dataset_id,
        group_columns=list(dict.fromkeys(groups)),
        value_columns=values,
        aggregations=aggregations,
        std=std,
    )


def _numeric_groups(ctx: Context, numeric: list[str]) -> list[str]:
    """Whole-number columns used as groups ("between the classes" of an integer `target`)."""
    cut = ctx.u.find(r"\b(between|across|among|by|per|for each)\b")
    after = [m.column for m in ctx.mentions if cut >= 0 and m.start > cut and m.column in numeric]
    grouping = [name for name in after if ctx.schema.types.get(name) == "integer"]
    target = ctx.schema.target_like()
    return grouping or ([target] if target in numeric else [])
