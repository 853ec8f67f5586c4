"""Cleaning a table: filling missing values, dropping, renaming and converting columns, removing
duplicate rows and handling outliers. Each step writes a new derived table (see `common.finish`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (enables the import below)
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.preprocessing import StandardScaler

from data_science.errors import ToolError
from data_science.ml.common import SEED, is_numeric, numeric_columns
from data_science.ml.prep.common import (
    clip,
    finish,
    listed,
    listed_entries,
    numeric_columns_to_treat,
    quoted,
    require_numeric,
    to_datetime,
)
from data_science.ml.prep.numbers import NumberReading, read_numbers
from data_science.storage.tables import TableFile

MAX_EXAMPLES = 5
FIT_SAMPLE_ROWS = 20_000
KNN_NEIGHBORS = 5
ITERATIVE_ROUNDS = 10
NUMERIC_IMPUTE = frozenset({"mean", "median", "knn", "iterative"})
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0", "off"})


# Imputation ----------------------------------------------------------------------------------
def impute_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    columns: list[str] | None,
    strategy: str,
    fill_value: str | None,
) -> dict[str, Any]:
    """Fill missing values with a per-column statistic, a constant, KNN or iterative imputation.

    With `columns` None, every column with missing values is treated (numeric ones only for the
    numeric strategies; text columns then appear under `skipped_columns`).
    """
    frame = table.load()
    targets, skipped = _columns_to_fill(frame, columns, strategy)
    missing = {c: int(frame[c].isna().sum()) for c in targets}
    result = frame.copy()
    details: dict[str, Any] = {"strategy": strategy}
    if strategy in {"mean", "median", "most_frequent", "constant"}:
        values = {c: _simple_fill_value(frame[c], strategy, fill_value) for c in targets}
        for column, value in values.items():
            result[column] = _fill(frame[column], value)
        # Text fill values reach the model as placeholders in summary mode (model_view).
        details["fill_values"] = listed_entries(values)
    else:
        details.update(_model_impute(frame, result, targets, strategy))
    still = {c: int(result[c].isna().sum()) for c in targets}
    gap_rows = frame.index[frame[targets].isna().any(axis=1)]
    filled = {c: missing[c] - still[c] for c in targets}
    return finish(
        frame,
        result,
        out_path,
        f"filled {sum(filled.values())} missing values in {len(targets)} column(s) "
        f"with strategy '{strategy}'",
        summary_only,
        changed=targets,
        preview_rows=gap_rows,
        filled_per_column=listed_entries(filled),
        still_missing=listed_entries({c: n for c, n in still.items() if n}) or None,
        skipped_columns=listed_entries(skipped) or None,
        **details,
    )


def _columns_to_fill(
    frame: pd.DataFrame, columns: list[str] | None, strategy: str
) -> tuple[list[str], dict[str, str]]:
    """The columns with gaps that `strategy` can fill, and the columns with gaps it skips."""
    skipped: dict[str, str] = {}
    numeric_only = strategy in NUMERIC_IMPUTE
    if columns is None:
        gaps = [str(c) for c in frame.columns if frame[c].isna().any()]
        chosen = [c for c in gaps if is_numeric(frame[c])] if numeric_only else gaps
        for column in gaps:
            if column not in chosen:
                skipped[column] = "not numeric: use strategy 'most_frequent' or 'constant'"
    else:
        chosen = list(columns)
        if numeric_only:
            require_numeric(frame, chosen, f"strategy '{strategy}'")
    targets = [c for c in chosen if frame[c].isna().any()]
    if not targets:
        where = f"columns {quoted(chosen)}" if chosen else "numeric columns"
        raise ToolError(
            f"There are no missing values to fill in the {where}"
            + (f" (text columns with gaps: {quoted(list(skipped))})" if skipped else "")
            + ".",
            code="nothing_to_fill",
        )
    empty = [c for c in targets if frame[c].notna().sum() == 0]
    if empty and strategy != "constant":
        raise ToolError(
            f"{quoted(empty)} {'has' if len(empty) == 1 else 'have'} no values at all, so "
            f"'{strategy}' cannot estimate a fill. Drop it with drop_columns or use "
            "strategy='constant' with a fill_value.",
            code="empty_column",
        )
    return targets, skipped


def _simple_fill_value(series: pd.Series, strategy: str, fill_value: str | None) -> Any:
    values = series.dropna()
    if strategy == "mean":
        return float(values.mean())
    if strategy == "median":
        return float(values.median())
    if strategy == "most_frequent":
        counts = values.value_counts()
        top = counts[counts == counts.max()].index
        try:
            return sorted(top)[0]  # the smallest of tied values, as scikit-learn does
        except TypeError:
            return top[0]
    if fill_value is None:
        raise ToolError(
            "strategy='constant' needs a fill_value (for example '0' or 'unknown').",
            code="missing_fill_value",
        )
    if is_numeric(series):
        try:
            return float(fill_value)
        except ValueError:
            raise ToolError(
                f"'{series.name}' is numeric, so fill_value must be a number, not "
                f"'{fill_value}'. Use a number, or cast the column to text first.",
                code="bad_fill_value",
            ) from None
    if pd.api.types.is_datetime64_any_dtype(series):
        try:
            return pd.Timestamp(fill_value)
        except ValueError:
            raise ToolError(
                f"'{series.name}' holds dates, so fill_value must be a date such as "
                f"'2024-01-31', not '{fill_value}'.",
                code="bad_fill_value",
            ) from None
    return fill_value


def _fill(series: pd.Series, value: Any) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype) and value not in series.cat.categories:
        series = series.cat.add_categories([value])
    if pd.api.types.is_integer_dtype(series):  # nullable Int64 takes whole numbers only
        if float(value).is_integer():
            value = int(value)
        else:
            series = series.astype(float)
    return series.fillna(value)


def _model_impute(
    frame: pd.DataFrame, result: pd.DataFrame, targets: list[str], strategy: str
) -> dict[str, Any]:
    """KNN or iterative imputation, using every numeric column as evidence."""
    evidence = [c for c in numeric_columns(frame) if frame[c].notna().any()]
    if strategy == "knn" and len(evidence) < 2:
        raise ToolError(
            "strategy='knn' finds similar rows through the other numeric columns, and this "
            "table has only one numeric column. Use 'median' or 'mean' instead.",
            code="too_few_columns",
        )
    values = frame[evidence].astype(float)
    fit_rows = _sample_index(frame, FIT_SAMPLE_ROWS)
    details: dict[str, Any] = {"evidence_columns": listed(evidence)}
    if strategy == "knn":
        scaler = StandardScaler().fit(values)
        scaled = scaler.transform(values)
        imputer = KNNImputer(n_neighbors=KNN_NEIGHBORS, keep_empty_features=True)
        filled = scaler.inverse_transform(_fit_and_fill(imputer, scaled, frame, fit_rows))
        details["method"] = (
            f"KNNImputer, {KNN_NEIGHBORS} nearest rows by standardized numeric columns"
        )
    else:
        imputer = IterativeImputer(
            random_state=SEED, max_iter=ITERATIVE_ROUNDS, keep_empty_features=True
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            filled = _fit_and_fill(imputer, values.to_numpy(), frame, fit_rows)
        details["method"] = f"IterativeImputer (BayesianRidge), seed {SEED}, up to 10 rounds"
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            details["note"] = "The iterative imputer had not fully converged after 10 rounds."
    if len(fit_rows) < len(frame):
        details["fitted_on_rows"] = f"a random sample of {len(fit_rows):,} rows (seed {SEED})"
    frame_filled = pd.DataFrame(filled, index=frame.index, columns=evidence)
    for column in targets:
        result[column] = frame[column].astype(float).fillna(frame_filled[column])
    return details


def _fit_and_fill(imputer: Any, values: np.ndarray, frame: pd.DataFrame, rows: pd.Index) -> Any:
    """Impute `values`: fitted on all rows, or on the sampled `rows` of a large table."""
    if len(rows) == len(frame):
        return imputer.fit_transform(values)
    return imputer.fit(values[frame.index.get_indexer(rows)]).transform(values)


def _sample_index(frame: pd.DataFrame, rows: int) -> pd.Index:
    if len(frame) <= rows:
        return frame.index
    return frame.sample(n=rows, random_state=SEED).index


def drop_columns_to_file(
    table: TableFile, out_path: Path, summary_only: bool, columns: list[str]
) -> dict[str, Any]:
    frame = table.load()
    if len(set(columns)) >= frame.shape[1]:
        raise ToolError(
            "That would drop every column. Name only the columns to remove.", "no_columns_left"
        )
    result = frame.drop(columns=columns)
    return finish(frame, result, out_path, f"dropped {quoted(columns)}", summary_only)


def rename_columns_to_file(
    table: TableFile, out_path: Path, summary_only: bool, mapping: dict[str, str]
) -> dict[str, Any]:
    frame = table.load()
    blank = [old for old, new in mapping.items() if not str(new).strip()]
    if blank:
        raise ToolError(f"New names must not be empty (for {quoted(blank)}).", "bad_name")
    final = [mapping.get(str(c), str(c)) for c in frame.columns]
    duplicates = sorted({name for name in final if final.count(name) > 1})
    if duplicates:
        raise ToolError(
            f"Renaming would give two columns the name {quoted(duplicates)}. Choose names not "
            f"already used; existing columns: {quoted([str(c) for c in frame.columns])}.",
            code="name_collision",
        )
    result = frame.rename(columns=mapping)
    changes = {old: new for old, new in mapping.items() if old != new}
    return finish(
        frame,
        result,
        out_path,
        "renamed " + ", ".join(f"'{o}' to '{n}'" for o, n in changes.items()),
        summary_only,
        renamed=changes,
    )


def cast_column_to_file(
    table: TableFile, out_path: Path, summary_only: bool, column: str, to: str
) -> dict[str, Any]:
    """Convert one column's type; values that cannot be converted become missing (counted).

    Text read as numbers may carry thousands separators, currency and percent signs and
    accounting parentheses (`numbers.read_numbers`); the action sentence says what was read.
    """
    frame = table.load()
    source = frame[column]
    converted, reading = _convert(source, to)
    failed_mask = source.notna() & converted.isna()
    failed = int(failed_mask.sum())
    result = frame.assign(**{column: converted})
    details: dict[str, Any] = {
        "column": column,
        "from_type": str(source.dtype),
        "to_type": str(converted.dtype),
        "converted": int(source.notna().sum()) - failed,
        "could_not_convert": failed,
        "already_missing": int(source.isna().sum()),
    }
    if failed and not summary_only:
        examples = source[failed_mask].astype(str).drop_duplicates().head(MAX_EXAMPLES)
        details["unconvertible_examples"] = [clip(v) for v in examples]
    notes = []
    if failed:
        notes.append(f"{failed} value(s) could not be read as {to} and are now missing.")
        if to == "integer":
            notes.append("Whole numbers only: use to='number' to keep decimals.")
    if reading is not None and (mixed := reading.mixed_currencies()):
        notes.append(mixed)
    details["note"] = " ".join(notes) or None
    action = f"converted '{column}' to {to} ({failed} value(s) could not be converted)"
    if reading is not None and reading.sentences():
        action += "; " + "; ".join(reading.sentences())
    return finish(
        frame,
        result,
        out_path,
        action,
        summary_only,
        changed=[column],
        preview_rows=frame.index[failed_mask] if failed else None,
        **details,
    )


def _convert(series: pd.Series, to: str) -> tuple[pd.Series, NumberReading | None]:
    """The converted column, and for text read as numbers what was cleaned to read it."""
    if to in {"number", "integer"}:
        reading = None
        if is_numeric(series) or pd.api.types.is_bool_dtype(series):
            numbers = series.astype(float)
        else:
            reading = read_numbers(series)
            numbers = reading.values
        if to == "number":
            return numbers, reading
        whole = numbers.where(np.isfinite(numbers) & (numbers == np.round(numbers)))
        return whole.astype("Int64"), reading
    if to == "text":
        return series.map(str, na_action="ignore").astype(object), None
    if to == "category":
        return series.astype("category"), None
    if to == "boolean":
        return _to_boolean(series), None
    return to_datetime(series), None


def _to_boolean(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    words = series.astype("string").str.strip().str.lower()
    result = pd.Series(pd.NA, index=series.index, dtype="boolean")
    result[words.isin(TRUE_WORDS).fillna(False).astype(bool)] = True
    result[words.isin(FALSE_WORDS).fillna(False).astype(bool)] = False
    return result


def remove_duplicates_to_file(
    table: TableFile, out_path: Path, summary_only: bool, columns: list[str] | None, keep: str
) -> dict[str, Any]:
    frame = table.load()
    keep_arg: Any = False if keep == "none" else keep
    duplicated = frame.duplicated(subset=columns, keep=keep_arg)
    result = frame[~duplicated]
    removed = int(duplicated.sum())
    groups = int(
        frame[frame.duplicated(subset=columns, keep=False)].drop_duplicates(columns).shape[0]
    )
    basis = f"columns {quoted(columns)}" if columns else "all columns"
    return finish(
        frame,
        result,
        out_path,
        f"removed {removed} duplicate row(s) judged on {basis}, keeping "
        + ("no copy" if keep == "none" else f"the {keep} copy"),
        summary_only,
        compared_on=columns or "all columns",
        keep=keep,
        rows_removed=removed,
        duplicate_groups=groups,
    )


def handle_outliers_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    columns: list[str] | None,
    method: str,
    action: str,
    threshold: float | None,
) -> dict[str, Any]:
    """Find values outside IQR fences or z-score bounds, then clip them or remove their rows.

    IQR: below Q1 - t*IQR or above Q3 + t*IQR (t = 1.5 by default; linear quartiles).
    z-score: more than t population standard deviations (ddof=0) from the mean (t = 3).
    Missing values are never outliers. Columns with no spread are skipped.
    """
    frame = table.load()
    threshold = threshold if threshold is not None else (1.5 if method == "iqr" else 3.0)
    if threshold <= 0:
        raise ToolError("threshold must be a positive number (1.5 for IQR, 3 for z-score).")
    if columns is None:
        chosen, skipped = numeric_columns_to_treat(frame, _two_values_or_fewer)
    else:
        require_numeric(frame, columns, "Outlier handling")
        chosen, skipped = list(columns), {}
    outside, bounds = _flag_outliers(frame, chosen, method, threshold, skipped)
    found = sum(b["below"] + b["above"] for b in bounds.values())
    if action == "remove":
        result = frame[~outside]
        action_text = f"removed {int(outside.sum())} row(s) holding {found} outlier value(s)"
        changed: list[str] = []
    else:
        result = frame.copy()
        changed = [c for c, b in bounds.items() if b["below"] + b["above"]]
        for column in changed if action == "clip" else []:
            result[column] = (
                frame[column].astype(float).clip(bounds[column]["lower"], bounds[column]["upper"])
            )
        action_text = f"clipped {found} outlier value(s) to the bounds"
    return finish(
        frame,
        result,
        out_path,
        f"{action_text} ({method}, threshold {threshold}) in {len(bounds)} column(s)",
        summary_only,
        changed=changed,
        preview_rows=frame.index[outside] if action == "clip" else None,
        **_outlier_details(method, threshold, action, outside, bounds, skipped),
    )


def _two_values_or_fewer(series: pd.Series) -> str | None:
    """Flags and other two-valued numbers have no outliers to speak of."""
    return "two or fewer distinct values" if series.nunique() <= 2 else None


def _flag_outliers(
    frame: pd.DataFrame, chosen: list[str], method: str, threshold: float, skipped: dict[str, str]
) -> tuple[pd.Series, dict[str, dict[str, Any]]]:
    """Which rows hold an outlier, and each column's bounds with its counts below and above.
    Columns with no spread are added to `skipped`; if no column is left, say so."""
    outside = pd.Series(False, index=frame.index)
    bounds: dict[str, dict[str, Any]] = {}
    for column in chosen:
        values = frame[column].astype(float)
        lower, upper, spread = _bounds(values.dropna(), method, threshold)
        if not spread:
            skipped[column] = "no spread (every other value would count as an outlier)"
            continue
        below, above = values < lower, values > upper
        outside |= below | above
        bounds[column] = {
            "lower": lower,
            "upper": upper,
            "below": int(below.sum()),
            "above": int(above.sum()),
        }
    if not bounds:
        raise ToolError(
            "No column could be checked for outliers"
            + (f" (skipped: {skipped})" if skipped else "")
            + f". Numeric columns: {quoted(numeric_columns(frame)) or 'none'}.",
            code="nothing_to_check",
        )
    return outside, bounds


def _outlier_details(
    method: str,
    threshold: float,
    action: str,
    outside: pd.Series,
    bounds: dict[str, dict[str, Any]],
    skipped: dict[str, str],
) -> dict[str, Any]:
    """The rule applied, the counts, the bounds per column, and a warning when many rows go."""
    rule = (
        f"Q1 - {threshold}*IQR .. Q3 + {threshold}*IQR"
        if method == "iqr"
        else f"mean ± {threshold} standard deviations (ddof=0)"
    )
    details: dict[str, Any] = {
        "method": method,
        "rule": rule,
        "outlier_values": sum(b["below"] + b["above"] for b in bounds.values()),
        "rows_with_outliers": int(outside.sum()),
        "bounds": listed_entries(bounds),
        "skipped_columns": listed_entries(skipped) or None,
    }
    if action == "remove" and outside.mean() > 0.1:
        details["note"] = (
            f"{outside.mean():.0%} of the rows were removed; consider action='clip' or a larger "
            "threshold."
        )
    return details


def _bounds(values: pd.Series, method: str, threshold: float) -> tuple[float, float, bool]:
    if values.empty:
        return 0.0, 0.0, False
    if method == "iqr":
        q1, q3 = np.percentile(values, [25, 75])
        spread = float(q3 - q1)
        return float(q1 - threshold * spread), float(q3 + threshold * spread), spread > 0
    mean, std = float(values.mean()), float(values.std(ddof=0))
    return mean - threshold * std, mean + threshold * std, std > 0
