"""What every planner works from: the request read against the session's data and history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from data_science.offline.intents.columns import Ambiguity, Mention, Schema, find_mentions
from data_science.offline.intents.history import Call, History
from data_science.offline.intents.text import Utterance, normalise, read

BY = (
    r"\b(by|per|for each|for every|in each|of each|across|among|grouped by|split by|"
    r"colou?red by|colou?r by|broken down by|within)\b"
)
FOLLOW_UP = (
    r"\b(instead|same|again|too|also|what about|how about|try|rather|switch to|change it to|"
    r"make it|now for|and for|and with|it|its|them|those|these)\b|^ (and|now|then|but|so|ok)\b"
)
PRONOUN = r"\b(it|its|that|this|them|those|these)\b"
DATASET_ID = re.compile(r"\bds_[0-9a-f]{16}\b")


@dataclass
class Plan:
    """The decision: a tool call (`tool`, `args`) or a reply (`text`, of kind `reply`).

    `reply` is "question" (something is missing or ambiguous), "help" (what the model can do),
    "list" (the session's files) or "info" (a short statement, e.g. no data yet). `then` is a
    second call asked for in the same request, made on the dataset this call makes (its
    `dataset_id` is filled in once that dataset exists).
    """

    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    reply: str | None = None
    then: Plan | None = None


def ask(text: str) -> Plan:
    """A question back to the person; its first sentence ends with "?"."""
    return Plan(text=text, reply="question")


@dataclass
class Context:
    """The request, the dataset it is about, the columns it names, and the session so far."""

    u: Utterance
    catalogue: dict[str, Any]
    history: History
    dataset: dict[str, Any] | None
    named_datasets: list[dict[str, Any]]
    schema: Schema
    mentions: list[Mention]
    ambiguous: list[Ambiguity]
    dataset_words: frozenset[int] = frozenset()
    own_name: frozenset[str] = frozenset()

    @property
    def datasets(self) -> list[dict[str, Any]]:
        return list(self.catalogue.get("datasets") or [])

    @property
    def models(self) -> list[dict[str, Any]]:
        return list(self.catalogue.get("models") or [])

    @property
    def previous(self) -> Call | None:
        return self.history.last()

    @property
    def follow_up(self) -> bool:
        return self.u.has(FOLLOW_UP)

    @property
    def pronoun(self) -> bool:
        return self.u.has(PRONOUN)

    @property
    def free(self) -> Utterance:
        """The request without the words that name columns ("mean" in "mean radius" is a name,
        not an average)."""
        named = {index for mention in self.mentions for index in range(mention.start, mention.end)}
        keep = [index for index in range(len(self.u.words)) if index not in named]
        return Utterance(
            self.u.raw,
            [self.u.words[i] for i in keep],
            [self.u.corrected[i] for i in keep],
            spans=[self.u.spans[i] for i in keep],
        )

    @property
    def dataset_name(self) -> str:
        return str((self.dataset or {}).get("name", "the dataset"))

    @property
    def dataset_id(self) -> str:
        return str((self.dataset or {}).get("id", ""))

    @property
    def columns(self) -> list[str]:
        return [mention.column for mention in self.mentions]

    def call(self, tool: str, **args: Any) -> Plan:
        """A call of `tool` with `args`, leaving out the ones that are None."""
        return Plan(
            tool=tool, args={key: value for key, value in args.items() if value is not None}
        )

    def split_by(self) -> tuple[list[str], list[str]]:
        """The columns named before "by"/"per"/"for each"… and those named after it."""
        cut = self.u.find(BY)
        if cut < 0:
            return self.columns, []
        before = [mention.column for mention in self.mentions if mention.start < cut]
        after = [mention.column for mention in self.mentions if mention.start >= cut]
        return before, after

    def lone_number(self) -> int | None:
        """The one whole number of a short follow-up ("try 4", "make it 24 instead")."""
        whole = [int(n.value) for n in self.u.numbers if n.value == int(n.value)]
        return whole[0] if len(whole) == 1 else None

    def mentions_without(self, skip: set[int]) -> tuple[list[Mention], list[Ambiguity]]:
        """The columns named outside the words at `skip` (a new column's name, "price_per_carat",
        names no existing column)."""
        return find_mentions(
            self.u.words, self.schema.columns, self.dataset_words | skip, self.own_name
        )

    def ambiguity(self, what: str) -> Plan | None:
        """A question naming the candidates, when a word could mean several columns."""
        if not self.ambiguous:
            return None
        first = self.ambiguous[0]
        return ask(f'Which {what} do you mean by "{first.word}": {" or ".join(first.columns)}?')

    def listing(self, names: list[str] | None = None) -> str:
        chosen = self.schema.columns if names is None else names
        return ", ".join(f"`{name}`" for name in chosen) or "none"


def build(
    text: str, catalogue: dict[str, Any], history: History, prefer: str | None = None
) -> Context:
    """Read `text` against the session's catalogue and history. The dataset is the one the
    request names, else `prefer` (the previous step's, when revising it), else the working one."""
    datasets: list[dict[str, Any]] = list(catalogue.get("datasets") or [])
    u = read(text, name_words(datasets))
    named, skip = _named_datasets(u, datasets)
    preferred = next((item for item in datasets if item["id"] == prefer), None)
    dataset = named[0] if named else preferred or working_dataset(datasets, history)
    schema = Schema.of(dataset)
    own_name = frozenset(normalise(str((dataset or {}).get("name", "")).rsplit(".", 1)[0]).split())
    mentions, ambiguous = find_mentions(u.words, schema.columns, frozenset(skip), own_name)
    return Context(
        u,
        catalogue,
        history,
        dataset,
        named,
        schema,
        mentions,
        ambiguous,
        frozenset(skip),
        own_name,
    )


def working_dataset(datasets: list[dict[str, Any]], history: History) -> dict[str, Any] | None:
    """The cleaned dataset after a cleaning step (unless a file was uploaded since), else the
    latest upload."""
    if not datasets:
        return None
    originals = [index for index, item in enumerate(datasets) if "derived_from" not in item]
    latest_upload = originals[-1] if originals else len(datasets) - 1
    prepared = history.prepared_dataset()
    for index, item in enumerate(datasets):
        if item["id"] == prepared and index > latest_upload:
            return item
    return datasets[latest_upload]


def name_words(datasets: list[dict[str, Any]]) -> frozenset[str]:
    words: set[str] = set()
    for item in datasets:
        words.update(normalise(str(item["name"])).split())
        for column in item.get("columns") or []:
            words.update(normalise(str(column["name"])).split())
    return frozenset(words)


def _named_datasets(
    u: Utterance, datasets: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], set[int]]:
    """Datasets the request names (by id, or by file name when there are several), in order."""
    found: list[tuple[int, dict[str, Any]]] = []
    skip: set[int] = set()
    for match in DATASET_ID.finditer(u.raw):
        item = next((item for item in datasets if item["id"] == match.group()), None)
        if item is not None:
            found.append((len(normalise(u.raw[: match.start()]).split()), item))
    if len(datasets) > 1:
        for item in datasets:
            stem = normalise(str(item["name"]).rsplit(".", 1)[0]).split()
            for start in range(len(u.words) - len(stem) + 1):
                window = [word.rstrip("s") for word in u.words[start : start + len(stem)]]
                if stem and window == [word.rstrip("s") for word in stem]:
                    found.append((start, item))
                    skip.update(range(start, start + len(stem)))
                    break
    ordered = [item for _, item in sorted(found, key=lambda pair: pair[0])]
    unique = list({item["id"]: item for item in ordered}.values())
    return unique, skip
