"""Correlations between numeric columns: the strongest Pearson and/or Spearman pairs, ranked
fast from correlation matrices and then computed exactly, pair by pair, with p-values."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from data_science.errors import ToolError
from data_science.ml.analysis.common import (
    MAX_TOP_K,
    first_columns,
    load_numeric,
    numeric_listing,
    numeric_values,
    require_numeric,
    unique,
)
from data_science.ml.common import SEED, numeric_columns
from data_science.storage.tables import TableFile

MAX_CORRELATION_COLUMNS = 60
CORRELATION_RANKING_ROWS = 200_000


def correlations(
    table: TableFile, columns: list[str] | None, method: str, top_k: int
) -> dict[str, Any]:
    """The strongest Pearson and/or Spearman correlations between numeric columns, with p-values."""
    if method not in ("pearson", "spearman", "both"):
        raise ToolError(
            f"Unknown method '{method}'. Use 'pearson', 'spearman' or 'both'.", "bad_argument"
        )
    if not 1 <= top_k <= MAX_TOP_K:
        raise ToolError(f"`top_k` must be between 1 and {MAX_TOP_K}.", "bad_argument")
    frame = load_numeric(table, columns or [])
    chosen, note = first_columns(
        _compared_columns(frame, columns),
        MAX_CORRELATION_COLUMNS,
        "were compared",
        "pass `columns` to choose others",
    )
    data = pd.DataFrame({name: numeric_values(frame[name]) for name in chosen})
    if len(chosen) == 2:
        return {
            "method": method,
            "pairs": [_pair(data, chosen[0], chosen[1], method, strict=True)],
            "note": note,
        }
    candidates = _rank_pairs(data, method)
    pairs = [_pair(data, a, b, method, strict=False) for a, b in candidates[:top_k]]
    pairs.sort(key=_pair_strength, reverse=True)
    pairs_total = len(chosen) * (len(chosen) - 1) // 2
    return {
        "method": method,
        "columns_compared": chosen,
        "pairs_total": pairs_total,
        "pairs_undefined": pairs_total - len(candidates),
        "pairs": pairs,
        "note": note,
    }


def _compared_columns(frame: pd.DataFrame, columns: list[str] | None) -> list[str]:
    """The columns asked for (each numeric, two at least), else every numeric column."""
    if columns:
        chosen = unique(columns)
        for name in chosen:
            require_numeric(frame, name, "Correlation")
        if len(chosen) < 2:
            raise ToolError(
                f"A correlation needs two different numeric columns. {numeric_listing(frame)}",
                "too_few_columns",
            )
        return chosen
    chosen = numeric_columns(frame)
    if len(chosen) < 2:
        raise ToolError(
            f"A correlation needs at least two numeric columns. {numeric_listing(frame)}",
            "too_few_columns",
        )
    return chosen


def _rank_pairs(data: pd.DataFrame, method: str) -> list[tuple[str, str]]:
    """Column pairs, strongest first, from correlation matrices (fast, on a sample if large).

    Spearman is ranked from the Pearson correlation of per-column ranks; the reported numbers
    are computed exactly, pair by pair, afterwards.
    """
    sample = (
        data.sample(CORRELATION_RANKING_ROWS, random_state=SEED)
        if len(data) > (CORRELATION_RANKING_ROWS)
        else data
    )
    matrices = []
    if method in ("pearson", "both"):
        matrices.append(sample.corr(method="pearson", min_periods=3).abs())
    if method in ("spearman", "both"):
        matrices.append(sample.rank().corr(method="pearson", min_periods=3).abs())
    strength = np.fmax.reduce([matrix.to_numpy(dtype="float64") for matrix in matrices])
    names = [str(name) for name in data.columns]
    ranked = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            value = float(strength[i, j])
            if math.isfinite(value):
                ranked.append((value, a, names[j]))
    ranked.sort(key=lambda item: item[0], reverse=True)
    return [(a, b) for _, a, b in ranked]


def _pair(data: pd.DataFrame, a: str, b: str, method: str, *, strict: bool) -> dict[str, Any]:
    both = data[[a, b]].dropna()
    x, y = both[a].to_numpy(), both[b].to_numpy()
    pair: dict[str, Any] = {"column_a": a, "column_b": b, "n": len(both)}
    if strict:
        if len(both) < 3:
            raise ToolError(
                f"'{a}' and '{b}' have only {len(both)} rows where both are present; a "
                "correlation needs at least 3.",
                "too_few_rows",
            )
        for name, values in ((a, x), (b, y)):
            if np.all(values == values[0]):
                raise ToolError(
                    f"'{name}' has the same value in every row where both columns are present, "
                    "so its correlation is undefined.",
                    "constant_column",
                )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method in ("pearson", "both"):
            result = stats.pearsonr(x, y)
            pair["pearson_r"] = float(result.statistic)
            pair["pearson_p"] = float(result.pvalue)
        if method in ("spearman", "both"):
            result = stats.spearmanr(x, y)
            pair["spearman_rho"] = float(result.statistic)
            pair["spearman_p"] = float(result.pvalue)
    pair["strength"] = _strength_label(pair)
    return pair


def _pair_strength(pair: dict[str, Any]) -> float:
    values = [abs(pair.get(key) or 0.0) for key in ("pearson_r", "spearman_rho")]
    return max(value for value in values if math.isfinite(value)) if values else 0.0


def _strength_label(pair: dict[str, Any]) -> str:
    coefficient = pair.get("pearson_r", pair.get("spearman_rho"))
    if coefficient is None or not math.isfinite(coefficient):
        return "undefined"
    size = abs(coefficient)
    if size < 0.1:
        return "negligible"
    word = "weak" if size < 0.3 else "moderate" if size < 0.5 else "strong"
    return f"{word} {'positive' if coefficient > 0 else 'negative'}"
