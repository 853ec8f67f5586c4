"""Text tables read by Arrow's streaming CSV reader: summarised, and written as Parquet, in
bounded memory whatever their size.

`scan_csv` reads a UTF-8 table batch by batch and keeps only what the summary needs: the row
count, each column's Arrow type and whether it has a missing cell. From those it tells the column
kinds pandas' `read_csv` would give (`CsvScan.kinds`) and the Parquet schema whose pandas read is
that frame (`CsvScan.parquet_schema`). `read_whole_csv` finds the same from one multi-threaded
read of a file up to WHOLE_READ_BYTES (much faster than the stream). `csv_to_parquet` then streams
the file again into Parquet.

Arrow's streaming reader decides each column's type from the file's first block. Where a later
block does not fit it (a word far down a column of numbers), or the table is one Arrow reads
differently from pandas, the scan answers None and the caller reads the file as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow
from pyarrow import ArrowException
from pyarrow import compute as arrow_compute_module
from pyarrow import csv as arrow_csv_module

from data_science.runtime.workers import job_threads

# pyarrow.csv and .compute re-export compiled code without `__all__`, which strict mypy refuses.
arrow_csv: Any = arrow_csv_module
arrow_compute: Any = arrow_compute_module

# The cells pandas' read_csv reads as missing (its default `na_values`, and the empty cell).
PANDAS_NULLS = sorted(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
# The column types are Arrow's guesses from the file's first INFER_BYTES (more of the file seen
# before deciding: fewer files fall back); the file is then streamed BLOCK_BYTES at a time with
# those types. Arrow's streaming reader reads several blocks ahead (measured: about ten times its
# block size held), so it streams small blocks and the types come from one plain read of the head.
INFER_BYTES = 16 * 1024 * 1024
BLOCK_BYTES = 1024 * 1024
# A file up to this size is summarised from one multi-threaded read of all of it instead: as fast
# as Arrow reads (measured on 50 MB: about 0.3 s against 0.55 s streamed), and its Arrow table,
# about twice the file, is no concern at this size. Only a larger file streams.
WHOLE_READ_BYTES = 64 * 1024 * 1024
# A Parquet row group holds at most this many rows, or this many bytes of Arrow data (a wide
# table's groups are shorter): what the conversion holds in memory at once.
ROW_GROUP_ROWS = 1_000_000
ROW_GROUP_BYTES = 128 * 1024 * 1024
# The types Arrow guesses that pandas reads alike (text, floats, whole numbers, booleans, empty).
READ_AS_INFERRED = frozenset(
    {pyarrow.string(), pyarrow.float64(), pyarrow.int64(), pyarrow.bool_(), pyarrow.null()}
)
# Key in a converted file's Parquet metadata: its pandas read follows read_csv (see tables.py).
CONVERTED_FROM_CSV = b"data_science.converted_from_csv"


@dataclass(frozen=True)
class CsvScan:
    """What one streamed pass over a text table found."""

    rows: int
    schema: pyarrow.Schema  # the types every batch was read with (dates and times as text)
    with_gaps: frozenset[str]  # the columns with a missing cell

    def kinds(self) -> list[dict[str, str]]:
        """Each column's kind as `tables.column_kind` names the dtype pandas gives it."""
        return [
            {"name": field.name, "type": _pandas_kind(field.type, field.name in self.with_gaps)}
            for field in self.schema
        ]

    def parquet_schema(self) -> pyarrow.Schema:
        """Whole numbers with a gap and empty columns as floats, as pandas reads them."""
        fields = [
            field.with_type(pyarrow.float64())
            if pyarrow.types.is_null(field.type)
            or (pyarrow.types.is_integer(field.type) and field.name in self.with_gaps)
            else field
            for field in self.schema
        ]
        return pyarrow.schema(fields, metadata={CONVERTED_FROM_CSV: b"1"})


def _pandas_kind(arrow_type: pyarrow.DataType, gaps: bool) -> str:
    if pyarrow.types.is_null(arrow_type) or pyarrow.types.is_floating(arrow_type):
        return "number"  # an empty column is float NaN in pandas
    if pyarrow.types.is_integer(arrow_type):
        return "number" if gaps else "integer"
    if pyarrow.types.is_boolean(arrow_type):
        return "text" if gaps else "boolean"  # booleans with a gap are objects in pandas
    return "text"


def read_options(delimiter: str) -> tuple[Any, Any]:
    """Arrow's parse and convert options that read cells as pandas' read_csv does."""
    convert = arrow_csv.ConvertOptions(null_values=PANDAS_NULLS, strings_can_be_null=True)
    return arrow_csv.ParseOptions(delimiter=delimiter), convert


def beyond_int64(column: pyarrow.Array | pyarrow.ChunkedArray) -> bool:
    """Whether a float column holds whole numbers past int64, which pandas reads as uint64 or
    text but Arrow as floats."""
    if not pyarrow.types.is_floating(column.type):
        return False
    largest = arrow_compute.max(arrow_compute.abs(column)).as_py()
    return largest is not None and largest >= 2**63


def _open(
    path: Path, delimiter: str, column_types: dict[str, pyarrow.DataType], block_bytes: int
) -> Any:
    parse, convert = read_options(delimiter)
    convert.column_types = column_types
    return arrow_csv.open_csv(
        path,
        read_options=arrow_csv.ReadOptions(block_size=block_bytes),
        parse_options=parse,
        convert_options=convert,
    )


def _text_types(schema: pyarrow.Schema) -> dict[str, pyarrow.DataType] | None:
    """The column types to read the file with: Arrow's guesses, with dates, times and decimals
    as text (pandas leaves them text); None if Arrow guessed a type pandas has no match for."""
    types: dict[str, pyarrow.DataType] = {}
    for field in schema:
        if pyarrow.types.is_temporal(field.type) or pyarrow.types.is_decimal(field.type):
            types[field.name] = pyarrow.string()
        elif field.type in READ_AS_INFERRED:
            types[field.name] = field.type
        else:
            return None  # e.g. binary (not valid UTF-8): the whole-file read decides
    return types


def scan_csv(path: Path, delimiter: str) -> CsvScan | None:
    """Stream a UTF-8 text table once; None where only the whole-file read gives pandas' answer."""
    pyarrow.set_cpu_count(job_threads())  # this call's share of the cores
    try:
        first = _read_head(path, delimiter)
        if first is None:
            return None
        table, types, whole = first
        if whole:  # a small file: its first read is all of it (gaps and values are the same)
            return _scan(table.to_batches(), types)
        del table, first
        with _open(path, delimiter, types, BLOCK_BYTES) as reader:
            return _scan(reader, types)
    except (ArrowException, UnicodeError):
        return None  # a type that changes late, ragged rows, ...: read as it always was


def as_streamed(scan: CsvScan, path: Path, delimiter: str) -> CsvScan | None:
    """`scan` (of a file read whole) with the column types a stream of the file is read with,
    Arrow's guesses from its head, for `csv_to_parquet`: where a later value does not fit them
    the conversion fails, as the streamed scan would have. None if the head does not read."""
    pyarrow.set_cpu_count(job_threads())
    try:
        first = _read_head(path, delimiter)
    except (ArrowException, UnicodeError):
        return None
    return None if first is None else CsvScan(scan.rows, pyarrow.schema(first[1]), scan.with_gaps)


def _read_head(
    path: Path, delimiter: str
) -> tuple[pyarrow.Table, dict[str, pyarrow.DataType], bool] | None:
    """Arrow's read of the file's head, the column types to stream the file with, and whether
    the head is all of it; None where pandas' answer needs the whole-file read."""
    head, whole = _head(path)
    parse, convert = read_options(delimiter)
    first = arrow_csv.read_csv(
        pyarrow.py_buffer(head), parse_options=parse, convert_options=convert
    )
    del head
    names = first.schema.names
    if not names or "" in names or len(set(names)) < len(names):
        return None  # pandas names these columns itself ("Unnamed: 0", "a.1")
    types = _text_types(first.schema)
    return None if types is None else (first, types, whole)


def read_whole_csv(path: Path, delimiter: str) -> CsvScan | None:
    """What `scan_csv` finds, from one multi-threaded read of the whole file (Arrow decides each
    column's type from all of it, as the whole-file read of `tables.read_table` does); None where
    only that read, or pandas', gives pandas' answer."""
    pyarrow.set_cpu_count(job_threads())  # this call's share of the cores
    parse, convert = read_options(delimiter)
    try:
        table = arrow_csv.read_csv(path, parse_options=parse, convert_options=convert)
    except (ArrowException, UnicodeError):
        return None  # ragged rows, ...: read as it always was
    names = table.schema.names
    if not names or "" in names or len(set(names)) < len(names):
        return None  # pandas names these columns itself ("Unnamed: 0", "a.1")
    types = _text_types(table.schema)
    if types is None:
        return None
    return _scan(table.to_batches(), types)


def _head(path: Path) -> tuple[bytes, bool]:
    """The file's first INFER_BYTES, cut after a line's end; and whether that is all of it."""
    with path.open("rb") as handle:
        head = handle.read(INFER_BYTES + 1)
    if len(head) <= INFER_BYTES:
        return head, True
    return head[: max(head.rfind(b"\n"), head.rfind(b"\r")) + 1], False


def _scan(
    batches: Iterable[pyarrow.RecordBatch], types: dict[str, pyarrow.DataType]
) -> CsvScan | None:
    rows, gaps = 0, set()
    for batch in batches:
        rows += batch.num_rows
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if column.null_count:
                gaps.add(name)
            if beyond_int64(column):
                return None
    return CsvScan(rows, pyarrow.schema(types), frozenset(gaps))


def csv_to_parquet(
    path: Path, delimiter: str, scan: CsvScan, target: Path, row_group_rows: int = ROW_GROUP_ROWS
) -> bool:
    """Write the scanned table at `path` to `target` as Parquet, a row group at a time; False
    (and no file) if Arrow refuses it on this second pass (the caller keeps the text file)."""
    pyarrow.set_cpu_count(job_threads())
    try:
        _convert(path, delimiter, scan, target, row_group_rows)
    except (ArrowException, UnicodeError):
        target.unlink(missing_ok=True)
        return False
    return True


def _convert(path: Path, delimiter: str, scan: CsvScan, target: Path, row_group_rows: int) -> None:
    schema = scan.parquet_schema()
    pending: list[pyarrow.RecordBatch] = []
    with (
        _open(
            path,
            delimiter,
            dict(zip(scan.schema.names, scan.schema.types, strict=True)),
            BLOCK_BYTES,
        ) as reader,
        _parquet().ParquetWriter(target, schema) as writer,
    ):
        for batch in reader:
            # Unchecked, as pandas converts: a whole number past 2**53 rounds to its float.
            pending.append(batch.cast(schema, safe=False))
            if sum(held.num_rows for held in pending) >= row_group_rows:
                pending = _write_whole_groups(writer, pending, row_group_rows)
            elif sum(held.nbytes for held in pending) >= ROW_GROUP_BYTES:
                _write_group(writer, pyarrow.Table.from_batches(pending))
                pending = []
        if pending:
            _write_group(writer, pyarrow.Table.from_batches(pending))


def _write_whole_groups(
    writer: Any, batches: list[pyarrow.RecordBatch], row_group_rows: int
) -> list[pyarrow.RecordBatch]:
    """Write as many full row groups as `batches` hold; return the rows left over."""
    table = pyarrow.Table.from_batches(batches)
    whole = table.num_rows - table.num_rows % row_group_rows
    writer.write_table(table.slice(0, whole), row_group_size=row_group_rows)
    left: list[pyarrow.RecordBatch] = table.slice(whole).to_batches()
    return left


def _write_group(writer: Any, table: pyarrow.Table) -> None:
    writer.write_table(table, row_group_size=max(1, table.num_rows))


def is_converted(path: Path) -> bool:
    """Whether the Parquet file at `path` is one `csv_to_parquet` wrote (reads its footer)."""
    return CONVERTED_FROM_CSV in (_parquet().read_schema(path).metadata or {})


def read_converted(path: Path) -> pyarrow.Table | None:
    """The Arrow table of a Parquet file `csv_to_parquet` wrote; None for any other file."""
    if not is_converted(path):
        return None
    table: pyarrow.Table = _parquet().read_table(path)
    return table


def _parquet() -> Any:
    """pyarrow.parquet (untyped), imported when first used: the server imports this module but
    only workers read or write Parquet, and the import costs the server's start about 30 ms."""
    import pyarrow.parquet

    return pyarrow.parquet
