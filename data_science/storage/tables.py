"""Reading tabular files into pandas, with encoding and delimiter detection, and summarising them.

Both the upload pipeline (to prove a file parses) and the workspace (to load it for a tool) read
tables through `read_table`, so a file that was accepted is a file the tools can open.
"""

from __future__ import annotations

import codecs
import csv
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

# Copy-on-write lets the frame cache hand out cheap shallow copies that callers cannot corrupt.
pd.set_option("mode.copy_on_write", True)

TEXT_TABLE_EXTENSIONS = frozenset({"csv", "tsv", "txt"})
TABLE_EXTENSIONS = TEXT_TABLE_EXTENSIONS | {"json", "xlsx", "parquet"}
SNIFF_BYTES = 64 * 1024
CANDIDATE_DELIMITERS = ",;\t|"
FRAME_CACHE_SIZE = 8

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class TableReadError(ValueError):
    """The file is not a table we can read; the message says why, in the parser's words."""


def detect_encoding(sample: bytes) -> str:
    """BOMs first, then strict UTF-8, then Latin-1 (which decodes any byte sequence)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if error.start < len(sample) - 4:
            return "latin-1"
    return "utf-8"


def detect_delimiter(text: str, extension: str) -> str:
    if extension == "tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(text, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        return "\t" if text.count("\t") > text.count(",") else ","


def read_table(path: Path, extension: str) -> pd.DataFrame:
    """Parse `path` (whose allowed extension is `extension`) into a DataFrame."""
    try:
        if extension in TEXT_TABLE_EXTENSIONS:
            return _read_delimited(path, extension)
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


def _read_delimited(path: Path, extension: str) -> pd.DataFrame:
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if not sample.strip():
        raise TableReadError("the file is empty")
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableReadError("the file contains NUL bytes, so it is binary, not delimited text")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    delimiter = detect_delimiter(text, extension)
    frame = pd.read_csv(path, sep=delimiter, encoding=encoding, engine="c", low_memory=False)
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
    """Parse a file and summarise it (meant to run in a worker process: no frame travels back)."""
    if extension in TEXT_TABLE_EXTENSIONS:
        _check_header_width(path, extension, max_columns)
    frame = read_table(path, extension)
    if frame.shape[1] > max_columns:
        raise TableReadError(_too_wide(frame.shape[1], max_columns))
    return table_summary(frame)


def _check_header_width(path: Path, extension: str, max_columns: int) -> None:
    """Refuse a very wide text table from its first line, before pandas parses it all."""
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    text = sample.decode(detect_encoding(sample), errors="replace")
    header = text.split("\n", 1)[0]
    columns = header.count(detect_delimiter(text, extension)) + 1
    if columns > max_columns:
        raise TableReadError(_too_wide(columns, max_columns))


def _too_wide(columns: int, max_columns: int) -> str:
    return f"it has {columns:,} columns; at most {max_columns:,} are accepted (MAX_TABLE_COLUMNS)"


@dataclass(frozen=True)
class TableFile:
    """A small, picklable handle on a stored table: what a worker process needs to open it."""

    path: Path
    extension: str

    def load(self) -> pd.DataFrame:
        """The table as a DataFrame, parsed once per process and then served from a cache."""
        return _frame_cache.get(self)


class _FrameCache:
    """A small LRU of parsed frames, keyed by file identity so a rewritten file is re-read."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._frames: OrderedDict[tuple[str, int, int], pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, table: TableFile) -> pd.DataFrame:
        stat = table.path.stat()
        key = (str(table.path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key].copy(deep=False)
        frame = read_table(table.path, table.extension)
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
