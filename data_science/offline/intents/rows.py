"""Rows and new columns: keep the rows a request describes (`filter_rows`), sort them and take the
top or bottom N (`sort_rows`), and a SQL statement typed by the person (`run_sql`).

New columns (`derive_column`) are read in `derive`; which rows are meant, in `conditions`.
"""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.analysis import plan_aggregate
from data_science.offline.intents.columns import singular
from data_science.offline.intents.conditions import Condition, read_conditions
from data_science.offline.intents.context import Context, Plan, ask
from data_science.offline.intents.text import normalise

NEGATING = (
    r"^ (please )?(remove|drop|delete|exclude|discard|get rid of|filter out|throw out|take out|"
    r"leave out|eliminate)\b"
)
OPPOSITE = {
    "==": "!=", "!=": "==", ">": "<=", ">=": "<", "<": ">=", "<=": ">", "in": "not_in",
    "not_in": "in", "is_missing": "not_missing", "not_missing": "is_missing",
}  # fmt: skip
HIGH_FIRST = (
    r"\b(descending|desc|decreasing|reverse|(highest|largest|biggest|most|greatest) (first|to)|"
    r"z to a)\b"
)
LOW_FIRST = r"\b(ascending|asc|increasing|(lowest|smallest|least|fewest) (first|to)|a to z)\b"
HIGH = (
    r"\b(largest|biggest|highest|most|top|greatest|expensive|priciest|costliest|recent|newest|"
    r"latest|longest|heaviest|best|oldest)\b"
)
LOW = (
    r"\b(smallest|lowest|least|fewest|bottom|cheapest|earliest|shortest|lightest|worst|youngest)\b"
)
RANKED = (
    "largest", "biggest", "highest", "most", "greatest", "smallest", "lowest", "least", "fewest",
    "best", "worst",
    "cheapest", "expensive", "priciest", "costliest", "recent", "newest", "latest", "oldest",
    "youngest", "earliest", "longest", "shortest", "heaviest", "lightest",
)  # fmt: skip
ONE = r"\bwhich (\w+ )?(has|had|have|is|was) the\b|\bthe (single )?(most|least)\b \w+ \w+ ?$"
# A superlative that says which column it sorts by when the request names none.
IMPLIED_BY = [
    (r"\b(expensive|cheapest|priciest|costliest)\b", frozenset({"price", "cost", "amount"})),
    (r"\b(oldest|youngest)\b", frozenset({"age", "founded", "established", "born", "built"})),
]
RECENT = r"\b(recent|newest|latest|earliest|oldest)\b"
SQL = re.compile(
    r"^\s*(?:(?:please\s+)?(?:run|execute)\s+(?:this|the following|the)?\s*(?:sql|query|sql "
    r"query)?\s*:?\s*|sql\s*:\s*)?((?:select|with)\b.*\bfrom\s+(\"?[\w.]+\"?).*)$",
    re.IGNORECASE | re.DOTALL,
)
SQL_SHAPE = re.compile(
    r"[*,(]|\b(group by|order by|where|limit|join|as|distinct|count|sum|avg|min|max)\b", re.I
)


def plan_filter(ctx: Context, base: dict[str, Any]) -> Plan:
    """ "keep the flights from JFK", "only the rows where price is over 100", "remove the rows
    where age is missing" (the opposite conditions are kept)."""
    reading = read_conditions(ctx)
    if reading.question:
        return ask(reading.question)
    if not reading.conditions:
        return ask(_which_rows(ctx))
    if reading.mixed:
        return ask(
            "Should a row match all of these conditions or any one of them? I cannot mix "
            '"and" with "or" in one filter; filter twice instead.'
        )
    conditions, any_of = reading.conditions, reading.any
    if ctx.u.has(NEGATING):
        opposite = _opposite(conditions)
        if opposite is None:
            return ask(
                "Which rows should I keep? I can keep the rows that contain, start or end with "
                "a text, or fall between two values, but not remove them; say what to keep."
            )
        conditions, any_of = opposite, len(conditions) > 1 and not any_of
    return ctx.call(
        "filter_rows",
        dataset_id=ctx.dataset_id,
        conditions=[condition.argument() for condition in conditions],
        match="any" if any_of else None,
    )


def has_conditions(ctx: Context) -> bool:
    """Whether the request reads as rows to keep ("passengers older than 60"), or would with a
    column it does not make clear; a question ("which species is the heaviest?") does not."""
    if ctx.u.has(r"^ (which|what|who|how|why|when|is|are|does|do|can)\b") or "?" in ctx.u.raw:
        return False
    reading = read_conditions(ctx)
    return bool(reading.conditions) or reading.question is not None


def _opposite(conditions: list[Condition]) -> list[Condition] | None:
    flipped = []
    for condition in conditions:
        if condition.op not in OPPOSITE:
            return None
        flipped.append(Condition(condition.column, OPPOSITE[condition.op], condition.value))
    return flipped


def _which_rows(ctx: Context) -> str:
    numeric = next(iter(ctx.schema.numerics()), "<number column>")
    category = next(iter(ctx.schema.categories()), "<text column>")
    return (
        "Which rows should I keep? Name a column and what it should be, for example: "
        f'"only the rows where {numeric} is over 10", "keep the rows where {category} is A or '
        f'B", "remove the rows where {numeric} is missing". Columns: {ctx.listing()}.'
    )


def plan_sort(ctx: Context, base: dict[str, Any]) -> Plan:
    """ "sort by date", "the 5 largest by revenue", "which company has the most employees"
    ("which sector has the highest revenue" compares groups: a group-by)."""
    if _which_group(ctx):
        return plan_aggregate(ctx, {})
    by = _sort_columns(ctx) or list(base.get("by") or [])
    if not by:
        return ctx.ambiguity("column") or ask(
            f"Which column should I sort by, and largest or smallest first? Columns: "
            f"{ctx.listing()}."
        )
    descending = _descending(ctx, by)
    if descending is None:
        descending = bool(base.get("descending"))
    limit = _limit(ctx) or (ctx.lone_number() if base else None) or base.get("limit")
    return ctx.call(
        "sort_rows",
        dataset_id=ctx.dataset_id,
        by=by,
        descending=True if descending else None,
        limit=limit,
    )


def _which_group(ctx: Context) -> bool:
    """ "which sector has …": a category of the rows, not one of the rows ("which company")."""
    at = ctx.u.find(r"\bwhich\b")
    named = next((m for m in ctx.mentions if m.start == at + 1), None) if at >= 0 else None
    if named is None or not ctx.schema.categorical(named.column):
        return False
    words = {singular(word) for word in normalise(named.column).split()}
    return not words & {singular(word) for word in ctx.own_name | {"name", "id", "title"}}


def _sort_columns(ctx: Context) -> list[str]:
    """The columns after "by" in order; else those after the superlative ("the most
    employees"); else the one the superlative implies ("the cheapest": price; "the most recent":
    the date)."""
    cut = ctx.u.find(r"\bby\b")
    if cut >= 0:
        after = [mention.column for mention in ctx.mentions if mention.start > cut]
        if after:
            return after
    ranked = ctx.u.find(HIGH + "|" + LOW)
    sortable = [
        m.column
        for m in ctx.mentions
        if m.start > ranked >= 0
        and (ctx.schema.numeric(m.column) or ctx.schema.date_like(m.column))
    ]
    if sortable:
        return sortable[:1]
    for pattern, words in IMPLIED_BY:
        if ctx.u.has(pattern):
            fitting = [n for n in ctx.schema.numerics() if set(normalise(n).split()) & words]
            if len(fitting) == 1:
                return fitting
    dates = ctx.schema.dates()
    return dates[:1] if ctx.u.has(RECENT) and dates else []


def _descending(ctx: Context, by: list[str]) -> bool | None:
    """Largest first or smallest first, as the request says it; None when it does not."""
    u = ctx.free
    if u.has(HIGH_FIRST):
        return True
    if u.has(LOW_FIRST):
        return False
    if u.has(r"\b(oldest|youngest)\b"):
        # The oldest people have the largest age; the oldest companies the earliest year.
        return u.has(r"\boldest\b") == ("age" in normalise(by[0]).split())
    high, low = u.find(HIGH), u.find(LOW)
    if high < 0 and low < 0:
        return None
    return low < 0 or 0 <= high < low


def _limit(ctx: Context) -> int | None:
    found = ctx.u.number_after("top", "bottom", "first", "last")
    found = found or ctx.u.number_before(*RANKED)
    if found is None and ctx.u.has(ONE):
        return 1
    return found


def sql_statement(text: str, catalogue: dict[str, Any]) -> str | None:
    """The SELECT statement the person typed, when the request is one: it reads from a table
    of this session (a dataset id or the file's name) and looks like SQL."""
    match = SQL.match(text)
    if match is None or not SQL_SHAPE.search(match.group(1)):
        return None
    table = normalise(match.group(2).strip('"'))
    names = set()
    for item in catalogue.get("datasets") or []:
        names.add(normalise(str(item["id"])))
        names.add(normalise(str(item["name"]).rsplit(".", 1)[0]))
    if table not in names:
        return None
    return match.group(1).strip().rstrip(";").strip()


def plan_sql(statement: str) -> Plan:
    return Plan(tool="run_sql", args={"sql": statement})
