"""Cleaning and preparing data: each request becomes one tool that writes a new dataset."""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.columns import find_mentions
from data_science.offline.intents.context import Context, Plan, ask
from data_science.offline.intents.text import VOCABULARY, normalise

STRATEGIES = [
    ("knn", r"\bknn\b|\bnearest\b|\bneighbo"),
    ("iterative", r"\biterative\b|\bmice\b|\bregression\b|\bmodel based\b"),
    ("most_frequent", r"\bmost (frequent|common)\b|\bmode\b"),
    ("mean", r"\b(mean|average)\b"),
    ("median", r"\bmedian\b"),
]
TYPES = [
    ("datetime", r"\b(dates?|datetime|timestamps?|time)\b"),
    ("integer", r"\b(integers?|int|whole numbers?)\b"),
    ("number", r"\b(numbers?|numeric|floats?|decimals?|double)\b"),
    ("text", r"\b(text|strings?|str)\b"),
    ("category", r"\b(categor(y|ies|ical)|factor)\b"),
    ("boolean", r"\b(booleans?|bool|true false|flag|yes no)\b"),
]
ROWS = (
    r"\b(rows?|records?|entries|lines|where|whose|if|when|who|that (are|were|is|was|have|had)|"
    r"which (are|were|is|was|have|had))\b"
)
REMOVAL = r"\b(remove|drop|delete|get rid|eliminate|filter out|exclude)\b"
FILLERS = frozenset({"the", "a", "an", "its", "their", "value", "values", "using", "strategy"})
RENAME_PAIR = re.compile(r"(.+?)\s+(?:to|as|into|->|=>)\s+(\S+)")


def plan_impute(ctx: Context, base: dict[str, Any]) -> Plan:
    free = ctx.free
    strategy = next((name for name, pattern in STRATEGIES if free.has(pattern)), None)
    fill = _fill_value(ctx)
    if fill is not None:
        strategy = "constant"
    return ctx.call(
        "impute_missing",
        dataset_id=ctx.dataset_id,
        columns=ctx.columns or base.get("columns"),
        strategy=strategy or base.get("strategy"),
        fill_value=fill,
    )


def _fill_value(ctx: Context) -> str | None:
    """ "with 0", "with zero", "with 'unknown'", "with unknown"."""
    if ctx.u.quoted:
        return ctx.u.quoted[0]
    words = ctx.free.corrected
    for index, word in enumerate(words[:-1]):
        if word not in {"with", "by", "as"}:
            continue
        following = [w for w in words[index + 1 :] if w not in FILLERS]
        rest = f" {' '.join(following)} "
        if not following or any(re.search(pattern, rest) for _, pattern in STRATEGIES):
            return None
        value = following[0]
        if value == "zero":
            return "0"
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return f"{float(value):g}"
        if value.isalpha() and value not in VOCABULARY:
            return value
    return None


def plan_drop(ctx: Context, base: dict[str, Any]) -> Plan:
    if ctx.free.has(ROWS) and not ctx.free.has(r"\bcolumns?\b"):
        from data_science.offline.intents.rows import plan_filter  # rows.py plans group-bys

        return plan_filter(ctx, {})  # rows to remove: the others are kept
    step = ctx.previous
    if not ctx.columns and ctx.pronoun and step and step.name == "describe_distribution":
        column = step.args.get("column")
        return ctx.call(
            "handle_outliers",
            dataset_id=ctx.dataset_id,
            columns=[column] if column else None,
            action="remove",
        )
    if not ctx.columns:
        return ctx.ambiguity("column") or ask(
            f"Which columns should I drop? Columns: {ctx.listing()}."
        )
    return ctx.call("drop_columns", dataset_id=ctx.dataset_id, columns=ctx.columns)


def plan_rename(ctx: Context, base: dict[str, Any]) -> Plan:
    """ "rename A to B and C to D": the old names are matched to columns, the new ones kept as
    typed."""
    raw = re.split(r"(?i)\brename\b", ctx.u.raw, maxsplit=1)[-1]
    mapping: dict[str, str] = {}
    for piece in re.split(r"\s*(?:,|;|\band\b)\s*", raw.strip()):
        match = RENAME_PAIR.fullmatch(piece.strip().strip(".!?"))
        if match is None:
            continue
        old_words = normalise(match.group(1)).split()
        found, _ = find_mentions(old_words, ctx.schema.columns)
        if found:
            mapping[found[0].column] = match.group(2).strip("'\"`.,!?")
    if not mapping:
        return ask(
            'Which column should I rename, and to what? For example: "rename '
            f'{next(iter(ctx.schema.columns), "old_name")} to new_name".'
        )
    return ctx.call("rename_columns", dataset_id=ctx.dataset_id, mapping=mapping)


def plan_cast(ctx: Context, base: dict[str, Any]) -> Plan:
    kind = next((name for name, pattern in TYPES if ctx.free.has(pattern)), None)
    column = next(iter(ctx.columns), None) or base.get("column")
    if column is None:
        return ctx.ambiguity("column") or ask(
            f"Which column should I convert, and to what type? Columns: {ctx.listing()}."
        )
    if kind is None:
        return ask(
            f"Which type should `{column}` become: integer, number, text, datetime, category "
            "or boolean?"
        )
    return ctx.call("cast_column", dataset_id=ctx.dataset_id, column=column, to=kind)


def plan_dedupe(ctx: Context, base: dict[str, Any]) -> Plan:
    keep = None
    if ctx.free.has(r"\b(last|latest|newest|most recent)\b"):
        keep = "last"
    elif ctx.free.has(r"\b(none|all copies|every copy|both|all of them)\b"):
        keep = "none"
    return ctx.call(
        "remove_duplicates", dataset_id=ctx.dataset_id, columns=ctx.columns or None, keep=keep
    )


def plan_outliers(ctx: Context, base: dict[str, Any]) -> Plan:
    free = ctx.free
    method = "zscore" if free.has(r"\bz ?scores?\b|\bstandard deviations?\b|\bsigmas?\b") else None
    method = "iqr" if free.has(r"\biqr\b|\binterquartile\b") else method
    action = "remove" if free.has(REMOVAL) else None
    action = "clip" if free.has(r"\b(clip|cap|capping|winsori[sz]e)\b") else action
    threshold = ctx.u.number_before("standard", "sd", "sds", "std", "sigma", "sigmas", "iqr")
    threshold = threshold or ctx.u.number_after("threshold")
    numeric = [name for name in ctx.columns if ctx.schema.numeric(name)]
    return ctx.call(
        "handle_outliers",
        dataset_id=ctx.dataset_id,
        columns=numeric or base.get("columns"),
        method=method or base.get("method"),
        action=action or base.get("action"),
        threshold=threshold,
    )


def plan_scale(ctx: Context, base: dict[str, Any]) -> Plan:
    free = ctx.free
    method = None
    if free.has(r"\bmin ?max\b|\b0 (to|and) 1\b|\bnormali[sz]|\brange\b"):
        method = "minmax"
    elif free.has(r"\brobust\b"):
        method = "robust"
    numeric = [name for name in ctx.columns if ctx.schema.numeric(name)]
    return ctx.call(
        "scale_columns",
        dataset_id=ctx.dataset_id,
        columns=numeric or base.get("columns"),
        method=method or base.get("method"),
    )


def plan_encode(ctx: Context, base: dict[str, Any]) -> Plan:
    free = ctx.free
    method = None
    target = None
    columns = ctx.columns
    if free.has(r"\bordinal\b|\blabel encod|\binteger codes?\b"):
        method = "ordinal"
    elif free.has(r"\b(target|mean) encod"):
        method = "target"
        cue = ctx.u.find(r"\b(using|with|by|for|on|against)\b")
        after = [m.column for m in ctx.mentions if cue >= 0 and m.start > cue]
        target = after[0] if after else None
        columns = [name for name in columns if name != target]
        if target is None:
            return ask("Which column should the target encoding use as the target?")
    if not columns and free.has(r"\b(categorical|categories|category|text|string|all|every)\b"):
        columns = ctx.schema.categories()
    if not columns:
        return ctx.ambiguity("column") or ask(
            f"Which columns should I encode? Categories: {ctx.listing(ctx.schema.categories())}."
        )
    return ctx.call(
        "encode_columns", dataset_id=ctx.dataset_id, columns=columns, method=method, target=target
    )


def plan_dates(ctx: Context, base: dict[str, Any]) -> Plan:
    dates = [name for name in ctx.columns if ctx.schema.date_like(name)]
    column = next(iter(dates or ctx.columns), None)
    candidates = ctx.schema.dates()
    if column is None and len(candidates) == 1:
        column = candidates[0]
    if column is None:
        return ask(
            f"Which date column should I split into parts? Date columns: {ctx.listing(candidates)}."
        )
    return ctx.call("expand_dates", dataset_id=ctx.dataset_id, column=column)


def plan_tfidf(ctx: Context, base: dict[str, Any]) -> Plan:
    texts = [name for name in ctx.schema.columns if ctx.schema.free_text(name)]
    column = next(iter(ctx.columns), None) or (texts[0] if len(texts) == 1 else None)
    if column is None:
        return ask(
            f"Which text column should I turn into TF-IDF features? Columns: {ctx.listing()}."
        )
    size = ctx.u.number_before("features", "words", "terms", "columns", "tokens")
    size = size or ctx.u.number_after("top", "max", "maximum")
    return ctx.call("text_to_tfidf", dataset_id=ctx.dataset_id, column=column, max_features=size)
