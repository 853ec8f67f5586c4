"""The rules every ml module shares, written once: the seed, what counts as a numeric column,
and what counts as a row identifier.

Keeping them here means a chart, a cleaning step and a model never disagree about which columns
are numbers or which column merely numbers the rows.
"""

from __future__ import annotations

import re

import pandas as pd

SEED = 42  # every sample, split, search and estimator is seeded with it, so results repeat
ROW_ID_NAME = re.compile(r"^(id|index|row|row_?id|.*_id|unnamed: ?0)$", re.IGNORECASE)
ROW_ID_DISTINCT_SHARE = 0.95


def is_numeric(series: pd.Series) -> bool:
    """Numbers that can be averaged or scaled (booleans are not)."""
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding numbers (not booleans), in table order."""
    return [str(name) for name in frame.columns if is_numeric(frame[name])]


def is_row_id(name: str, distinct: int, rows: int) -> bool:
    """A column named like an identifier whose values (nearly) all differ: it numbers the rows
    and says nothing about them, so it is neither a feature, a measure nor a chart."""
    return bool(ROW_ID_NAME.match(name)) and distinct >= ROW_ID_DISTINCT_SHARE * max(rows, 1)
