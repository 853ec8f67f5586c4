"""Reading which rows a request means ("flights from JFK with a departure delay over 60") as the
conditions `filter_rows` takes: `{"column", "op", "value"}`.

Each column the request names anchors a condition: the words after it say how it compares
("is over 60", "between 500 and 1000", "is AA or DL", "is missing"), or the words just before it
do ("over 2 carats", "an Ideal cut", "a missing cabin"). A few words stand for a column the
request does not name ("from JFK": the origin, "older than 60": the age, "after 2013-06-30": the
date). Values are quoted as typed, since "JFK" is not "jfk"; numbers become numbers for numeric
columns. A word that could be several columns asks which; a column named with nothing to compare
is the subject of the request ("the flights"), not a condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from data_science.offline.intents.context import Context
from data_science.offline.intents.text import normalise

# (op, pattern at the start of the words after a column), most specific first.
OPS: list[tuple[str, str]] = [
    ("not_missing", r"(not (missing|null|empty|blank|nan)|known|present|available|filled)\b"),
    ("is_missing", r"(missing|null|empty|blank|nan|unknown)\b"),
    ("between", r"between\b"),
    ("starts_with", r"(starts?|starting|begins?|beginning) with\b"),
    ("ends_with", r"(ends?|ending) (with|in)\b"),
    ("contains", r"(contains?|containing|includes?|including|mentions?|mentioning)\b"),
    (">=", r">=|(at least|no less than|not less than|greater than or equal to|or more than)\b"),
    ("<=", r"<=|(at most|no more than|not more than|less than or equal to|up to)\b"),
    ("!=", r"!=|<>|(not equal to|not|other than|different from|excluding|except|but not)\b"),
    (">", r">|(over|above|greater than|more than|higher than|larger than|bigger than|exceeding|"
          r"exceeds|exceeded|after|later than|older than|beyond)\b"),
    ("<", r"<|(under|below|less than|lower than|smaller than|fewer than|before|earlier than|"
          r"younger than)\b"),
    ("==", r"==|=|:|(equal to|equals?|at)\b"),
]  # fmt: skip
ORDERING = frozenset({">", ">=", "<", "<=", "between"})
TIME_OR_AGE = r"(after|before|later|earlier|since|until|older|younger)\b"
SIGNS = [("<", r"negative\b"), (">", r"positive\b"), ("==", r"zero\b")]
# Words between a column and its comparison; the ones marked equal mean "==" on their own.
FILLER = re.compile(r"((is|are|was|were|be|has|have|had|having|with|of|a|an|the|its|their)\s+)*")
EQUAL_FILLER = re.compile(r"\b(is|are|was|were|of)\b")
NUMBER = re.compile(r"[-+]?[$€£]?\d[\d,]*(\.\d+)?%?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?|\d{4}")
QUOTE = re.compile(r"^['\"\u201c\u2018]([^'\"\u201d\u2019]+)['\"\u201d\u2019]")
JOINER = re.compile(r"^\s*(,\s*((or|and)\s+)?|(or|and)\s+|/\s*)", re.IGNORECASE)
# Words that end a value or stand around one; never values themselves.
STOP = frozenset(
    {
        "with", "who", "which", "that", "where", "whose", "only", "please", "and", "or", "in",
        "on", "from", "to", "for", "by", "than", "the", "a", "an", "rows", "row", "records",
        "entries", "ones", "all", "keep", "filter", "show", "me", "give", "list", "just", "is",
        "are", "was", "were", "of", "data", "dataset", "then", "it", "them", "those", "these",
        "select", "find", "get", "remove", "drop", "delete", "exclude", "any", "every", "each",
        "but", "not", "no", "without", "has", "have", "at", "as", "so", "if", "when", "before",
        "after", "over", "under", "above", "below", "between", "since", "until", "greater",
        "less", "more", "fewer", "older", "younger",
    }
)  # fmt: skip
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4}
# Words people write as a value of the column they stand for ("the female passengers").
VALUE_WORDS = {
    "female": "female", "females": "female", "women": "female", "male": "male",
    "males": "male", "men": "male",
}  # fmt: skip
BEFORE = [
    ("is_missing", re.compile(r"\b(missing|without( an?| any)?|no|null|empty)\s*$", re.I)),
    ("not_missing", re.compile(r"\b(non ?-?missing|known|with an? known)\s*$", re.I)),
]
# Words standing for a column the request does not name, and the comparison they make.
ORIGIN = frozenset({"origin", "from", "source", "departure", "start", "sender", "home"})
DESTINATION = frozenset({"dest", "destination", "to", "arrival", "end", "recipient"})
PLACE = frozenset(
    {"country", "city", "state", "region", "location", "place", "nation", "nationality", "port"}
)
AGE = frozenset({"age", "aged", "years"})
IMPLIED = [
    ("==", "origin", r"\bfrom\b"),
    ("==", "destination", r"\bto\b"),
    ("==", "place", r"\bin\b"),
    (">", "age", r"\bolder than\b|\bover the age of\b|\baged over\b"),
    ("<", "age", r"\byounger than\b|\bunder the age of\b|\baged under\b"),
    (">", "date", r"\bafter\b|\blater than\b"),
    (">=", "date", r"\bsince\b|\bfrom\b(?= \d{4})"),
    ("<", "date", r"\bbefore\b|\bearlier than\b|\bprior to\b"),
    ("<=", "date", r"\buntil\b|\bup to\b"),
]


@dataclass
class Condition:
    column: str
    op: str
    value: Any = None
    joined_by_or: bool = False  # "… or" links it to the next condition

    def argument(self) -> dict[str, Any]:
        found: dict[str, Any] = {"column": self.column, "op": self.op}
        if self.op not in {"is_missing", "not_missing"}:
            found["value"] = self.value
        return found


@dataclass
class Reading:
    """The conditions found, whether "or" joins them, and a question when they are unclear."""

    conditions: list[Condition] = field(default_factory=list)
    question: str | None = None

    @property
    def any(self) -> bool:
        joins = [condition.joined_by_or for condition in self.conditions[:-1]]
        return bool(joins) and all(joins)

    @property
    def mixed(self) -> bool:
        joins = {condition.joined_by_or for condition in self.conditions[:-1]}
        return len(joins) > 1


@dataclass
class Anchor:
    """A place in the request where a condition can start: a column (or several it could be)."""

    columns: list[str]
    start: int
    end: int
    word: str


def read_conditions(ctx: Context) -> Reading:
    """The conditions of the whole request, in the order it states them."""
    anchors = _anchors(ctx)
    found: list[tuple[int, Condition]] = []
    used: list[tuple[int, int]] = []  # character ranges already read as a condition
    for index, anchor in enumerate(anchors):
        end = ctx.u.spans[anchors[index + 1].start][0] if index + 1 < len(anchors) else None
        read = _condition(ctx, anchor, used[-1][1] if used else 0, end)
        if read is None:
            continue
        if len(anchor.columns) != 1:
            columns = " or ".join(anchor.columns)
            return Reading(question=f'Which column do you mean by "{anchor.word}": {columns}?')
        condition, first, last = read
        found.append((first, condition))
        used.append((first, last))
    implied = _implied(ctx, used)
    if isinstance(implied, str):
        return Reading(question=implied)
    ordered = sorted(found + implied, key=lambda pair: pair[0])
    return Reading([condition for _, condition in ordered])


def _anchors(ctx: Context) -> list[Anchor]:
    found = [Anchor([m.column], m.start, m.end, ctx.u.words[m.start]) for m in ctx.mentions]
    found += [Anchor(a.columns, a.index, a.index + 1, ctx.u.words[a.index]) for a in ctx.ambiguous]
    return sorted(found, key=lambda anchor: anchor.start)


def _condition(
    ctx: Context, anchor: Anchor, floor: int, end: int | None
) -> tuple[Condition, int, int] | None:
    """The condition on `anchor`'s column, from the words after it (up to character `end`) or
    just before it (back to character `floor`), with the character range it was read from."""
    column = anchor.columns[0]
    start_char, after_char = ctx.u.spans[anchor.start][0], ctx.u.spans[anchor.end - 1][1]
    single = len(anchor.columns) == 1
    if anchor.word in VALUE_WORDS and single:
        return Condition(column, "==", VALUE_WORDS[anchor.word]), start_char, after_char
    read = _after(ctx, column, ctx.u.raw[after_char:end], _subject(anchor))
    if read is not None:
        condition, length = read
        return condition, start_char, after_char + length
    before = _before(ctx, column, ctx.u.raw[floor:start_char]) if single else None
    if before is None:
        return None
    condition, offset = before
    return condition, floor + offset, after_char


def _subject(anchor: Anchor) -> bool:
    """Whether the anchor reads as the rows themselves ("flights" for a `flight` number): a
    plural word for a column whose name is singular."""
    return anchor.word.endswith("s") and anchor.word not in normalise(anchor.columns[0]).split()


def read_after(ctx: Context, column: str, text: str) -> Condition | None:
    """The comparison of `column` at the start of `text` ("> 15", "is above 150")."""
    read = _after(ctx, column, text)
    return read[0] if read else None


def _after(
    ctx: Context, column: str, text: str, subject: bool = False
) -> tuple[Condition, int] | None:
    """ "is over 60", "between 500 and 1000", "is AA or DL", "is missing": the comparison at
    the start of `text`, and how many characters of it were read. After the rows themselves
    ("flights after 2013-06-30", "passengers older than 60") a time or an age compares another
    column, which `_implied` finds."""
    lowered = text.lower()
    lead = len(lowered) - len(lowered.lstrip(" ,"))
    filler = FILLER.match(lowered, lead)
    position = filler.end() if filler else lead
    equal = bool(filler and EQUAL_FILLER.search(filler.group()))
    for op, pattern in [*OPS, *((op, pattern) for op, pattern in SIGNS)]:
        match = re.compile(pattern).match(lowered, position)
        if match is None:
            continue
        if (op, pattern) in SIGNS:
            return Condition(column, op, 0), match.end()
        if subject and re.match(TIME_OR_AGE, match.group()):
            return None
        return _with_value(ctx, column, op, text, match.end())
    if equal:
        return _with_value(ctx, column, "==", text, position)
    if (
        not subject
        and ctx.schema.categorical(column)
        and re.match(r"['\"\u201c]|[A-Z0-9]", text[position:])
    ):
        return _with_value(ctx, column, "==", text, position)  # "cut Ideal", "carrier AA"
    return None


def _with_value(
    ctx: Context, column: str, op: str, text: str, position: int
) -> tuple[Condition, int] | None:
    if op in {"is_missing", "not_missing"}:
        return Condition(column, op), position
    schema = ctx.schema
    if op in ORDERING and not (schema.numeric(column) or schema.date_like(column)):
        return None  # "companies with more than 10000 employees": not the company's name
    found = values(ctx, column, text[position:], between=op == "between")
    if found is None:
        return None
    items, length, joined_by_or = found
    return _compare(column, op, items, joined_by_or), position + length


def _compare(column: str, op: str, items: list[Any], joined_by_or: bool) -> Condition:
    if op == "between":
        return Condition(column, op, items[:2], joined_by_or)
    if len(items) > 1 and op in {"==", "!="}:
        return Condition(column, "in" if op == "==" else "not_in", items, joined_by_or)
    return Condition(column, op, items[0], joined_by_or)


def _before(ctx: Context, column: str, text: str) -> tuple[Condition, int] | None:
    """ "over 2 carats", "a missing cabin", "an Ideal cut", "first class": the comparison or
    value written just before the column, and where in `text` it starts."""
    for op, missing in BEFORE:
        if match := missing.search(text):
            return Condition(column, op), match.start()
    for op, pattern in OPS[6:-1]:
        found = rf"(?:{pattern})\s*(?P<number>{NUMBER.pattern})\s*$"
        if match := re.search(found, text, re.IGNORECASE):
            value = _number(match.group("number"))
            return (Condition(column, op, value), match.start()) if value is not None else None
    run = _value_run(text)
    words = set(normalise(text[run:]).split())
    if NUMBER.fullmatch(text[run:].strip()) or words & ctx.own_name:
        return None  # "6 months", "5 clusters": how many; "diamonds": the rows themselves
    read = values(ctx, column, text[run:]) if run < len(text) else None
    if read is None:
        return None
    items, _, _ = read
    return _compare(column, "==", items, False), run


def _value_run(text: str) -> int:
    """Where the words at the end of `text` that can be values begin ("the tech or finance":
    at "tech")."""
    start = len(text)
    for match in reversed(list(re.finditer(r"\S+", text))):
        word = normalise(match.group())
        if not word or word in STOP - {"and", "or"}:
            break
        start = match.start()
    while start < len(text) and normalise(text[start:].split()[0]) in {"and", "or"}:
        start += len(text[start:].split()[0]) + 1
    return start


def values(
    ctx: Context, column: str, text: str, between: bool = False
) -> tuple[list[Any], int, bool] | None:
    """The values at the start of `text` ("AA or DL", "1, 2 and 3", "'Smith'", "500 and 1000"),
    how many characters they take, and whether an "or" follows them (it joins the next
    condition); None when what follows is not a value of `column`."""
    items: list[Any] = []
    position = len(text) - len(text.lstrip())
    while True:
        read = _item(ctx, column, text[position:])
        if read is None:
            break
        item, length = read
        items.append(item)
        position += length
        joiner = JOINER.match(text[position:])
        if joiner is None or (between and len(items) == 2):
            break
        if _item(ctx, column, text[position + joiner.end() :]) is None:
            break
        position += joiner.end()
    if not items or (between and len(items) != 2):
        return None
    rest = text[position:].lower()
    return items, position, bool(re.match(r"\s*,?\s*or\b", rest))


def _item(ctx: Context, column: str, text: str) -> tuple[Any, int] | None:
    """One value at the start of `text`, typed as `column` needs it, and its length."""
    lead = len(text) - len(text.lstrip())
    text = text[lead:]
    quoted = QUOTE.match(text)
    if quoted:
        return quoted.group(1), lead + quoted.end()
    schema = ctx.schema
    article = re.match(r"(the|a|an)\s+", text, re.IGNORECASE)
    if article and not schema.numeric(column):
        lead, text = lead + article.end(), text[article.end() :]
    if schema.date_like(column) and (date := DATE.match(text)):
        return date.group(), lead + date.end()
    if schema.numeric(column):
        return _numeric_item(text, lead)
    words = re.match(r"[^\s,;.!?]+(\s+[^\s,;.!?]+)*", text)
    if words is None:
        return None
    kept: list[str] = []
    for word in words.group().split():
        if normalise(word) in STOP or normalise(word) == "":
            break
        kept.append(word)
    if not kept:
        return None
    value = " ".join(kept)
    return value, lead + text.index(kept[-1]) + len(kept[-1])


def _numeric_item(text: str, lead: int) -> tuple[Any, int] | None:
    match = NUMBER.match(text)
    if match:
        value = _number(match.group())
        return (value, lead + match.end()) if value is not None else None
    word = re.match(r"[a-z0-9]+", text, re.IGNORECASE)
    if word and word.group().lower() in ORDINALS:
        return ORDINALS[word.group().lower()], lead + word.end()
    return None


def _number(text: str) -> int | float | None:
    cleaned = re.sub(r"[$€£,%+]", "", text)
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def _implied(ctx: Context, used: list[tuple[int, int]]) -> list[tuple[int, Condition]] | str:
    """Conditions on a column the request only implies ("from JFK", "older than 60"), or a
    question when no column fits."""
    found: list[tuple[int, Condition]] = []
    lowered = ctx.u.raw.lower()
    for op, kind, pattern in IMPLIED:
        for match in re.finditer(pattern, lowered):
            taken = [span for span in used if span[0] <= match.start() < span[1]]
            if taken or any(start == match.start() for start, _ in found):
                continue
            rest = ctx.u.raw[match.end() :]
            value_at = match.end() + len(rest) - len(rest.lstrip())
            if any(start <= value_at < end for start, end in used):
                continue  # "filter to Premium cut": "Premium" is the cut, already read
            value = _implied_value(ctx, kind, op, match.end())
            if value is None:
                continue
            if isinstance(value, str):
                return value
            found.append((match.start(), value))
            used.append((match.start(), match.end()))
    return found


def _implied_value(ctx: Context, kind: str, op: str, position: int) -> Condition | str | None:
    """The condition after an implying word at `position`, or a question naming the value."""
    rest = ctx.u.raw[position:]
    column = _implied_column(ctx, kind)
    if kind == "date" and not DATE.match(rest.strip()):
        return None
    if kind in {"origin", "destination", "place"} and not re.match(r"\s*(the\s+)?[A-Z'\"]", rest):
        return None  # "from the data", "to predict", "from 2023": not a place
    if column is None and kind == "date" and ctx.schema.dates():
        shown = rest.strip().split(" ")[0].strip(",.?!")
        return f'Which date column should "{shown}" compare: {" or ".join(ctx.schema.dates())}?'
    if column is None:
        return None  # "a flight to Oslo" in a table without destinations: no condition
    found = values(ctx, column, rest)
    if found is None:
        return None
    items, _, joined_by_or = found
    return _compare(column, op, items, joined_by_or)


def _implied_column(ctx: Context, kind: str) -> str | None:
    schema = ctx.schema
    if kind == "date":
        dates = schema.dates()
        return dates[0] if len(dates) == 1 else None
    if kind == "age":
        return _only(ctx, AGE, numeric=True)
    if kind == "place":
        return _only(ctx, PLACE, numeric=False)
    words = {"origin": ORIGIN, "destination": DESTINATION}[kind]
    return _only(ctx, words, numeric=False) or (
        _only(ctx, PLACE, numeric=False) if kind == "origin" else None
    )


def _only(ctx: Context, words: frozenset[str], numeric: bool) -> str | None:
    """The one column of the right kind with one of `words` in its name."""
    schema = ctx.schema
    fitting = [
        name
        for name in schema.columns
        if set(normalise(name).split()) & words and schema.numeric(name) == numeric
    ]
    return fitting[0] if len(fitting) == 1 else None
