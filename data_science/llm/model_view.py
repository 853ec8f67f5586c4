"""What the model is shown of people's data: untrusted text made inert, and summary mode.

Uploaded data and file names are untrusted text: a cell, a column name or a ZIP member name
may be written to look like an instruction. Everything taken from the data passes through
here on its way to the model:

- `clean_strings` removes control, bidi and invisible characters (newlines become spaces),
  so a value cannot start a new line that looks like the instruction's own text, and clips
  names; `quote` shows one name as a JSON string. Tool results reach the model as JSON
  function responses and the dataset list as a JSON block the instruction calls data.
- In summary mode (`SUMMARY_MODE_ONLY`), `Redactor` replaces every text value of the chat's
  tables by a stable placeholder, `category_1`, `category_2`, … (numbered by frequency,
  column by column, table by table, oldest first; new tables only add numbers), wherever it
  appears: a result's values and keys, inside derived column names (`island_category_2`),
  in messages. `Redactor.restore` turns placeholders in a tool's arguments back into the
  values, so the model can name a group it only knows as `category_2`. The `@tool` wrapper
  applies both to every tool call; the instruction's dataset list goes through `for_model`.
- Numbers appear in summary mode only as statistics: tools that would list a numeric column's
  values call `check_listable`, and those that show rows keep only row numbers and scores
  (`rows_for_model`) or drop value series (`drop_in_summary_mode`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from data_science.config import Settings
from data_science.errors import ToolError
from data_science.intake.validators import BIDI_AND_INVISIBLE_CHARACTERS
from data_science.ml.profile import text_labels
from data_science.runtime.threads import run_blocking
from data_science.runtime.workers import run_cpu
from data_science.storage.tables import TableFile
from data_science.storage.workspace import Workspace

MAX_NAME_CHARACTERS = 120
PLACEHOLDER_PREFIX = "category_"
PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9])category_([0-9]+)(?![0-9])")
# Control characters, and the bidi and zero-width characters that can hide or reorder text.
UNSAFE_CHARACTERS = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_AND_INVISIBLE_CHARACTERS}]+")
# Where a value inside a longer text may begin or end: spaces, quotes, brackets and the
# separators of derived names (`island_Biscoe`, `island=Biscoe`).
TOKEN = re.compile(r"[^\s'\"`()\[\]{}<>,;:=_/|.]+")
# Inside a longer text, short values ("M") are replaced only right after a name separator
# or a quote (`sex_M`, `sex=M`, `'M'`), and number-like ones ("3") only right after a quote,
# so the words and numbers of a sentence stay ("A chart", "n=3", "tfidf_3").
SHORT_VALUE = 2
QUOTES = frozenset("'\"")
SHORT_VALUE_AFTER = QUOTES | {"_", "="}
# Values longer than this are also found from their first characters, so a value clipped
# by a tool ("a long note…") is still replaced.
LONG_VALUE = 16
LABEL_CACHE_SIZE = 64
REDACTOR_CACHE_SIZE = 16
K = TypeVar("K")
V = TypeVar("V")
NUMBER_TYPES = frozenset({"integer", "number"})
TableKey = tuple[str, int | str, int | str]  # a stored table: `TableFile.cache_key()`


def clean_text(text: str, limit: int | None = None) -> str:
    """`text` without control, bidi or invisible characters, at most `limit` characters."""
    cleaned = UNSAFE_CHARACTERS.sub(" ", text)
    if limit is not None and len(cleaned) > limit:
        return cleaned[: limit - 1] + "…"
    return cleaned


def quote(text: str, limit: int = MAX_NAME_CHARACTERS) -> str:
    """One untrusted name (a file, a column) as a clean, clipped JSON string: `"name"`."""
    return json.dumps(clean_text(text, limit), ensure_ascii=False)


def clean_strings(value: Any, limit: int | None = None) -> Any:
    """Every string (and key) of a JSON value cleaned with `clean_text`."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, Mapping):
        return {clean_text(str(k), limit): clean_strings(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_strings(item, limit) for item in value]
    return value


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


class Redactor:
    """Summary mode's one mapping between a chat's text values and their placeholders."""

    def __init__(self, labels: Iterable[str], columns: Iterable[str] = ()) -> None:
        self._placeholder: dict[str, str] = {}
        for label in labels:
            if label not in self._placeholder:
                self._placeholder[label] = f"{PLACEHOLDER_PREFIX}{len(self._placeholder) + 1}"
        self._label = {placeholder: label for label, placeholder in self._placeholder.items()}
        self._columns = frozenset(columns)
        self._window = 1
        self._by_prefix: dict[str, list[str]] = {}
        for label in self._placeholder:
            self._window = max(self._window, min(len(TOKEN.findall(label)), LONG_VALUE))
            if len(label) > LONG_VALUE:
                self._by_prefix.setdefault(label[:LONG_VALUE], []).append(label)

    def __len__(self) -> int:
        return len(self._placeholder)

    def redact(self, value: Any) -> Any:
        """`value` (a JSON value) with every text value of the data replaced by its placeholder."""
        if isinstance(value, str):
            return self._redact_text(value)
        if isinstance(value, Mapping):
            return {self._redact_text(str(k)): self.redact(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(item) for item in value]
        return value

    def restore(self, value: Any) -> Any:
        """A tool argument with placeholders turned back into the values they stand for."""
        if isinstance(value, str):
            return self._restore_text(value)
        if isinstance(value, Mapping):
            return {self._restore_text(str(k)): self.restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore(item) for item in value]
        return value

    def _restore_text(self, text: str) -> str:
        if text in self._columns or PLACEHOLDER_PREFIX not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._label.get(m.group(0), m.group(0)), text)

    def _redact_text(self, text: str) -> str:
        if not self._placeholder:
            return text
        if text in self._placeholder:
            return self._placeholder[text]
        tokens = [match.span() for match in TOKEN.finditer(text)]
        pieces: list[str] = []
        done = 0
        index = 0
        while index < len(tokens):
            start = tokens[index][0]
            found = self._match_at(text, tokens, index)
            if found is None:
                index += 1
                continue
            end, placeholder = found
            pieces += [text[done:start], placeholder]
            done = end
            while index < len(tokens) and tokens[index][0] < end:
                index += 1
        return "".join(pieces) + text[done:]

    def _match_at(
        self, text: str, tokens: list[tuple[int, int]], index: int
    ) -> tuple[int, str] | None:
        """The longest value starting at token `index`: where it ends and its placeholder."""
        start = tokens[index][0]
        long = self._long_match(text, start)
        if long is not None:
            return long
        last = min(len(tokens), index + self._window)
        for stop in range(last - 1, index - 1, -1):
            candidate = text[start : tokens[stop][1]]
            placeholder = self._placeholder.get(candidate)
            if placeholder is None:
                continue
            before = text[start - 1 : start]
            if _is_number(candidate) and before not in QUOTES:
                continue
            if len(candidate) <= SHORT_VALUE and before not in SHORT_VALUE_AFTER:
                continue
            return tokens[stop][1], placeholder
        return None

    def _long_match(self, text: str, start: int) -> tuple[int, str] | None:
        """A long value, or the first `LONG_VALUE`+ characters of one, starting at `start`."""
        candidates = self._by_prefix.get(text[start : start + LONG_VALUE])
        if not candidates:
            return None
        best, reach = candidates[0], 0
        for label in candidates:
            shared = LONG_VALUE
            while (
                shared < len(label)
                and start + shared < len(text)
                and text[start + shared] == label[shared]
            ):
                shared += 1
            if shared > reach:
                best, reach = label, shared
        end = start + reach
        if text[end : end + 1] == "…":
            end += 1
        return end, self._placeholder[best]


class _Cache(Generic[K, V]):
    """A small thread-safe LRU."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# Each table's text values, computed once per stored file (tables never change), and each
# session's redactor, per set of tables.
_labels: _Cache[TableKey, list[str]] = _Cache(LABEL_CACHE_SIZE)
_redactors: _Cache[tuple[TableKey, ...], Redactor] = _Cache(REDACTOR_CACHE_SIZE)


def _table_keys(workspace: Workspace) -> tuple[list[tuple[TableFile, TableKey]], set[str]]:
    """Every table of the session (oldest first) with its cache key, and all column names."""
    tables = []
    columns: set[str] = set()
    for record in workspace.items("table"):
        table = TableFile(workspace.stored_file(record), record.extension)
        tables.append((table, table.cache_key()))
        columns.update(column["name"] for column in record.columns or [])
    return tables, columns


async def summary_redactor(workspace: Workspace) -> Redactor | None:
    """The session's redactor when summary mode is on; None when values may be shown."""
    if not workspace.settings.SUMMARY_MODE_ONLY:
        return None
    tables, columns = await run_blocking(_table_keys, workspace)
    session_key = tuple(key for _, key in tables)
    redactor = _redactors.get(session_key)
    if redactor is not None:
        return redactor
    labels: list[str] = []
    for table, key in tables:
        known = _labels.get(key)
        if known is None:
            known = await run_cpu(text_labels, table, lane="quick")
            _labels.put(key, known)
        labels += known
    redactor = await run_blocking(Redactor, labels, columns)
    _redactors.put(session_key, redactor)
    return redactor


def check_listable(settings: Settings, column: str, column_type: str) -> None:
    """Summary mode shows numbers only as statistics: a numeric column's values are not listed.

    Tools that list a column's distinct values (counts, groups) call this; text values are
    fine, as they reach the model as placeholders.
    """
    if settings.SUMMARY_MODE_ONLY and column_type in NUMBER_TYPES:
        raise ToolError(
            f"The values of '{column}' cannot be listed: this deployment runs in summary mode, "
            "which shows numbers only as statistics (describe_distribution and analyze_dataset "
            "give them). To treat it as categories, cast it to text first (cast_column with "
            "to='text'); its values then appear as placeholders.",
            code="summary_mode",
        )


def rows_for_model(
    settings: Settings, rows: list[dict[str, Any]], keep: Iterable[str]
) -> list[dict[str, Any]]:
    """Row records as the model may see them: in summary mode only the `keep` keys (the row
    number, computed scores), never a row's values."""
    if not settings.SUMMARY_MODE_ONLY:
        return rows
    kept = frozenset(keep)
    return [{key: value for key, value in row.items() if key in kept} for row in rows]


def drop_in_summary_mode(settings: Settings, report: dict[str, Any], *keys: str) -> dict[str, Any]:
    """`report` without `keys` in summary mode: for series that may repeat single rows' values
    (a forecast's holdout: observed values, one row per time step, and a seasonal-naive
    prediction, which copies them)."""
    if not settings.SUMMARY_MODE_ONLY:
        return report
    return {key: value for key, value in report.items() if key not in keys}


def for_model(value: Any, redactor: Redactor | None, limit: int | None = None) -> Any:
    """`value` as the model may see it: placeholders in summary mode, then cleaned strings."""
    shown = redactor.redact(value) if redactor is not None else value
    return clean_strings(shown, limit)
