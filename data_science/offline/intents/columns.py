"""Finding the columns a request names, without needing their exact spelling.

A column counts as named when the request contains its words (case, spaces, underscores and a
plural "s" do not matter: "Body Mass" and "body_mass" both name `body_mass_g`), a run of words one
or two typos away from them ("flipper lenght"), or one word that belongs to that column alone
("flipper" for `flipper_length_mm`, "weight" for `body_mass_g` through a small synonym list).
A word shared by several columns ("length") names none of them: it is kept as an ambiguity, so
the model can ask which one was meant instead of guessing.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from typing import Any

from data_science.offline.intents.text import VOCABULARY, edit_distance, normalise

NUMERIC = frozenset({"number", "integer"})
CATEGORICAL = frozenset({"text", "boolean"})
UNITS = frozenset(
    {
        "mm", "cm", "m", "km", "g", "kg", "lb", "lbs", "pct", "percent", "usd", "eur", "gbp", "ms",
        "sec", "min",
    }
)  # fmt: skip
DATE_WORDS = frozenset(
    {
        "date", "time", "timestamp", "datetime", "month", "day", "week", "period", "dt", "ds",
    }
)  # fmt: skip
TEXT_WORDS = frozenset(
    {
        "text", "review", "comment", "comments", "description", "notes", "note", "message", "body",
        "title", "feedback", "content", "tweet", "sentence", "abstract",
    }
)  # fmt: skip
TARGET_NAMES = ("target", "label", "class", "y", "outcome")
# Words of a 0/1 column's name: its mean is a rate ("survival rate"), not a measurement.
BINARY_WORDS = frozenset(
    {
        "survived", "churn", "churned", "default", "defaulted", "fraud", "converted", "clicked",
        "returned", "died", "dead", "alive", "approved", "admitted", "purchased", "won", "passed",
        "success", "flag", "cancelled", "canceled", "delayed",
    }
)  # fmt: skip
# A word people use for a column whose name says something else.
SYNONYMS = {
    "weight": "mass", "heavy": "mass", "gender": "sex", "male": "sex", "female": "sex",
    "males": "sex", "females": "sex", "sexes": "sex", "genders": "sex", "men": "sex",
    "women": "sex", "cost": "price",
    "costs": "price", "class": "target", "classes": "target", "label": "target",
    "outcome": "target", "promo": "promotion",
}  # fmt: skip
# Words that mean something to the rules, so alone they never name a column (whole names do).
COMMAND_WORDS = frozenset(
    {
        "color", "colour", "colored", "coloured", "plot", "chart", "model", "group", "groups",
        "count", "mean", "average", "sum", "total", "type", "types", "kind", "data", "value",
        "values", "number", "numbers", "rows", "row", "column", "columns", "missing", "test",
        "train", "feature", "features", "cluster", "clusters", "score", "id", "ids", "the", "and",
        "of", "for", "by", "per", "to", "in", "on", "with", "a", "an", "is", "are", "it", "this",
        "that", "all", "each", "every", "new", "name", "names", "error", "worst", "text", "string",
    }
)  # fmt: skip


@dataclass
class Mention:
    """A column named in the request, at word positions `start` (inclusive) to `end`;
    `strength` 3 for its exact words, 2 for a near match, 1 for one word of it."""

    column: str
    start: int
    end: int
    strength: int = 3


@dataclass
class Ambiguity:
    """A word that could name any of several columns."""

    word: str
    index: int
    columns: list[str]


@dataclass
class Schema:
    """The columns of one dataset and their types, as `list_data_files` reports them."""

    types: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset: dict[str, Any] | None) -> Schema:
        columns = (dataset or {}).get("columns") or []
        return cls({str(column["name"]): str(column["type"]) for column in columns})

    @property
    def columns(self) -> list[str]:
        return list(self.types)

    def numeric(self, name: str) -> bool:
        return self.types.get(name) in NUMERIC

    def categorical(self, name: str) -> bool:
        return self.types.get(name) in CATEGORICAL

    def date_like(self, name: str) -> bool:
        """A datetime column, or a text column whose name says it holds dates."""
        words = set(normalise(name).split())
        if self.types.get(name) == "datetime":
            return True
        named = bool(words & DATE_WORDS) or name.lower().endswith("_at")
        return self.types.get(name) == "text" and named

    def free_text(self, name: str) -> bool:
        return self.types.get(name) == "text" and bool(set(normalise(name).split()) & TEXT_WORDS)

    def dates(self) -> list[str]:
        """Date columns, real datetimes first."""
        found = [name for name in self.types if self.date_like(name)]
        return sorted(found, key=lambda name: self.types[name] != "datetime")

    def numerics(self) -> list[str]:
        return [name for name in self.types if self.numeric(name)]

    def categories(self) -> list[str]:
        """Text and boolean columns that are neither dates nor free text."""
        return [
            name
            for name in self.types
            if self.categorical(name) and not self.date_like(name) and not self.free_text(name)
        ]

    def binary(self, name: str) -> bool:
        """A true/false column, or whole numbers whose name says yes or no ("survived")."""
        if self.types.get(name) == "boolean":
            return True
        words = normalise(name).split()
        named = bool(set(words) & BINARY_WORDS) or words[:1] in (["is"], ["has"], ["was"])
        return self.types.get(name) == "integer" and named

    def target_like(self) -> str | None:
        """A column whose name says it is what to predict ("target", "label", …)."""
        lowered = {name.lower(): name for name in self.types}
        return next((lowered[name] for name in TARGET_NAMES if name in lowered), None)


def singular(word: str) -> str:
    """ "companies" -> "company", "islands" -> "island"."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def _forms(column: str) -> list[list[str]]:
    """The word sequences that name `column`: its words, and without a trailing unit."""
    words = normalise(column).split()
    forms = [words]
    core = list(words)
    while len(core) > 1 and core[-1] in UNITS:
        core.pop()
    if core != words:
        forms.append(core)
    return forms


def find_mentions(
    words: list[str],
    columns: list[str],
    skip: frozenset[int] = frozenset(),
    not_alone: frozenset[str] = frozenset(),
) -> tuple[list[Mention], list[Ambiguity]]:
    """The columns `words` name, in order, and the words that could name several columns.

    Words at `skip` positions name no column; words in `not_alone` (the dataset's own name:
    "wines" in wine.csv) name a column only together with its other words."""
    candidates: list[tuple[int, int, Mention]] = []  # (strength, length, mention)
    for column in columns:
        for form in _forms(column):
            candidates.extend(_exact_and_fuzzy(words, column, form, skip))
    candidates.sort(key=lambda item: (-item[0], -item[1], item[2].start))
    taken: set[int] = set()
    chosen: dict[str, Mention] = {}
    for _, _, mention in candidates:
        span = set(range(mention.start, mention.end))
        if mention.column in chosen or span & taken:
            continue
        chosen[mention.column] = mention
        taken |= span
    blocked = {singular(word) for word in not_alone}
    partial, ambiguous = _single_words(words, columns, taken | skip, set(chosen), blocked)
    for mention in partial:
        chosen.setdefault(mention.column, mention)
    return sorted(chosen.values(), key=lambda mention: mention.start), ambiguous


def _exact_and_fuzzy(
    words: list[str], column: str, form: list[str], skip: frozenset[int]
) -> list[tuple[int, int, Mention]]:
    """Exact matches compare singular forms ("islands", "island"); near matches compare the
    words as typed ("speceis", "species")."""
    found = []
    size = len(form)
    wanted = [singular(word) for word in form]
    for start in range(len(words)):
        for width in {size, 1}:
            window = words[start : start + width]
            if len(window) < width or skip & set(range(start, start + width)):
                continue
            if [singular(word) for word in window] == wanted:
                found.append((3, width, Mention(column, start, start + width, 3)))
            elif _close(window, form) or _abbreviated(window, form):
                found.append((2, width, Mention(column, start, start + width, 2)))
    return found


def _abbreviated(window: list[str], form: list[str]) -> bool:
    """A name whose words are abbreviations of the words typed ("departure delay" for
    `dep_delay`): every word typed begins with the name's word, one at least is the same."""
    if len(form) < 2 or len(window) != len(form):
        return False
    pairs = list(zip(window, form, strict=True))
    same = sum(typed == short for typed, short in pairs)
    begun = all(typed.startswith(short) and len(short) >= 3 for typed, short in pairs)
    return same >= 1 and begun


def _close(window: list[str], form: list[str]) -> bool:
    """A typo-tolerant match, never made of command words alone ("scale" is not "sales"):
    the same number of words, nearly the same letters ("flipper lenght"), or the words run
    together with at most one or two typos ("bodymass", "speceis")."""
    if window[0][:1] != form[0][:1]:
        return False  # typos rarely hit the first letter; this keeps wide tables fast
    if all(word in VOCABULARY or word in COMMAND_WORDS for word in window):
        return False
    if len(window) == 1 and len(form) > 1 and singular(window[0]) == form[0]:
        return False  # "passengers" is one word of `passengerId` (and of `passengerClass`)
    joined, target = " ".join(window), " ".join(form)
    if len(window) == len(form) > 1 and len(joined) >= 4:
        matcher = difflib.SequenceMatcher(None, joined, target)
        near = all(edit_distance(a, b, 2) <= 2 for a, b in zip(window, form, strict=True))
        return near and matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8
    glued, whole = "".join(window), "".join(form)
    if len(whole) < 4 or len(glued) < 4:
        return False
    if len(whole) < 6:  # short names: only two swapped letters ("sexe" is not "sales")
        return sorted(glued) == sorted(whole) and edit_distance(glued, whole, 1) == 1
    limit = 1 if len(whole) < 10 else 2
    return edit_distance(glued, whole, limit) <= limit


def _single_words(
    words: list[str], columns: list[str], taken: set[int], named: set[str], blocked: set[str]
) -> tuple[list[Mention], list[Ambiguity]]:
    owners: dict[str, list[str]] = {}
    for column in columns:
        for word in {singular(word) for word in _forms(column)[-1]}:
            owners.setdefault(word, []).append(column)
    mentions, ambiguous = [], []
    for index, word in enumerate(words):
        stem = singular(word)
        if index in taken or stem in COMMAND_WORDS or stem in blocked or len(stem) < 3:
            continue
        meant = singular(SYNONYMS.get(word) or SYNONYMS.get(stem) or stem)
        # A column's own word first ("class" in `passengerClass`), then the synonym's.
        holders = (
            owners.get(stem)
            or owners.get(meant)
            or _past(stem, owners)
            or _completions(meant, owners)
        )
        if len(holders) == 1:
            mentions.append(Mention(holders[0], index, index + 1, 1))
        elif len(holders) > 1 and not set(holders) & named:
            ambiguous.append(Ambiguity(stem, index, sorted(holders)))
    return mentions, ambiguous


def _past(word: str, owners: dict[str, list[str]]) -> list[str]:
    """Columns with a word that `word` is with -d or -ed added ("priced", "delayed")."""
    if not word.endswith("ed"):
        return []
    return owners.get(word[:-1]) or owners.get(word[:-2]) or []


def _shared_start(a: str, b: str) -> int:
    """How many letters `a` and `b` begin with in common."""
    same = itertools.takewhile(lambda pair: pair[0] == pair[1], zip(a, b, strict=False))
    return sum(1 for _ in same)


def _completions(start: str, owners: dict[str, list[str]]) -> list[str]:
    """Columns with a word that mostly shares its beginning with `start`: "return" for
    `returned`, "survival" for `survived`."""
    if len(start) < 5:
        return []
    found = {
        column
        for word, columns in owners.items()
        if _shared_start(word, start) >= 0.7 * max(len(word), len(start))
        for column in columns
    }
    return sorted(found)
