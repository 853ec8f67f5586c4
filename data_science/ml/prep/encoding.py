"""Preprocessing a table for models: scaling numbers, encoding categories (one-hot, ordinal,
target), splitting dates into parts and turning free text into TF-IDF columns. Each step writes
a new derived table (see `common.finish`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler, TargetEncoder

from data_science.errors import ToolError
from data_science.ml.common import SEED, is_numeric
from data_science.ml.prep.common import (
    check_room,
    finish,
    listed_entries,
    numeric_columns_to_treat,
    quoted,
    require_numeric,
    to_datetime,
)
from data_science.ml.split import MIN_ROWS, detect_task
from data_science.storage.tables import TableFile

ONEHOT_MAX_CATEGORIES = 50
ORDINAL_MAPPING_SHOWN = 20
TARGET_FOLDS = 5
MAX_TFIDF_FEATURES = 1_000


def scale_to_file(
    table: TableFile, out_path: Path, summary_only: bool, columns: list[str] | None, method: str
) -> dict[str, Any]:
    """Rescale numeric columns in place with scikit-learn's scaler (missing values stay missing)."""
    frame = table.load()
    if columns is None:
        chosen, skipped = numeric_columns_to_treat(frame)
        if not chosen:
            raise ToolError("This table has no numeric columns to scale.", code="not_numeric")
    else:
        require_numeric(frame, columns, "Scaling")
        chosen, skipped = list(columns), {}
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
    return finish(
        frame,
        result,
        out_path,
        f"{method}-scaled {len(chosen)} column(s) in place",
        summary_only,
        changed=chosen,
        method=method,
        rule=rule,
        parameters=listed_entries(parameters),
        skipped_columns=listed_entries(skipped) or None,
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
        check_room(frame, made - len(columns), max_columns, "Encode fewer columns.")
        taken = {str(c) for c in frame.columns} - set(columns)
        clashes = sorted({n for b in blocks.values() for n in b.columns} & taken)
        if clashes:
            raise ToolError(
                f"One-hot columns would reuse existing names {quoted(clashes)}. Rename those "
                "columns first with rename_columns.",
                code="name_collision",
            )
        parts = [blocks[c] if c in blocks else frame[[c]] for c in frame.columns]
        result = pd.concat(parts, axis=1)
        details["per_column"] = listed_entries(info)
        details["rule"] = (
            f"one 0/1 column per value, named <column>_<value>; beyond the "
            f"{ONEHOT_MAX_CATEGORIES} most frequent values the rest share <column>_other; "
            "missing values are 0 in every column"
        )
        action = f"one-hot encoded {quoted(columns)} into {made} column(s)"
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
        details["codes"] = listed_entries(shown) or None
        details["rule"] = (
            "categories sorted, coded 0..n-1 (as OrdinalEncoder); missing stays missing"
        )
        action = f"ordinal-encoded {quoted(columns)} in place"
        changed = list(columns)
    return finish(frame, result, out_path, action, summary_only, changed=changed, **details)


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
    labelled, y, target_type = _target_labels(frame, columns, target)
    block = _cross_fitted(frame, columns, labelled, y, target_type)
    if target_type == "multiclass":  # one column per class, <column>_<class>, at the end
        names = [str(name) for name in block.columns]
        check_room(frame, len(names) - len(columns), max_columns, "Encode fewer columns.")
        clashes = sorted(set(names) & ({str(c) for c in frame.columns} - set(columns)))
        if clashes:
            raise ToolError(
                f"Encoded columns would reuse existing names {quoted(clashes)}. Rename those "
                "columns first with rename_columns.",
                code="name_collision",
            )
        kept = [frame[[c]] for c in frame.columns if c not in columns]
        result = pd.concat([*kept, block], axis=1)
    else:  # one column per feature, same name and place
        result = frame.assign(**{c: block[c] for c in columns})
    return finish(
        frame,
        result,
        out_path,
        f"target-encoded {quoted(columns)} against '{target}' ({target_type})",
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


def _target_labels(
    frame: pd.DataFrame, columns: list[str], target: str | None
) -> tuple[pd.Series, pd.Series, str]:
    """Which rows have a target, their target values (text for classes), and the encoder's
    target type: binary, multiclass or continuous."""
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
    if task != "classification":
        return labelled, y, "continuous"
    y = y.astype(str)
    classes = y.nunique()
    if classes < 2:
        raise ToolError(f"'{target}' has a single value; nothing to encode.", "single_class")
    return labelled, y, "binary" if classes == 2 else "multiclass"


def _cross_fitted(
    frame: pd.DataFrame, columns: list[str], labelled: pd.Series, y: pd.Series, target_type: str
) -> pd.DataFrame:
    """The encoded columns: cross-fitted on the rows with a target (a row's value never uses
    its own target), then applied as fitted to the rows without one."""
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
    return pd.DataFrame(encoded, index=frame.index, columns=names)


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
    dates = to_datetime(source)
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
            f"Columns {quoted(clashes)} already exist. Rename or drop them first.",
            code="name_collision",
        )
    result = frame.assign(**new)
    return finish(
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
    check_room(frame, max_features, max_columns, "Use a smaller max_features.")
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
            f"Columns {quoted(clashes)} already exist. Drop them first (drop_columns).",
            code="name_collision",
        )
    block = pd.DataFrame(weights.toarray(), index=frame.index, columns=names)
    result = pd.concat([frame, block], axis=1)
    mean_weight = np.asarray(weights.mean(axis=0)).ravel()
    top = np.argsort(-mean_weight, kind="stable")[:20]
    return finish(
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
