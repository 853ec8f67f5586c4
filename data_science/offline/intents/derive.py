"""New columns (`derive_column`): "add a column price_per_carat = price / carat", "flag the rows
where dep_delay > 15", "bin age into 4 groups", "the month of date", "the length of the review".

The new column's name is the word after "column" (or before "="), kept as typed; without one it
is made from the operation ("age_bin", "review_text_length"). Its words name no existing column
("price_per_carat" is not `price` and `carat`), so operands are looked for elsewhere.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from data_science.offline.intents.columns import Mention
from data_science.offline.intents.conditions import NUMBER, read_after, values
from data_science.offline.intents.context import Context, Plan, ask

NAMES = [
    re.compile(
        r"\b(?:column|variable|field|feature|flag|indicator)\s+(?:called\s+|named\s+)?"
        r"([A-Za-z_]\w*)",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:called|named)\s+([A-Za-z_]\w*)", re.IGNORECASE),
    re.compile(
        r"^\s*(?:please\s+)?(?:add|create|make|compute|calculate|derive)\s+(?:a\s+)?(?:new\s+)?"
        r"([A-Za-z_]\w*)\s*(?:=|\bas\b|\bequal to\b|\bequals\b|\bthat is\b)",
        re.IGNORECASE,
    ),
]
NOT_NAMES = frozenset(
    {
        "with", "that", "which", "for", "of", "to", "as", "from", "equal", "equals", "called",
        "named", "is", "where", "whose", "the", "a", "an", "new", "column", "holding", "when",
        "containing", "showing", "if", "true", "in", "on", "by", "giving", "saying", "it",
    }
)  # fmt: skip
PARTS = [
    ("weekday", r"\b(weekday|day of (the )?week)\b"),
    ("quarter", r"\bquarter\b"),
    ("month", r"\bmonth\b"),
    ("year", r"\byear\b"),
    ("hour", r"\bhour\b"),
    ("day", r"\bday\b"),
]
# Between two operands; "over" and "per" divide only two columns ("sales over 150" compares).
ARITHMETIC = [
    ("divide", r"/|÷|divided by"),
    ("multiply", r"\*|\u00d7|x|times|multiplied by"),
    ("add", r"\+|plus"),
    ("subtract", r"-|minus"),
]
BETWEEN_COLUMNS = [("divide", r"over|per|by")]
ROW_WISE = [
    ("mean", r"\b(mean|average)\b"),
    ("sum", r"\b(sum|total)\b"),
    ("min", r"\b(min|minimum|smallest|lowest)\b"),
    ("max", r"\b(max|maximum|largest|highest)\b"),
]
PHRASES = [
    ("divide", r"\bratio (of|between)\b"),
    ("subtract", r"\bdifference (of|between)\b"),
    ("multiply", r"\bproduct of\b"),
]
COMPARE = frozenset({">", ">=", "<", "<=", "==", "!="})
BIN = r"\b(bin|bins|binned|binning|bucket|buckets|bucketi[sz]e|discreti[sz]e|band|bands)\b"
SPLITS = {"tertiles": 3, "terciles": 3, "quartiles": 4, "quintiles": 5, "deciles": 10}
GROUPS = ("groups", "bins", "buckets", "bands", "categories", "intervals", "equal", "quantiles")
EDGES = re.compile(r"\b(?:at|edges?|boundaries|breaks|cut points|thresholds)\b\s*:?\s*", re.I)
LABELS = re.compile(r"\b(?:labell?ed|labels?|called|named)\s*:?\s*(.+)$", re.IGNORECASE)
OPERANDS_QUESTION = (
    "I can combine two columns at a time (or a column and a number): which two should the new "
    'column combine? For example: "add a column ratio = a / b". Combine the result with a third '
    "column in a second step."
)


def plan_derive(ctx: Context, base: dict[str, Any]) -> Plan:
    name, skip, start = _name(ctx)
    mentions, ambiguous = ctx.mentions_without(skip)
    if ambiguous and not mentions:
        first = ambiguous[0]
        return ask(f'Which column do you mean by "{first.word}": {" or ".join(first.columns)}?')
    found = _operation(ctx, mentions, skip, start)
    if isinstance(found, str):
        return ask(found)
    if found is None:
        return ask(_what_column(ctx))
    operation, columns, extra = found
    return ctx.call(
        "derive_column",
        dataset_id=ctx.dataset_id,
        name=name or _default_name(operation, columns, extra),
        operation=operation,
        columns=columns,
        **extra,
    )


def _name(ctx: Context) -> tuple[str | None, set[int], int]:
    """The new column's name as typed, the word positions it takes, and where the rest of the
    request (its definition) starts."""
    for pattern in NAMES:
        for match in pattern.finditer(ctx.u.raw):
            if match.group(1).lower() in NOT_NAMES:
                continue
            start, end = match.span(1)
            skip = {i for i, (a, b) in enumerate(ctx.u.spans) if a >= start and b <= end}
            return match.group(1), skip, end
    return None, set(), 0


def _operation(
    ctx: Context, mentions: list[Mention], skip: set[int], start: int
) -> tuple[str, list[str], dict[str, Any]] | str | None:
    """(operation, columns, other arguments), a question, or None when none is understood."""
    words = " " + " ".join(w for i, w in enumerate(ctx.u.corrected) if i not in skip) + " "
    named = {i for m in mentions for i in range(m.start, m.end)} | skip
    free = " " + " ".join(w for i, w in enumerate(ctx.u.corrected) if i not in named) + " "
    used = [m for m in mentions if ctx.u.spans[m.start][0] >= start] or mentions
    if re.search(BIN, words):
        return _bins(ctx, used)
    part = next((part for part, pattern in PARTS if re.search(pattern, free)), None)
    dates = [m.column for m in used if ctx.schema.date_like(m.column)]
    if part and (dates or len(ctx.schema.dates()) == 1):
        return "date_part", (dates or ctx.schema.dates())[:1], {"part": part}
    for operation, pattern in [
        ("length", r"\b(length|number of (characters|letters|chars)|how long)\b"),
        ("log", r"\b(log|logarithm|ln)\b"),
        ("abs", r"\b(absolute|abs)\b"),
    ]:
        if re.search(pattern, words) and used:
            return operation, [used[0].column], {}
    return _combination(ctx, used, words)


def _combination(
    ctx: Context, used: list[Mention], words: str
) -> tuple[str, list[str], dict[str, Any]] | str | None:
    """Arithmetic ("a / b", "a minus 3"), flags ("a > 15"), row-wise and phrased combinations."""
    arithmetic = _arithmetic(ctx, used)
    if arithmetic is not None:
        return arithmetic
    flag = _flag(ctx, used)
    if flag is not None:
        return flag
    if len(used) >= 2:
        for operation, pattern in ROW_WISE:
            if re.search(pattern, words):
                return operation, [m.column for m in used], {}
        for operation, pattern in PHRASES:
            if re.search(pattern, words):
                return operation, [m.column for m in used[:2]], {}
    return None


def _arithmetic(
    ctx: Context, used: list[Mention]
) -> tuple[str, list[str], dict[str, Any]] | str | None:
    raw = ctx.u.raw
    operands: list[tuple[int, int, Any]] = [
        (ctx.u.spans[m.start][0], ctx.u.spans[m.end - 1][1], m.column) for m in used
    ]
    for match in NUMBER.finditer(raw, operands[0][1] if operands else len(raw)):
        if not any(a <= match.start() < b for a, b, _ in operands) and _standalone(raw, match):
            operands.append((match.start(), match.end(), _as_number(match.group())))
    operands.sort(key=lambda item: item[0])
    links: list[tuple[int, str]] = []
    for index, (left, right) in enumerate(itertools.pairwise(operands)):
        between = raw[left[1] : right[0]].strip().lower()
        columns = isinstance(left[2], str) and isinstance(right[2], str)
        table = ARITHMETIC + (BETWEEN_COLUMNS if columns else [])
        operation = next((op for op, p in table if re.fullmatch(p, between)), None)
        if operation:
            links.append((index, operation))
    if not links:
        return None
    if len(links) > 1:
        return OPERANDS_QUESTION
    index, operation = links[0]
    left, right = operands[index][2], operands[index + 1][2]
    if isinstance(right, str):
        if not isinstance(left, str):
            return (
                OPERANDS_QUESTION
                if operation in {"divide", "subtract"}
                else (operation, [right], {"value": left})
            )
        return operation, [left, right], {}
    return operation, [str(left)], {"value": right}


def _standalone(raw: str, match: re.Match[str]) -> bool:
    """A number on its own, not a piece of a name ("price2") or of a date."""
    before = raw[max(0, match.start() - 1) : match.start()]
    after = raw[match.end() : match.end() + 1]
    return not (before.isalnum() or before == "_" or after.isalnum() or after in {"_", "-"})


def _as_number(text: str) -> int | float:
    value = float(re.sub(r"[$€£,%+]", "", text))
    return int(value) if value.is_integer() else value


def _flag(ctx: Context, used: list[Mention]) -> tuple[str, list[str], dict[str, Any]] | None:
    """ "dep_delay > 15", "true when sales are above 150", "a >= b": a true/false column."""
    for index, mention in enumerate(used):
        following = used[index + 1] if index + 1 < len(used) else None
        end = ctx.u.spans[following.start][0] if following else None
        text = ctx.u.raw[ctx.u.spans[mention.end - 1][1] : end]
        if following is not None and not text.strip(" ,"):
            continue
        found = read_after(ctx, mention.column, text)
        if found is not None and found.op in COMPARE:
            return found.op, [mention.column], {"value": found.value}
        symbol = re.fullmatch(r"\s*(is |are )?(>=|<=|==|!=|>|<|=)\s*", text)
        if following is not None and symbol:
            op = "==" if symbol.group(2) == "=" else symbol.group(2)
            return op, [mention.column, following.column], {}
    return None


def _bins(ctx: Context, used: list[Mention]) -> tuple[str, list[str], dict[str, Any]] | str:
    numeric = [m.column for m in used if ctx.schema.numeric(m.column)]
    if not numeric:
        return f"Which number column should I cut into bins? Columns: {ctx.listing()}."
    raw = ctx.u.raw
    labels_match = LABELS.search(raw)
    labels = None
    if labels_match:
        found = values(ctx, "", labels_match.group(1))
        labels = [str(item) for item in found[0]] if found else None
    edges_at = EDGES.search(raw)
    bins: list[float] | int | None = None
    if edges_at:
        cut = labels_match.start() if labels_match else len(raw)
        numbers = [_as_number(m.group()) for m in NUMBER.finditer(raw[edges_at.end() : cut])]
        bins = numbers if len(numbers) >= 2 else None
    if bins is None:
        bins = ctx.u.number_before(*GROUPS) or next(
            (n for word, n in SPLITS.items() if ctx.u.has(rf"\b{word}\b")), None
        )
    if bins is None:
        return (
            f"How should I cut `{numeric[0]}`: into how many equal-count bins, or at which "
            'edges? For example: "bin age into 4 groups" or "bin age at 0, 18, 65 and 100".'
        )
    extra: dict[str, Any] = {"bins": bins}
    if labels:
        extra["labels"] = labels
    return "bin", numeric[:1], extra


def _default_name(operation: str, columns: list[str], extra: dict[str, Any]) -> str:
    first = columns[0]
    if operation == "date_part":
        return f"{first}_{extra['part']}"
    if operation in {"bin", "length"}:
        return f"{first}_{operation}"
    if operation in {"log", "abs"}:
        return f"{operation}_{first}"
    words = {"divide": "per", "multiply": "times", "add": "plus", "subtract": "minus"}
    other = columns[1] if len(columns) > 1 else extra.get("value")
    if operation in words:
        return f"{first}_{words[operation]}_{other}"
    if operation in COMPARE:
        return f"{first}_flag"
    return f"{operation}_of_{'_'.join(columns)}"


def _what_column(ctx: Context) -> str:
    numeric = ctx.schema.numerics()
    a, b = [*numeric, "a", "b"][:2]
    return (
        "What should the new column hold? For example: "
        f'"add a column ratio = {a} / {b}", "add a flag for {a} > 10", "bin {a} into 4 groups", '
        f'"add the year of <date column>". Columns: {ctx.listing()}.'
    )
