"""Cleaning and preprocessing: each function reads a table, writes a NEW derived table, reports.

Pure functions with no ADK import, so they run in a worker process. Every `*_to_file` function
takes the source `TableFile`, the staging path to write the derived Parquet file to, whether
cell values may be shown (`summary_only` hides them), and its own plain arguments. It returns a
report with rows/columns before and after, what changed, counts, an `action` sentence, and the
`summary` the workspace stores with the new table. The source table is never modified.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (enables the import below)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler, TargetEncoder

from data_science.errors import ToolError
from data_science.ml.supervised import MIN_ROWS, ROW_ID_NAME, detect_task
from data_science.storage.tables import TableFile, write_parquet

SEED = 42
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 8
MAX_LISTED = 50
MAX_EXAMPLES = 5
MAX_CELL_CHARACTERS = 60
FIT_SAMPLE_ROWS = 20_000
KNN_NEIGHBORS = 5
ITERATIVE_ROUNDS = 10
ONEHOT_MAX_CATEGORIES = 50
ORDINAL_MAPPING_SHOWN = 20
TARGET_FOLDS = 5
MAX_TFIDF_FEATURES = 1_000
NUMERIC_IMPUTE = frozenset({"mean", "median", "knn", "iterative"})
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0", "off"})


# Shared helpers ------------------------------------------------------------------------------
def is_numeric(series: pd.Series) -> bool:
    """Numbers that can be averaged or scaled (booleans are not)."""
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if is_numeric(frame[c])]


def _is_row_id(frame: pd.DataFrame, column: str) -> bool:
    series = frame[column]
    return bool(ROW_ID_NAME.match(column)) and series.nunique() >= 0.95 * max(len(series), 1)


def require_numeric(frame: pd.DataFrame, columns: list[str], purpose: str) -> None:
    """Refuse non-numeric columns, naming the numeric columns that would work."""
    text = [c for c in columns if not is_numeric(frame[c])]
    if text:
        raise ToolError(
            f"{purpose} needs numeric columns, but {_names(text)} "
            f"{'is' if len(text) == 1 else 'are'} not numeric. Numeric columns: "
            f"{_names(numeric_columns(frame)) or 'none'}. Convert text that holds numbers with "
            "cast_column first, or encode categories with encode_columns.",
            code="not_numeric",
        )


def _names(columns: list[str]) -> str:
    shown = [f"'{c}'" for c in columns[:MAX_LISTED]]
    more = f" and {len(columns) - MAX_LISTED} more" if len(columns) > MAX_LISTED else ""
    return ", ".join(shown) + more


def _listed(columns: list[str]) -> list[str]:
    return columns[:MAX_LISTED]


def _first(mapping: dict[str, Any] | None) -> dict[str, Any] | None:
    """At most MAX_LISTED entries of a per-column mapping (None stays None)."""
    if mapping is None or len(mapping) <= MAX_LISTED:
        return mapping
    return dict(list(mapping.items())[:MAX_LISTED])


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        return value[: MAX_CELL_CHARACTERS - 1] + "…"
    return value


def _preview(
    frame: pd.DataFrame, columns: list[str], summary_only: bool, rows: pd.Index | None = None
) -> list[dict[str, Any]] | None:
    """Up to 5 rows of the changed columns (None when cell values may not be shown)."""
    shown = [c for c in columns if c in frame.columns][:PREVIEW_COLUMNS]
    if summary_only or not shown or frame.empty:
        return None
    index = rows[:PREVIEW_ROWS] if rows is not None and len(rows) else frame.index[:PREVIEW_ROWS]
    sample = frame.loc[index, shown].astype(object)
    return [
        {"row": int(position), **{str(k): _clip(v) for k, v in record.items()}}
        for position, record in zip(index, sample.to_dict(orient="records"), strict=True)
    ]


def _finish(
    before: pd.DataFrame,
    after: pd.DataFrame,
    out_path: Path,
    action: str,
    summary_only: bool,
    changed: list[str] | None = None,
    preview_rows: pd.Index | None = None,
    **details: Any,
) -> dict[str, Any]:
    """Write the derived table and describe exactly what differs from the source."""
    added = [str(c) for c in after.columns if c not in before.columns]
    removed = [str(c) for c in before.columns if c not in after.columns]
    changed = changed or []
    summary = write_parquet(after.reset_index(drop=True), out_path)
    report: dict[str, Any] = {
        "action": action,
        "rows_before": len(before),
        "rows_after": len(after),
        "columns_before": before.shape[1],
        "columns_after": after.shape[1],
        "changed_columns": _listed(changed),
        "added_columns": _listed(added),
        "removed_columns": _listed(removed),
        **{key: value for key, value in details.items() if value is not None},
    }
    if len(added) > MAX_LISTED:
        report["added_columns_note"] = f"{len(added)} columns added; the first {MAX_LISTED} shown."
    preview = _preview(after, changed + added, summary_only, preview_rows)
    if preview is not None:
        report["preview"] = preview
    report["summary"] = summary
    return report


def _sample_index(frame: pd.DataFrame, rows: int) -> pd.Index:
    if len(frame) <= rows:
        return frame.index
    return frame.sample(n=rows, random_state=SEED).index


def _check_room(frame: pd.DataFrame, new_columns: int, max_columns: int, hint: str) -> None:
    if frame.shape[1] + new_columns > max_columns:
        raise ToolError(
            f"The result would have {frame.shape[1] + new_columns:,} columns; at most "
            f"{max_columns:,} are allowed. {hint}",
            code="too_many_columns",
        )


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
        where = f"columns {_names(chosen)}" if chosen else "numeric columns"
        raise ToolError(
            f"There are no missing values to fill in the {where}"
            + (f" (text columns with gaps: {_names(list(skipped))})" if skipped else "")
            + ".",
            code="nothing_to_fill",
        )
    empty = [c for c in targets if frame[c].notna().sum() == 0]
    if empty and strategy != "constant":
        raise ToolError(
            f"{_names(empty)} {'has' if len(empty) == 1 else 'have'} no values at all, so "
            f"'{strategy}' cannot estimate a fill. Drop it with drop_columns or use "
            "strategy='constant' with a fill_value.",
            code="empty_column",
        )
    missing = {c: int(frame[c].isna().sum()) for c in targets}
    result = frame.copy()
    details: dict[str, Any] = {"strategy": strategy}
    if strategy in {"mean", "median", "most_frequent", "constant"}:
        values = {c: _simple_fill_value(frame[c], strategy, fill_value) for c in targets}
        for column, value in values.items():
            result[column] = _fill(frame[column], value)
        # Text fill values reach the model as placeholders in summary mode (model_view).
        details["fill_values"] = _first(values)
    else:
        details.update(_model_impute(frame, result, targets, strategy))
    still = {c: int(result[c].isna().sum()) for c in targets}
    gap_rows = frame.index[frame[targets].isna().any(axis=1)]
    filled = {c: missing[c] - still[c] for c in targets}
    return _finish(
        frame,
        result,
        out_path,
        f"filled {sum(filled.values())} missing values in {len(targets)} column(s) "
        f"with strategy '{strategy}'",
        summary_only,
        changed=targets,
        preview_rows=gap_rows,
        filled_per_column=_first(filled),
        still_missing=_first({c: n for c, n in still.items() if n}) or None,
        skipped_columns=_first(skipped) or None,
        **details,
    )


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
    details: dict[str, Any] = {"evidence_columns": _listed(evidence)}
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


# Editing columns -----------------------------------------------------------------------------
def drop_columns_to_file(
    table: TableFile, out_path: Path, summary_only: bool, columns: list[str]
) -> dict[str, Any]:
    frame = table.load()
    if len(set(columns)) >= frame.shape[1]:
        raise ToolError(
            "That would drop every column. Name only the columns to remove.", "no_columns_left"
        )
    result = frame.drop(columns=columns)
    return _finish(frame, result, out_path, f"dropped {_names(columns)}", summary_only)


def rename_columns_to_file(
    table: TableFile, out_path: Path, summary_only: bool, mapping: dict[str, str]
) -> dict[str, Any]:
    frame = table.load()
    blank = [old for old, new in mapping.items() if not str(new).strip()]
    if blank:
        raise ToolError(f"New names must not be empty (for {_names(blank)}).", "bad_name")
    final = [mapping.get(str(c), str(c)) for c in frame.columns]
    duplicates = sorted({name for name in final if final.count(name) > 1})
    if duplicates:
        raise ToolError(
            f"Renaming would give two columns the name {_names(duplicates)}. Choose names not "
            f"already used; existing columns: {_names([str(c) for c in frame.columns])}.",
            code="name_collision",
        )
    result = frame.rename(columns=mapping)
    changes = {old: new for old, new in mapping.items() if old != new}
    return _finish(
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
    """Convert one column's type; values that cannot be converted become missing (counted)."""
    frame = table.load()
    source = frame[column]
    converted = _convert(source, to)
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
        details["unconvertible_examples"] = [_clip(v) for v in examples]
    if failed:
        details["note"] = f"{failed} value(s) could not be read as {to} and are now missing." + (
            " Whole numbers only: use to='number' to keep decimals." if to == "integer" else ""
        )
    return _finish(
        frame,
        result,
        out_path,
        f"converted '{column}' to {to} ({failed} value(s) could not be converted)",
        summary_only,
        changed=[column],
        preview_rows=frame.index[failed_mask] if failed else None,
        **details,
    )


def _convert(series: pd.Series, to: str) -> pd.Series:
    if to in {"number", "integer"}:
        if is_numeric(series) or pd.api.types.is_bool_dtype(series):
            numbers = series.astype(float)
        else:
            text = series.astype("string").str.strip()
            numbers = pd.to_numeric(text, errors="coerce").astype(float)
        if to == "number":
            return numbers
        whole = numbers.where(np.isfinite(numbers) & (numbers == np.round(numbers)))
        return whole.astype("Int64")
    if to == "text":
        return series.map(str, na_action="ignore").astype(object)
    if to == "category":
        return series.astype("category")
    if to == "boolean":
        return _to_boolean(series)
    return _to_datetime(series)


def _to_boolean(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    words = series.astype("string").str.strip().str.lower()
    result = pd.Series(pd.NA, index=series.index, dtype="boolean")
    result[words.isin(TRUE_WORDS).fillna(False).astype(bool)] = True
    result[words.isin(FALSE_WORDS).fillna(False).astype(bool)] = False
    return result


def _to_datetime(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    text = series.astype("string").str.strip()
    if is_numeric(series):  # 2024 or 20240131, not nanoseconds since 1970
        text = series.map(lambda v: f"{v:.0f}" if float(v).is_integer() else str(v), "ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(text, errors="coerce", format="mixed")
        except (ValueError, TypeError):  # mixed time zones
            return pd.to_datetime(text, errors="coerce", format="mixed", utc=True)


# Rows ----------------------------------------------------------------------------------------
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
    basis = f"columns {_names(columns)}" if columns else "all columns"
    return _finish(
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
    skipped: dict[str, str] = {}
    if columns is None:
        chosen = []
        for column in numeric_columns(frame):
            if _is_row_id(frame, column):
                skipped[column] = "row identifier"
            elif frame[column].nunique() <= 2:
                skipped[column] = "two or fewer distinct values"
            else:
                chosen.append(column)
    else:
        require_numeric(frame, columns, "Outlier handling")
        chosen = list(columns)
    result = frame.copy()
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
        if action == "clip" and (below.any() or above.any()):
            result[column] = values.clip(lower, upper)
    if not bounds:
        raise ToolError(
            "No column could be checked for outliers"
            + (f" (skipped: {skipped})" if skipped else "")
            + f". Numeric columns: {_names(numeric_columns(frame)) or 'none'}.",
            code="nothing_to_check",
        )
    found = sum(b["below"] + b["above"] for b in bounds.values())
    rule = (
        f"Q1 - {threshold}*IQR .. Q3 + {threshold}*IQR"
        if method == "iqr"
        else f"mean ± {threshold} standard deviations (ddof=0)"
    )
    if action == "remove":
        result = frame[~outside]
        action_text = f"removed {int(outside.sum())} row(s) holding {found} outlier value(s)"
        changed: list[str] = []
    else:
        changed = [c for c, b in bounds.items() if b["below"] + b["above"]]
        action_text = f"clipped {found} outlier value(s) to the bounds"
    details: dict[str, Any] = {
        "method": method,
        "rule": rule,
        "outlier_values": found,
        "rows_with_outliers": int(outside.sum()),
        "bounds": _first(bounds),
        "skipped_columns": _first(skipped) or None,
    }
    if action == "remove" and outside.mean() > 0.1:
        details["note"] = (
            f"{outside.mean():.0%} of the rows were removed; consider action='clip' or a larger "
            "threshold."
        )
    return _finish(
        frame,
        result,
        out_path,
        f"{action_text} ({method}, threshold {threshold}) in {len(bounds)} column(s)",
        summary_only,
        changed=changed,
        preview_rows=frame.index[outside] if action == "clip" else None,
        **details,
    )


def _bounds(values: pd.Series, method: str, threshold: float) -> tuple[float, float, bool]:
    if values.empty:
        return 0.0, 0.0, False
    if method == "iqr":
        q1, q3 = np.percentile(values, [25, 75])
        spread = float(q3 - q1)
        return float(q1 - threshold * spread), float(q3 + threshold * spread), spread > 0
    mean, std = float(values.mean()), float(values.std(ddof=0))
    return mean - threshold * std, mean + threshold * std, std > 0


# Transforming values -------------------------------------------------------------------------
def scale_to_file(
    table: TableFile, out_path: Path, summary_only: bool, columns: list[str] | None, method: str
) -> dict[str, Any]:
    """Rescale numeric columns in place with scikit-learn's scaler (missing values stay missing)."""
    frame = table.load()
    skipped: dict[str, str] = {}
    if columns is None:
        chosen = []
        for column in numeric_columns(frame):
            if _is_row_id(frame, column):
                skipped[column] = "row identifier"
            else:
                chosen.append(column)
        if not chosen:
            raise ToolError("This table has no numeric columns to scale.", code="not_numeric")
    else:
        require_numeric(frame, columns, "Scaling")
        chosen = list(columns)
    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    scaler = scalers[method]().fit(frame[chosen].astype(float))
    scaled = scaler.transform(frame[chosen].astype(float))
    result = frame.copy()
    for position, column in enumerate(chosen):
        result[column] = scaled[:, position]
    if method == "standard":
        parameters = {
            c: {"mean": m, "std": s}
            for c, m, s in zip(chosen, scaler.mean_, scaler.scale_, strict=True)
        }
        rule = "(x - mean) / std, population std; result has mean 0 and std 1"
    elif method == "minmax":
        parameters = {
            c: {"min": lo, "max": hi}
            for c, lo, hi in zip(chosen, scaler.data_min_, scaler.data_max_, strict=True)
        }
        rule = "(x - min) / (max - min); result lies in [0, 1]"
    else:
        parameters = {
            c: {"median": m, "iqr": s}
            for c, m, s in zip(chosen, scaler.center_, scaler.scale_, strict=True)
        }
        rule = "(x - median) / IQR; robust to outliers"
    return _finish(
        frame,
        result,
        out_path,
        f"{method}-scaled {len(chosen)} column(s) in place",
        summary_only,
        changed=chosen,
        method=method,
        rule=rule,
        parameters=_first(parameters),
        skipped_columns=_first(skipped) or None,
    )


def onehot_frame(
    series: pd.Series, max_categories: int, separator: str = "_"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """0/1 columns for the most frequent values of `series`; the rest share an `other` column.

    Missing values get zeros in every column. Columns are ordered by value (as pd.get_dummies).
    """
    name = str(series.name)
    labels = series.map(str, na_action="ignore")
    counts = labels.value_counts()
    ranked = sorted(counts.index, key=lambda value: (-counts[value], value))
    kept = sorted(ranked[:max_categories])
    pieces = {f"{name}{separator}{value}": (labels == value) for value in kept}
    pooled = ranked[max_categories:]
    if pooled:
        pieces[f"{name}{separator}other"] = labels.isin(pooled)
    encoded = pd.DataFrame(pieces, index=series.index).fillna(False).astype("uint8")
    info = {
        "categories": len(counts),
        "columns_made": encoded.shape[1],
        "pooled_into_other": len(pooled),
        "missing_rows": int(series.isna().sum()),
    }
    return encoded, info


def encode_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    columns: list[str],
    method: str,
    target: str | None,
    max_columns: int,
) -> dict[str, Any]:
    frame = table.load()
    if method == "target":
        return _target_encode(frame, out_path, summary_only, columns, target, max_columns)
    details: dict[str, Any] = {"method": method}
    if method == "onehot":
        blocks: dict[str, pd.DataFrame] = {}
        info = {}
        for column in columns:
            blocks[column], info[column] = onehot_frame(frame[column], ONEHOT_MAX_CATEGORIES)
        made = sum(block.shape[1] for block in blocks.values())
        _check_room(frame, made - len(columns), max_columns, "Encode fewer columns.")
        taken = {str(c) for c in frame.columns} - set(columns)
        clashes = sorted({n for b in blocks.values() for n in b.columns} & taken)
        if clashes:
            raise ToolError(
                f"One-hot columns would reuse existing names {_names(clashes)}. Rename those "
                "columns first with rename_columns.",
                code="name_collision",
            )
        parts = [blocks[c] if c in blocks else frame[[c]] for c in frame.columns]
        result = pd.concat(parts, axis=1)
        details["per_column"] = _first(info)
        details["rule"] = (
            f"one 0/1 column per value, named <column>_<value>; beyond the "
            f"{ONEHOT_MAX_CATEGORIES} most frequent values the rest share <column>_other; "
            "missing values are 0 in every column"
        )
        action = f"one-hot encoded {_names(columns)} into {made} column(s)"
        changed: list[str] = []
    else:
        result = frame.copy()
        mappings: dict[str, dict[str, Any]] = {}
        for column in columns:
            result[column], mapping = _ordinal(frame[column])
            mappings[column] = dict(list(mapping.items())[:ORDINAL_MAPPING_SHOWN])
            if len(mapping) > ORDINAL_MAPPING_SHOWN:
                mappings[column]["…"] = f"{len(mapping)} categories in all"
        # Text categories reach the model as placeholders in summary mode (model_view); the
        # values of a numeric column are never listed there.
        shown = {c: m for c, m in mappings.items() if not (summary_only and is_numeric(frame[c]))}
        details["codes"] = _first(shown) or None
        details["rule"] = (
            "categories sorted, coded 0..n-1 (as OrdinalEncoder); missing stays missing"
        )
        action = f"ordinal-encoded {_names(columns)} in place"
        changed = list(columns)
    return _finish(frame, result, out_path, action, summary_only, changed=changed, **details)


def _ordinal(series: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    values = series if is_numeric(series) else series.map(str, na_action="ignore")
    categories = sorted(values.dropna().unique())
    lookup = {category: code for code, category in enumerate(categories)}
    codes = values.map(lookup)
    codes = codes.astype("int64") if codes.notna().all() else codes.astype(float)
    return codes, {str(category): code for category, code in lookup.items()}


def _target_encode(
    frame: pd.DataFrame,
    out_path: Path,
    summary_only: bool,
    columns: list[str],
    target: str | None,
    max_columns: int,
) -> dict[str, Any]:
    """scikit-learn's TargetEncoder, cross-fitted (5 folds, seed 42) on rows with a target."""
    if target is None:
        raise ToolError(
            "method='target' needs `target`: the column whose average (or class rate) each "
            "category is replaced by. Or use method='onehot' or 'ordinal', which need no target.",
            code="missing_target",
        )
    if target in columns:
        raise ToolError(
            f"'{target}' is the target; it cannot also be encoded.", "target_in_columns"
        )
    labelled = frame[target].notna()
    if int(labelled.sum()) < MIN_ROWS:
        raise ToolError(
            f"Only {int(labelled.sum())} rows have a value for '{target}'; target encoding needs "
            f"at least {MIN_ROWS}.",
            code="too_few_rows",
        )
    task = detect_task(frame.loc[labelled, target])
    y = frame.loc[labelled, target]
    if task == "classification":
        y = y.astype(str)
        classes = y.nunique()
        target_type = "binary" if classes == 2 else "multiclass"
        if classes < 2:
            raise ToolError(f"'{target}' has a single value; nothing to encode.", "single_class")
    else:
        target_type = "continuous"
    features = frame[columns].astype(object).where(frame[columns].notna(), np.nan)
    splitter = KFold if target_type == "continuous" else StratifiedKFold
    folds = splitter(n_splits=TARGET_FOLDS, shuffle=True, random_state=SEED)
    encoder = TargetEncoder(target_type=target_type, cv=folds)
    fitted = encoder.fit_transform(features[labelled], y)
    names = [str(n) for n in encoder.get_feature_names_out()]
    encoded = np.full((len(frame), len(names)), np.nan)
    encoded[labelled.to_numpy()] = fitted
    if (~labelled).any():
        encoded[~labelled.to_numpy()] = encoder.transform(features[~labelled])
    block = pd.DataFrame(encoded, index=frame.index, columns=names)
    if target_type == "multiclass":  # one column per class, <column>_<class>, at the end
        _check_room(frame, len(names) - len(columns), max_columns, "Encode fewer columns.")
        clashes = sorted(set(names) & ({str(c) for c in frame.columns} - set(columns)))
        if clashes:
            raise ToolError(
                f"Encoded columns would reuse existing names {_names(clashes)}. Rename those "
                "columns first with rename_columns.",
                code="name_collision",
            )
        kept = [frame[[c]] for c in frame.columns if c not in columns]
        result = pd.concat([*kept, block], axis=1)
    else:  # one column per feature, same name and place
        result = frame.assign(**{c: block[c] for c in columns})
    return _finish(
        frame,
        result,
        out_path,
        f"target-encoded {_names(columns)} against '{target}' ({target_type})",
        summary_only,
        changed=[c for c in columns if c in result.columns],
        method="target",
        target=target,
        target_type=target_type,
        rule=(
            "each category replaced by the smoothed mean of the target "
            + ("(one column per class) " if target_type == "multiclass" else "")
            + f"(sklearn TargetEncoder, cross-fitted over 5 folds, seed {SEED}: a row's value "
            "never uses its own target)"
        ),
        rows_without_target=int((~labelled).sum()),
    )


def expand_dates_to_file(
    table: TableFile, out_path: Path, summary_only: bool, column: str
) -> dict[str, Any]:
    """Add year, month, day, weekday (0=Monday), dayofyear, hour (if any time) and is_weekend."""
    frame = table.load()
    source = frame[column]
    if is_numeric(source) and not source.dropna().between(1000, 99_991_231).all():
        raise ToolError(
            f"'{column}' holds numbers that are not years or YYYYMMDD dates. Name a date column.",
            code="not_a_date",
        )
    dates = _to_datetime(source)
    unparsed = int((source.notna() & dates.isna()).sum())
    if dates.notna().sum() == 0:
        raise ToolError(
            f"No value of '{column}' could be read as a date. Name a column holding dates "
            "such as 2024-01-31 or 31/01/2024 10:30.",
            code="not_a_date",
        )
    parts: dict[str, pd.Series] = {
        "year": dates.dt.year,
        "month": dates.dt.month,
        "day": dates.dt.day,
        "weekday": dates.dt.weekday,
        "dayofyear": dates.dt.dayofyear,
    }
    valid = dates.dropna()
    if ((valid.dt.hour != 0) | (valid.dt.minute != 0)).any():
        parts["hour"] = dates.dt.hour
    parts["is_weekend"] = (dates.dt.weekday >= 5).where(dates.notna())
    new = {f"{column}_{part}": _whole(values) for part, values in parts.items()}
    clashes = [name for name in new if name in frame.columns]
    if clashes:
        raise ToolError(
            f"Columns {_names(clashes)} already exist. Rename or drop them first.",
            code="name_collision",
        )
    result = frame.assign(**new)
    return _finish(
        frame,
        result,
        out_path,
        f"added {len(new)} date-part column(s) from '{column}'",
        summary_only,
        column=column,
        parts=list(parts),
        could_not_parse=unparsed,
        note=(f"{unparsed} value(s) could not be read as dates; their parts are missing.")
        if unparsed
        else None,
    )


def _whole(values: pd.Series) -> pd.Series:
    numbers = values.astype(float)
    return numbers.astype("int64") if numbers.notna().all() else numbers


def tfidf_to_file(
    table: TableFile,
    out_path: Path,
    summary_only: bool,
    column: str,
    max_features: int,
    max_columns: int,
) -> dict[str, Any]:
    """TF-IDF weights of the most frequent terms (English stop words dropped), as tfidf_ columns."""
    frame = table.load()
    if not 1 <= max_features <= MAX_TFIDF_FEATURES:
        raise ToolError(f"max_features must be between 1 and {MAX_TFIDF_FEATURES}.", "bad_value")
    source = frame[column]
    if is_numeric(source) or pd.api.types.is_datetime64_any_dtype(source):
        raise ToolError(
            f"'{column}' is not a text column. TF-IDF needs free text, such as reviews or notes.",
            code="not_text",
        )
    _check_room(frame, max_features, max_columns, "Use a smaller max_features.")
    texts = source.map(str, na_action="ignore").fillna("")
    vectorizer = TfidfVectorizer(stop_words="english", max_features=max_features)
    try:
        weights = vectorizer.fit_transform(texts)
    except ValueError:
        raise ToolError(
            f"'{column}' has no words left after removing English stop words; it is not free "
            "text. Use encode_columns for categories.",
            code="empty_vocabulary",
        ) from None
    terms = [str(t) for t in vectorizer.get_feature_names_out()]
    # Terms are words of the cells, so summary mode numbers the columns instead of naming them.
    names = [f"tfidf_{i}" if summary_only else f"tfidf_{t}" for i, t in enumerate(terms, 1)]
    clashes = [n for n in names if n in frame.columns]
    if clashes:
        raise ToolError(
            f"Columns {_names(clashes)} already exist. Drop them first (drop_columns).",
            code="name_collision",
        )
    block = pd.DataFrame(weights.toarray(), index=frame.index, columns=names)
    result = pd.concat([frame, block], axis=1)
    mean_weight = np.asarray(weights.mean(axis=0)).ravel()
    top = np.argsort(-mean_weight, kind="stable")[:20]
    return _finish(
        frame,
        result,
        out_path,
        f"added {len(names)} TF-IDF column(s) from '{column}'",
        summary_only,
        column=column,
        terms=len(terms),
        top_terms=None
        if summary_only
        else [{"term": terms[i], "mean_weight": float(mean_weight[i])} for i in top],
        empty_rows=int((texts.str.strip() == "").sum()),
        rule="TfidfVectorizer(stop_words='english', max_features=...), rows L2-normalised",
    )
