"""Large tables: which tables are too big to read whole, and the two ways tools read them instead.

A table is *large* when it is stored as Parquet and has more than LARGE_TABLE_ROWS rows (the
count comes from the file's footer, without reading its rows). Tools then never hold the whole
frame in a worker:
- aggregates (profiles, groupings, chart bins, SQL) run on DuckDB over the Parquet file, with a
  memory limit and the call's share of the cores (`LargeTable`; the queries are in ml/large.py);
- models and point charts see a seeded, uniform random sample of at most SAMPLE_ROWS rows, read
  row group by row group so the other rows are never loaded (`SampledTable`), and every result
  computed on it says so (`sample_facts`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow

from data_science.config import Settings
from data_science.storage.tables import TableFile, as_loaded

SAMPLE_CACHE_SIZE = 2  # samples kept per worker process: a model and its charts reuse one


def table_rows(table: TableFile) -> int | None:
    """The row count of a Parquet table from its footer (None for any other format)."""
    if table.extension != "parquet":
        return None
    return int(_parquet().read_metadata(table.local_path()).num_rows)


def is_large(table: TableFile, settings: Settings) -> bool:
    """Whether `table` is worked on out of memory: Parquet with over LARGE_TABLE_ROWS rows."""
    return large_rows(table, settings) is not None


def large_rows(table: TableFile, settings: Settings) -> int | None:
    """The row count of a large table (`is_large`); None for any other table."""
    rows = table_rows(table)
    return rows if rows is not None and rows > settings.LARGE_TABLE_ROWS else None


@dataclass(frozen=True)
class LargeTable(TableFile):
    """A large table: `load()` still reads it whole (correct, memory-hungry); the aggregating
    computations query its file with DuckDB instead (ml/large.py), and `sample()` gives the
    stated sample."""

    rows: int = 0
    sample_rows: int = 0
    seed: int = 0
    memory_bytes: int = 0

    def sample(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The seeded sample of at most `sample_rows` rows (of `columns`, or all)."""
        return read_sample(self, min(self.sample_rows, self.rows), self.rows, self.seed, columns)


@dataclass(frozen=True)
class SampledTable(TableFile):
    """The table a model sees: `load()` is a seeded, uniform sample of `rows` of its `of` rows,
    the same rows in every process (a model's charts rebuild the split it was trained on)."""

    rows: int = 0
    of: int = 0
    seed: int = 0

    def load(self) -> pd.DataFrame:
        return _samples.get(self)


def for_aggregates(table: TableFile, settings: Settings, seed: int) -> TableFile:
    """`table` as a `LargeTable` when it is large, else unchanged (blocking: reads a footer).

    `seed` (ml/common.SEED) seeds the sample its point charts draw."""
    rows = large_rows(table, settings)
    if rows is None:
        return table
    return LargeTable(
        table.path, table.extension, rows, settings.SAMPLE_ROWS, seed, settings.SQL_MEMORY_BYTES
    )


def for_models(table: TableFile, settings: Settings, seed: int) -> TableFile:
    """`table` as the `SampledTable` a model learns from when it is large, else unchanged."""
    rows = large_rows(table, settings)
    if rows is None or rows <= settings.SAMPLE_ROWS:
        return table
    return SampledTable(table.path, table.extension, settings.SAMPLE_ROWS, rows, seed)


def sample_facts(rows: int, of: int, seed: int) -> dict[str, Any]:
    """What a result computed on a sample says about it (nothing when every row was used)."""
    return {"sample": {"rows": rows, "of": of, "seed": seed}} if rows < of else {}


def model_sample(table: TableFile) -> dict[str, Any]:
    """The `sample` entry of a model tool's result: set when `table` is a `SampledTable`."""
    if not isinstance(table, SampledTable):
        return {}
    return sample_facts(table.rows, table.of, table.seed)


def sample_positions(rows: int, of: int, seed: int) -> np.ndarray:
    """Which of `of` rows the seeded, uniform sample of `rows` takes, in file order."""
    return np.sort(np.random.default_rng(seed).choice(of, size=rows, replace=False))


def read_sample(
    table: TableFile, rows: int, of: int, seed: int, columns: list[str] | None = None
) -> pd.DataFrame:
    """The rows at `sample_positions(rows, of, seed)` (`read_rows`)."""
    return read_rows(table, sample_positions(rows, of, seed), columns)


def read_rows(
    table: TableFile, positions: np.ndarray, columns: list[str] | None = None
) -> pd.DataFrame:
    """The rows at `positions` (ascending), read one row group at a time: only a row group and
    the chosen rows are ever in memory, never the whole table."""
    file = _parquet().ParquetFile(table.local_path())
    pieces = []
    start = 0
    for index in range(file.num_row_groups):
        count = file.metadata.row_group(index).num_rows
        low, high = np.searchsorted(positions, [start, start + count])
        if high > low:
            group = file.read_row_group(index, columns=columns)
            pieces.append(group.take(pyarrow.array(positions[low:high] - start)))
        start += count
    sampled = pyarrow.concat_tables(pieces) if pieces else file.schema_arrow.empty_table()
    return as_loaded(sampled).reset_index(drop=True)


def read_columns(table: LargeTable, columns: list[str]) -> pd.DataFrame:
    """Every row of only `columns` (those that exist, in the file's order), read from the
    file: what `load()` gives, without the columns a computation does not use."""
    wanted = set(columns)
    names = [name for name in _parquet().read_schema(table.local_path()).names if name in wanted]
    return as_loaded(_parquet().read_table(table.local_path(), columns=names))


def empty_frame(table: TableFile) -> pd.DataFrame:
    """No rows, every column with the dtype pandas reads it as: for type checks and messages."""
    return as_loaded(_parquet().read_schema(table.local_path()).empty_table())


class _SampleCache:
    """The last few samples this process read, keyed by the table's bytes and the sample size."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._frames: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, table: SampledTable) -> pd.DataFrame:
        key = (*table.cache_key(), table.rows, table.of, table.seed)
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key].copy(deep=False)
        frame = read_sample(table, table.rows, table.of, table.seed)
        with self._lock:
            self._frames[key] = frame
            while len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return frame.copy(deep=False)


_samples = _SampleCache(SAMPLE_CACHE_SIZE)


def _parquet() -> Any:
    """pyarrow.parquet (untyped), imported when first used: the server imports this module for
    the predicate, and the import would cost its start about 30 ms."""
    import pyarrow.parquet

    return pyarrow.parquet
