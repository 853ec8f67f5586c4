"""Reading tabular files into pandas, with encoding and delimiter detection, and summarising them.

Both the upload pipeline (to prove a file parses) and the workspace (to load it for a tool) read
tables through `read_table`, so a file that was accepted is a file the tools can open. A text
table's encoding is decided from all of its bytes (charsets.py); its delimiter and header width
from its first lines, whatever their line endings (LF, CR LF, or the old Mac's CR alone).
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data_science.storage.charsets import UndecodableText, detect_encoding
from data_science.storage.objects import StoredObject, StoredPath

# Copy-on-write lets the frame cache hand out cheap shallow copies that callers cannot corrupt.
pd.set_option("mode.copy_on_write", True)

TEXT_TABLE_EXTENSIONS = frozenset({"csv", "tsv", "txt"})
TABLE_EXTENSIONS = TEXT_TABLE_EXTENSIONS | {"json", "xlsx", "parquet"}
SNIFF_BYTES = 64 * 1024
CANDIDATE_DELIMITERS = ",;\t|"
FRAME_CACHE_SIZE = 8
LINE_BREAK = re.compile(r"\r\n|\r|\n")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class TableReadError(ValueError):
    """The file is not a table we can read; the message says why, in the parser's words."""


@dataclass(frozen=True)
class TextLayout:
    """How a delimited text file is written: its encoding, delimiter and header width."""

    encoding: str
    delimiter: str
    header_columns: int


def detect_delimiter(text: str, extension: str) -> str:
    """The delimiter of `text`, whose line breaks are already LF (the sniffer splits on them)."""
    if extension == "tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(text, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        return "\t" if text.count("\t") > text.count(",") else ","


def text_layout(path: Path, extension: str) -> TextLayout:
    """Read a text table's encoding (from all its bytes) and delimiter (from its start)."""
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if not sample.strip():
        raise TableReadError("the file is empty")
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableReadError("the file contains NUL bytes, so it is binary, not delimited text")
    try:
        encoding = detect_encoding(path)
    except UndecodableText as error:
        raise TableReadError(str(error)) from None
    # Only for sniffing: a character cut at the end of the sample must not stop it.
    text = LINE_BREAK.sub("\n", sample.decode(encoding, errors="replace"))
    delimiter = detect_delimiter(text, extension)
    header = text.split("\n", 1)[0]
    return TextLayout(encoding, delimiter, header.count(delimiter) + 1)


def read_table(path: Path, extension: str, layout: TextLayout | None = None) -> pd.DataFrame:
    """Parse `path` (whose allowed extension is `extension`) into a DataFrame.

    A text table is read as `layout` says, or as `text_layout` finds it.
    """
    try:
        if extension in TEXT_TABLE_EXTENSIONS:
            return _read_delimited(path, layout or text_layout(path, extension))
        if extension == "json":
            return _read_json(path)
        if extension == "xlsx":
            return pd.read_excel(path, engine="openpyxl")
        if extension == "parquet":
            return pd.read_parquet(path)
    except TableReadError:
        raise
    except (ValueError, OSError, csv.Error, UnicodeError, KeyError, IndexError) as error:
        raise TableReadError(f"could not parse the file as {extension.upper()}: {error}") from None
    raise TableReadError(f"'.{extension}' is not a table format")


def _read_delimited(path: Path, layout: TextLayout) -> pd.DataFrame:
    # Decoding is strict (pandas' default): a byte the encoding cannot read fails the read
    # rather than turning into another character.
    frame = pd.read_csv(
        path, sep=layout.delimiter, encoding=layout.encoding, engine="c", low_memory=False
    )
    if frame.shape[1] == 0:
        raise TableReadError("no columns were found")
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    try:
        return pd.read_json(path)
    except ValueError:
        return pd.read_json(path, lines=True)


def column_kind(series: pd.Series) -> str:
    """A short, model-friendly name for a column's type."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "integer" if pd.api.types.is_integer_dtype(series) else "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


def describe_columns(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"name": str(name), "type": column_kind(frame[name])} for name in frame.columns]


def table_summary(frame: pd.DataFrame) -> dict[str, Any]:
    return {"rows": int(frame.shape[0]), "columns": describe_columns(frame)}


def summarize_file(path: Path, extension: str, max_columns: int) -> dict[str, Any]:
    """Parse a file and summarise it (meant to run in a worker process: no frame travels back).

    A text table's summary names the encoding it was read in.
    """
    layout = None
    if extension in TEXT_TABLE_EXTENSIONS:
        try:
            layout = text_layout(path, extension)
        except (OSError, UnicodeError, LookupError) as error:
            raise TableReadError(f"could not read the file as text: {error}") from None
        # A very wide table is refused from its header line, before pandas parses it all.
        if layout.header_columns > max_columns:
            raise TableReadError(_too_wide(layout.header_columns, max_columns))
    frame = read_table(path, extension, layout)
    if frame.shape[1] > max_columns:
        raise TableReadError(_too_wide(frame.shape[1], max_columns))
    summary = table_summary(frame)
    if layout is not None:
        summary["encoding"] = layout.encoding
    return summary


def _too_wide(columns: int, max_columns: int) -> str:
    return f"it has {columns:,} columns; at most {max_columns:,} are accepted (MAX_TABLE_COLUMNS)"


@dataclass(frozen=True)
class TableFile:
    """A small, picklable handle on a stored table: what a worker process needs to open it.

    `path` is the file on DATA_DIR, or (STORAGE_URI set) a `StoredPath` that carries the
    table's `StoredObject` location: the worker fetches the bytes from the store by itself.
    """

    path: Path
    extension: str

    @property
    def location(self) -> StoredObject | None:
        return self.path.location if isinstance(self.path, StoredPath) else None

    def local_path(self) -> Path:
        """The file on this machine (fetched from the store into this machine's cache)."""
        location = self.location
        return location.local_copy() if location is not None else self.path

    def cache_key(self) -> tuple[str, int | str, int | str]:
        """What identifies the table's bytes: its store key and content hash when stored,
        else the file's path, modification time and size (a rewritten file is a new key)."""
        location = self.location
        if location is not None:
            return (location.key, location.sha256 or "", location.store)
        stat = self.path.stat()
        return (str(self.path), stat.st_mtime_ns, stat.st_size)

    def load(self) -> pd.DataFrame:
        """The table as a DataFrame, parsed once per process and then served from a cache."""
        return _frame_cache.get(self)


class _FrameCache:
    """A small LRU of parsed frames, keyed by file identity so a rewritten file is re-read."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._frames: OrderedDict[tuple[str, int | str, int | str], pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, table: TableFile) -> pd.DataFrame:
        key = table.cache_key()
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key].copy(deep=False)
        frame = read_table(table.local_path(), table.extension)
        with self._lock:
            self._frames[key] = frame
            while len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return frame.copy(deep=False)


_frame_cache = _FrameCache(FRAME_CACHE_SIZE)


def write_parquet(frame: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Store a derived table and return its summary (rows and column types)."""
    frame.to_parquet(path, index=False)
    return table_summary(frame)


def copy_as_parquet(table: TableFile, target: Path) -> None:
    """Write a stored table of any format as Parquet (worker-side: the code sandbox reads it)."""
    table.load().to_parquet(target, index=False)
