"""The rules every ml module shares, written once: the seed, what counts as a numeric column,
what counts as a row identifier, and which standard deviation is meant.

Keeping them here means a chart, a cleaning step and a model never disagree about which columns
are numbers or which column merely numbers the rows.
"""

from __future__ import annotations

import re

import pandas as pd

from data_science.errors import ToolError

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


# A standard deviation divides the squared deviations by n - 1 (the sample's, estimating the
# spread of the population it was drawn from: pandas' default) or by n (the population's, when
# the rows are the whole population: numpy's default).
STD_DDOF = {"sample": 1, "population": 0}
STD_MEANING = {
    "sample": "sample standard deviation (divides by n - 1)",
    "population": "population standard deviation (divides by n)",
}


def std_ddof(std: str) -> int:
    """The delta degrees of freedom of the standard deviation called `std`."""
    if std not in STD_DDOF:
        raise ToolError(
            f"std can be 'sample' (divides by n - 1) or 'population' (divides by n); got '{std}'.",
            "bad_argument",
        )
    return STD_DDOF[std]
