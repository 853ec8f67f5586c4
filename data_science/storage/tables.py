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

import numpy as np
import pandas as pd
import pyarrow
from pyarrow import ArrowException
from pyarrow import csv as arrow_csv_module

from data_science.runtime.workers import job_threads
from data_science.storage import columnar
from data_science.storage.charsets import UndecodableText, detect_encoding
from data_science.storage.columnar import (
    CONVERTED_FROM_CSV,
    ROW_GROUP_ROWS,
    CsvScan,
    as_streamed,
    beyond_int64,
    csv_to_parquet,
    read_converted,
    read_options,
    read_whole_csv,
    scan_csv,
)
from data_science.storage.objects import StoredObject, StoredPath

# pyarrow.csv re-exports compiled code without `__all__`, which strict mypy refuses.
arrow_csv: Any = arrow_csv_module

# Copy-on-write lets the frame cache hand out cheap shallow copies that callers cannot corrupt.
pd.set_option("mode.copy_on_write", True)

TEXT_TABLE_EXTENSIONS = frozenset({"csv", "tsv", "txt"})
TABLE_EXTENSIONS = TEXT_TABLE_EXTENSIONS | {"json", "xlsx", "parquet"}
SNIFF_BYTES = 64 * 1024
SNIFF_TEXT = 16 * 1024  # characters of whole lines the delimiter is guessed from
CANDIDATE_DELIMITERS = ",;\t|"
FRAME_CACHE_SIZE = 8
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Text tables Arrow's CSV reader parses (it reads UTF-8 only, and skips a UTF-8 BOM itself).
ARROW_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "ascii"})

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
    # The sniffer's time grows much faster than its sample (quoted fields make its patterns
    # backtrack: 0.5 s on 64 KB, 0.03 s on 16 KB), so it reads whole lines up to SNIFF_TEXT.
    cut = text.rfind("\n", 0, SNIFF_TEXT)
    sample = text[:cut] if len(text) > SNIFF_TEXT and cut > 0 else text
    try:
        return csv.Sniffer().sniff(sample, delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        return "\t" if sample.count("\t") > sample.count(",") else ","


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
            return _read_parquet(path)
    except TableReadError:
        raise
    except (ValueError, OSError, csv.Error, UnicodeError, KeyError, IndexError) as error:
        raise TableReadError(f"could not parse the file as {extension.upper()}: {error}") from None
    raise TableReadError(f"'.{extension}' is not a table format")


def _read_delimited(path: Path, layout: TextLayout) -> pd.DataFrame:
    # Arrow's reader first (several times faster than pandas' on large files); where it refuses
    # a file (ragged rows, line breaks inside quotes, ...) or reads it differently than pandas
    # would, pandas' own reader decides, as it always did.
    frame = _read_with_arrow(path, layout) if layout.encoding in ARROW_ENCODINGS else None
    if frame is None:
        # Decoding is strict (pandas' default): a byte the encoding cannot read fails the read
        # rather than turning into another character.
        frame = pd.read_csv(
            path, sep=layout.delimiter, encoding=layout.encoding, engine="c", low_memory=False
        )
    if frame.shape[1] == 0:
        raise TableReadError("no columns were found")
    return frame


def _read_with_arrow(path: Path, layout: TextLayout) -> pd.DataFrame | None:
    """The table as pandas' `read_csv` would read it, parsed by Arrow; None where Arrow cannot
    give that answer (the caller then reads the file with pandas)."""
    pyarrow.set_cpu_count(job_threads())  # this call's share of the cores
    parse, convert = read_options(layout.delimiter)
    try:
        table = arrow_csv.read_csv(path, parse_options=parse, convert_options=convert)
        names = table.column_names
        if "" in names or len(set(names)) < len(names):
            return None  # pandas names these columns itself ("Unnamed: 0", "a.1")
        table = _as_text_where_pandas_keeps_text(table, path, parse, convert)
    except (ArrowException, UnicodeError):
        return None
    if any(beyond_int64(column) for column in table.columns):
        return None
    return _as_read_csv(table)


def _as_read_csv(table: pyarrow.Table) -> pd.DataFrame:
    """The frame pandas' read_csv gives for a table Arrow read from a CSV (in place: the Arrow
    table must not be used again)."""
    # A column with no value at all: float NaN in pandas, Arrow's null type (objects) here.
    empty = [field.name for field in table.schema if pyarrow.types.is_null(field.type)]
    # Missing text or booleans: NaN in pandas, None from Arrow.
    gaps = [
        field.name
        for field, column in zip(table.schema, table.columns, strict=True)
        if column.null_count and (pyarrow.types.is_string(field.type) or field.type == "bool")
    ]
    # Self-destruct frees each Arrow column once converted: the table is never held twice.
    frame: pd.DataFrame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    for name in gaps:
        frame[name] = frame[name].where(frame[name].notna(), np.nan)
    return frame.astype(dict.fromkeys(empty, "float64")) if empty else frame


def _as_text_where_pandas_keeps_text(
    table: pyarrow.Table, path: Path, parse: Any, convert: Any
) -> pyarrow.Table:
    """pandas leaves dates and times as text. Arrow infers a date only from exactly YYYY-MM-DD,
    which its text cast writes back the same; times and timestamps (written many ways) and
    decimals are read again, those columns only, as text."""
    reread = []
    for index, field in enumerate(table.schema):
        if pyarrow.types.is_date32(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(pyarrow.string()))
        elif pyarrow.types.is_temporal(field.type) or pyarrow.types.is_decimal(field.type):
            reread.append(field.name)
    if reread:
        convert.column_types = dict.fromkeys(reread, pyarrow.string())
        convert.include_columns = reread
        text = arrow_csv.read_csv(path, parse_options=parse, convert_options=convert)
        for name in reread:
            table = table.set_column(table.column_names.index(name), name, text.column(name))
    return table


def _read_parquet(path: Path) -> pd.DataFrame:
    # A large CSV stored as Parquet at upload (columnar.py) reads as the CSV did, NaN for a
    # missing text; any other Parquet file as pandas reads it.
    table = read_converted(path)
    return pd.read_parquet(path) if table is None else _as_read_csv(table)


def as_loaded(table: pyarrow.Table) -> pd.DataFrame:
    """Rows of a stored Parquet file (some of them, or some columns) as `TableFile.load()`
    gives them (in place: the Arrow table must not be used again)."""
    if CONVERTED_FROM_CSV in (table.schema.metadata or {}):
        return _as_read_csv(table)
    frame: pd.DataFrame = table.to_pandas()
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


def summarize_file(
    path: Path,
    extension: str,
    max_columns: int,
    large_rows: int | None = None,
    parquet_target: Path | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> dict[str, Any]:
    """Parse a file and summarise it (meant to run in a worker process: no frame travels back).

    A text table's summary names the encoding it was read in. A UTF-8 one is read by Arrow: in
    one multi-threaded read up to `columnar.WHOLE_READ_BYTES`, as a stream beyond (memory bounded
    whatever its size); if it has more than `large_rows` rows it is also written
    to `parquet_target` as Parquet (columnar.py) and its summary says `"stored_as": "parquet"`.
    """
    if extension not in TEXT_TABLE_EXTENSIONS:
        return _checked_summary(read_table(path, extension), max_columns)
    try:
        layout = text_layout(path, extension)
    except (OSError, UnicodeError, LookupError) as error:
        raise TableReadError(f"could not read the file as text: {error}") from None
    # A very wide table is refused from its header line, before anything parses it all.
    if layout.header_columns > max_columns:
        raise TableReadError(_too_wide(layout.header_columns, max_columns))
    whole = path.stat().st_size <= columnar.WHOLE_READ_BYTES
    scan = _scan_text(path, layout, whole)
    if scan is None:  # what Arrow cannot read as pandas does is read as it always was
        summary = _checked_summary(read_table(path, extension, layout), max_columns)
    else:
        if len(scan.schema) > max_columns:
            raise TableReadError(_too_wide(len(scan.schema), max_columns))
        summary = {"rows": scan.rows, "columns": scan.kinds()}
    summary["encoding"] = layout.encoding
    if scan is None or large_rows is None or parquet_target is None or scan.rows <= large_rows:
        return summary
    # The conversion streams with the types the file's head decides (its second pass): a table
    # read whole is stored as Parquet where it streams with those, as a streamed one is.
    scan = as_streamed(scan, path, layout.delimiter) if whole else scan
    if scan is not None and csv_to_parquet(
        path, layout.delimiter, scan, parquet_target, row_group_rows
    ):
        summary["stored_as"] = "parquet"
    return summary


def _scan_text(path: Path, layout: TextLayout, whole: bool) -> CsvScan | None:
    """A UTF-8 table's scan: from one read of all of it if `whole`, else streamed."""
    if layout.encoding not in ARROW_ENCODINGS:
        return None
    return read_whole_csv(path, layout.delimiter) if whole else scan_csv(path, layout.delimiter)


def _checked_summary(frame: pd.DataFrame, max_columns: int) -> dict[str, Any]:
    if frame.shape[1] > max_columns:
        raise TableReadError(_too_wide(frame.shape[1], max_columns))
    return table_summary(frame)


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
