"""Looking closer at one table: rows, distributions and outliers, correlations, group aggregates,
value counts and the everyday hypothesis tests.

Pure functions with no ADK import, so they can run in a worker process. Each takes a `TableFile`
and plain arguments (column names already resolved) and returns a small dict. Missing values
(and infinities) are dropped per computation, and the number of values used is reported as `n`.
Row numbers count from 0 in the order of the stored table.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from data_science.errors import ToolError
from data_science.storage.tables import TableFile, column_kind

SEED = 42
ALPHA = 0.05
MAX_CELL_CHARACTERS = 80
MAX_PREVIEW_ROWS = 50
MAX_PREVIEW_COLUMNS = 40
MAX_COLUMNS_DESCRIBED = 30
OUTLIER_EXAMPLES = 5
SHAPIRO_MAX_VALUES = 5_000
MAX_CORRELATION_COLUMNS = 60
CORRELATION_RANKING_ROWS = 200_000
MAX_TOP_K = 50
MAX_GROUPS = 50
MAX_TEST_LEVELS = 50
SMALL_TABLE_LEVELS = 10
MAX_GROUPS_LISTED = 30
AGGREGATIONS = ("count", "mean", "median", "sum", "min", "max", "std")
TEST_NAMES = {
    "t_test": "Welch two-sample t-test",
    "chi_square": "Chi-square test of independence",
    "anova": "One-way ANOVA",
}


# Rows --------------------------------------------------------------------------------------------
def preview_rows(
    table: TableFile,
    n: int,
    position: str,
    columns: list[str] | None,
    limit: int = MAX_PREVIEW_ROWS,
) -> dict[str, Any]:
    """The first, last or a random sample (seed 42) of `n` rows (at most `limit`), cells clipped
    to 80 characters."""
    if n < 1:
        raise ToolError(f"`n` must be at least 1 (at most {limit} rows are shown).", "bad_argument")
    frame = table.load()
    total = len(frame)
    notes = []
    if n > limit:
        notes.append(f"At most {limit} rows are shown; asked for {n}.")
        n = limit
    chosen = _unique(columns) if columns else [str(name) for name in frame.columns]
    if len(chosen) > MAX_PREVIEW_COLUMNS:
        notes.append(
            f"Only the first {MAX_PREVIEW_COLUMNS} of {len(chosen)} columns are shown; "
            "pass `columns` to choose others."
        )
        chosen = chosen[:MAX_PREVIEW_COLUMNS]
    count = min(n, total)
    if position == "head":
        positions = np.arange(count)
    elif position == "tail":
        positions = np.arange(total - count, total)
    elif position == "random":
        positions = np.sort(np.random.default_rng(SEED).choice(total, size=count, replace=False))
    else:
        raise ToolError(
            f"Unknown position '{position}'. Use 'head', 'tail' or 'random'.", "bad_argument"
        )
    picked = frame.iloc[positions][chosen]
    rows = [
        {"row": int(row), "values": {str(key): _cell(value) for key, value in record.items()}}
        for row, record in zip(positions, picked.to_dict(orient="records"), strict=True)
    ]
    return {
        "position": position,
        "total_rows": total,
        "rows_shown": len(rows),
        "columns": chosen,
        "rows": rows,
        "note": " ".join(notes) or None,
    }


# Distributions and outliers ------------------------------------------------------------------
def describe_distribution(
    table: TableFile, column: str | None, z_threshold: float
) -> dict[str, Any]:
    """Outliers (1.5 x IQR fences and |z| > threshold), skewness, kurtosis, normality."""
    if not 0 < z_threshold <= 10:
        raise ToolError(
            f"`z_threshold` must be above 0 and at most 10 (3 is usual); got {z_threshold}.",
            "bad_argument",
        )
    frame = table.load().reset_index(drop=True)
    if column is not None:
        _require_numeric(
            frame,
            column,
            "Outlier and distribution analysis",
            " Use value_counts for a text column.",
        )
        chosen = [column]
    else:
        chosen = numeric_columns(frame)
        if not chosen:
            raise ToolError(
                "This dataset has no numeric columns, so there are no outliers or distribution "
                "shapes to measure. Use value_counts to see how text values are spread.",
                "no_numeric_columns",
            )
    note = None
    if len(chosen) > MAX_COLUMNS_DESCRIBED:
        note = (
            f"Only the first {MAX_COLUMNS_DESCRIBED} of {len(chosen)} numeric columns are "
            "described; pass `column` for another one."
        )
        chosen = chosen[:MAX_COLUMNS_DESCRIBED]
    return {
        "rows": len(frame),
        "z_threshold": z_threshold,
        "columns": [_describe_column(frame[name], z_threshold) for name in chosen],
        "note": note,
    }


def _describe_column(series: pd.Series, z_threshold: float) -> dict[str, Any]:
    values = _numeric_values(series).dropna()
    n = len(values)
    entry: dict[str, Any] = {"column": str(series.name), "n": n, "missing": len(series) - n}
    if n < 3:
        entry["note"] = "Fewer than 3 non-missing values: too few to describe."
        return entry
    q1, q3 = (float(q) for q in np.percentile(values, [25, 75]))
    iqr = q3 - q1
    lower, upper = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    below, above = values[values < lower], values[values > upper]
    beyond = pd.concat([lower - below, above - upper])
    entry["iqr_outliers"] = {
        "q1": q1,
        "q3": q3,
        "iqr": iqr,
        "lower_fence": lower,
        "upper_fence": upper,
        "count": len(below) + len(above),
        "below": len(below),
        "above": len(above),
        "pct": _pct(len(below) + len(above), n),
        "examples": _examples(values, beyond),
    }
    mean, std = float(values.mean()), float(values.std())
    if std > 0:
        z = (values - mean) / std
        flagged = z[z.abs() > z_threshold]
        entry["z_outliers"] = {
            "mean": mean,
            "std": std,
            "threshold": z_threshold,
            "count": len(flagged),
            "pct": _pct(len(flagged), n),
            "examples": [
                {**example, "z": float(z[example["row"]])}
                for example in _examples(values, flagged.abs())
            ],
        }
        skewness, kurtosis = cast(float, values.skew()), cast(float, values.kurt())
        entry["skewness"] = skewness
        entry["excess_kurtosis"] = kurtosis
        entry["normality"] = _shapiro(values)
        entry["shape"] = _shape_hint(skewness, kurtosis, entry["normality"])
    else:
        entry["z_outliers"] = {"mean": mean, "std": 0.0, "threshold": z_threshold, "count": 0}
        entry["shape"] = "constant: every value is the same"
    return entry


def _examples(values: pd.Series, extremeness: pd.Series) -> list[dict[str, Any]]:
    """The most extreme few: row number and value, furthest out first."""
    rows = extremeness.sort_values(ascending=False, kind="stable").index[:OUTLIER_EXAMPLES]
    return [{"row": int(row), "value": float(values[row])} for row in rows]


def _shapiro(values: pd.Series) -> dict[str, Any]:
    sample = (
        values
        if len(values) <= SHAPIRO_MAX_VALUES
        else values.sample(SHAPIRO_MAX_VALUES, random_state=SEED)
    )
    result = stats.shapiro(sample.to_numpy())
    p_value = float(result.pvalue)
    return {
        "test": "Shapiro-Wilk",
        "statistic": float(result.statistic),
        "p_value": p_value,
        "n_tested": len(sample),
        "looks_normal": p_value >= ALPHA,
    }


def _shape_hint(skewness: float, kurtosis: float, normality: dict[str, Any]) -> str:
    size = abs(skewness)
    side = "right" if skewness > 0 else "left"
    if size < 0.5:
        shape = "roughly symmetric"
    elif size < 1:
        shape = f"moderately {side}-skewed"
    else:
        shape = f"strongly {side}-skewed"
    if kurtosis > 1:
        shape += ", heavy-tailed"
    elif kurtosis < -1:
        shape += ", light-tailed (flat)"
    verdict = (
        "consistent with a normal distribution"
        if normality["looks_normal"]
        else "not normally distributed"
    )
    return f"{shape}; {verdict} (Shapiro-Wilk p = {_p_text(normality['p_value'])})"


# Correlations --------------------------------------------------------------------------------
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
    frame = table.load()
    if columns:
        chosen = _unique(columns)
        for name in chosen:
            _require_numeric(frame, name, "Correlation")
        if len(chosen) < 2:
            raise ToolError(
                f"A correlation needs two different numeric columns. {_numeric_listing(frame)}",
                "too_few_columns",
            )
    else:
        chosen = numeric_columns(frame)
        if len(chosen) < 2:
            raise ToolError(
                f"A correlation needs at least two numeric columns. {_numeric_listing(frame)}",
                "too_few_columns",
            )
    note = None
    if len(chosen) > MAX_CORRELATION_COLUMNS:
        note = (
            f"Only the first {MAX_CORRELATION_COLUMNS} of {len(chosen)} numeric columns were "
            "compared; pass `columns` to choose others."
        )
        chosen = chosen[:MAX_CORRELATION_COLUMNS]
    data = pd.DataFrame({name: _numeric_values(frame[name]) for name in chosen})
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


# Groups --------------------------------------------------------------------------------------
def group_by(
    table: TableFile,
    group_columns: list[str],
    value_columns: list[str],
    aggregations: list[str],
) -> dict[str, Any]:
    """Aggregates of numeric columns per group: the 50 groups with the largest first aggregate."""
    group_columns, value_columns = _unique(group_columns), _unique(value_columns)
    aggregations = _unique(aggregations) or ["count", "mean"]
    unknown = [name for name in aggregations if name not in AGGREGATIONS]
    if unknown:
        raise ToolError(
            f"Unknown aggregation {', '.join(unknown)}. Use any of: {', '.join(AGGREGATIONS)}.",
            "bad_argument",
        )
    if not group_columns:
        raise ToolError("Give at least one column in `group_columns`.", "missing_argument")
    both = set(group_columns) & set(value_columns)
    if both:
        raise ToolError(
            f"{', '.join(sorted(both))} cannot be both a group column and a value column.",
            "bad_argument",
        )
    frame = table.load()
    for name in value_columns:
        _require_numeric(
            frame,
            name,
            "Aggregating",
            " Put text columns in `group_columns`, or count their values with value_counts.",
        )
    data = (
        frame[group_columns]
        .apply(_hashable)
        .assign(**{name: _numeric_values(frame[name]) for name in value_columns})
    )
    missing_keys = data[group_columns].isna().any(axis=1)
    data = data[~missing_keys]
    grouped = data.groupby(group_columns, observed=True, sort=False, dropna=True)
    result = grouped.size().rename("rows").to_frame()
    if value_columns:
        aggregated = grouped[value_columns].agg(aggregations)
        pairs = cast(list[tuple[str, str]], list(aggregated.columns))
        aggregated.columns = pd.Index([f"{column}_{how}" for column, how in pairs])
        result = aggregated.join(result)
        sorted_by = f"{value_columns[0]}_{aggregations[0]}"
    else:
        sorted_by = "rows"
    result = result.sort_values(sorted_by, ascending=False, na_position="last", kind="stable")
    shown = result.head(MAX_GROUPS).reset_index()
    groups = [
        {str(key): _cell(value) for key, value in record.items()}
        for record in shown.to_dict(orient="records")
    ]
    return {
        "group_columns": group_columns,
        "value_columns": value_columns,
        "aggregations": aggregations if value_columns else [],
        "rows_used": len(data),
        "rows_missing_group": int(missing_keys.sum()),
        "total_groups": len(result),
        "groups_shown": len(groups),
        "sorted_by": f"{sorted_by} (descending)",
        "groups": groups,
    }


def value_counts(table: TableFile, column: str, top_k: int) -> dict[str, Any]:
    """Counts and percentages of a column's most frequent values, missing included."""
    if not 1 <= top_k <= MAX_TOP_K:
        raise ToolError(f"`top_k` must be between 1 and {MAX_TOP_K}.", "bad_argument")
    series = _hashable(table.load()[column])
    rows = len(series)
    counts = series.value_counts(dropna=False)
    top = counts.head(top_k)
    values = [
        {"value": _cell(key), "count": int(count), "pct": _pct(int(count), rows)}
        for key, count in top.items()
    ]
    rest = rows - int(top.sum())
    missing = int(series.isna().sum())
    return {
        "column": column,
        "type": column_kind(series),
        "rows": rows,
        "distinct": int(series.nunique(dropna=True)),
        "missing": missing,
        "missing_pct": _pct(missing, rows),
        "values": values,
        "other_values": {
            "distinct": len(counts) - len(top),
            "count": rest,
            "pct": _pct(rest, rows),
        },
    }


# Hypothesis tests ----------------------------------------------------------------------------
def hypothesis_test(
    table: TableFile, test: str, column: str, group_column: str, groups: list[str] | None
) -> dict[str, Any]:
    """A Welch t-test, chi-square test of independence or one-way ANOVA, read at alpha 0.05."""
    if test not in TEST_NAMES:
        raise ToolError(
            f"Unknown test '{test}'. Use 't_test', 'chi_square' or 'anova'.", "bad_argument"
        )
    if column == group_column:
        raise ToolError(
            "`column` and `group_column` must be two different columns.", "bad_argument"
        )
    frame = table.load()
    if test == "chi_square":
        return _chi_square(frame, column, group_column)
    _require_numeric(
        frame,
        column,
        f"A {TEST_NAMES[test]}",
        " To relate two categorical columns, use test='chi_square'.",
    )
    values = _numeric_values(frame[column])
    keys = frame[group_column]
    present = values.notna() & keys.notna()
    labels = keys[present].astype(str)
    values = values[present]
    sizes = labels.value_counts()
    by_group = {str(label): sample for label, sample in values.groupby(labels, sort=False)}
    base = {
        "test": TEST_NAMES[test],
        "column": column,
        "group_column": group_column,
        "rows_missing": int((~present).sum()),
        "alpha": ALPHA,
    }
    if test == "t_test":
        return base | _t_test(by_group, sizes, column, group_column, groups)
    return base | _anova(by_group, sizes, column, group_column, groups)


def _t_test(
    by_group: dict[str, pd.Series],
    sizes: pd.Series,
    column: str,
    group_column: str,
    groups: list[str] | None,
) -> dict[str, Any]:
    note = None
    if groups:
        chosen = _match_groups(groups, sizes, group_column)
        if len(chosen) != 2:
            raise ToolError(
                f"A t-test compares exactly two groups, and {len(chosen)} different ones were "
                "given in `groups`. Name two, or use test='anova' to compare more. "
                f"{_group_listing(sizes, group_column)}",
                "bad_argument",
            )
    else:
        if len(sizes) < 2:
            raise ToolError(
                f"A t-test needs two groups, and '{group_column}' has {len(sizes)} "
                f"(among rows where '{column}' is present).",
                "too_few_groups",
            )
        chosen = [str(label) for label in sizes.index[:2]]
        if len(sizes) > 2:
            note = (
                f"'{group_column}' has {len(sizes)} groups; the two largest were compared. "
                "Pass `groups` to choose two, or use test='anova' to compare all of them."
            )
    _require_two_values(chosen, sizes, group_column, "A t-test")
    first, second = (by_group[label] for label in chosen)
    if first.std() == 0 and second.std() == 0:
        raise ToolError(
            f"'{column}' does not vary within either group, so a t-test is undefined.",
            "constant_values",
        )
    result = stats.ttest_ind(first, second, equal_var=False)
    low, high = result.confidence_interval(confidence_level=0.95)
    p_value = float(result.pvalue)
    means = float(first.mean()), float(second.mean())
    described = " and ".join(
        f"{label} (mean {_fmt(mean)}, n={len(sample)})"
        for label, mean, sample in zip(chosen, means, (first, second), strict=True)
    )
    if p_value < ALPHA:
        sentence = f"The mean {column} differs significantly between {described}"
    else:
        sentence = f"There is no significant difference in mean {column} between {described}"
    return {
        "groups": [
            _group_summary(label, sample)
            for label, sample in zip(chosen, (first, second), strict=True)
        ],
        "n": len(first) + len(second),
        "statistic": float(result.statistic),
        "p_value": p_value,
        "df": float(result.df),
        "mean_difference": means[0] - means[1],
        "mean_difference_ci_95": [float(low), float(high)],
        "significant": p_value < ALPHA,
        "interpretation": f"{sentence}: t = {float(result.statistic):.3g}, "
        f"p = {_p_text(p_value)} (alpha = {ALPHA}).",
        "note": note,
    }


def _anova(
    by_group: dict[str, pd.Series],
    sizes: pd.Series,
    column: str,
    group_column: str,
    groups: list[str] | None,
) -> dict[str, Any]:
    chosen = (
        _match_groups(groups, sizes, group_column)
        if groups
        else [str(label) for label in sizes.index]
    )
    if len(chosen) < 2:
        raise ToolError(
            f"ANOVA compares at least two groups; {len(chosen)} "
            f"{'was given' if groups else f'found in {group_column!r}'}. "
            f"{_group_listing(sizes, group_column)}",
            "too_few_groups",
        )
    _require_two_values(chosen, sizes, group_column, "ANOVA")
    samples = [by_group[label] for label in chosen]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.f_oneway(*samples)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    if not math.isfinite(statistic):
        raise ToolError(
            f"'{column}' does not vary within the groups, so the ANOVA F statistic is undefined.",
            "constant_values",
        )
    used = pd.concat(samples)
    grand_mean = float(used.mean())
    between = sum(len(sample) * (float(sample.mean()) - grand_mean) ** 2 for sample in samples)
    total = float(((used - grand_mean) ** 2).sum())
    summaries = [
        _group_summary(label, sample) for label, sample in zip(chosen, samples, strict=True)
    ]
    summaries.sort(key=lambda summary: summary["n"], reverse=True)
    highest = max(summaries, key=lambda summary: summary["mean"])
    lowest = min(summaries, key=lambda summary: summary["mean"])
    spread = (
        f"(highest: {highest['group']}, {_fmt(highest['mean'])}; "
        f"lowest: {lowest['group']}, {_fmt(lowest['mean'])}; "
        f"F = {statistic:.3g}, p = {_p_text(p_value)}, alpha = {ALPHA})."
    )
    if p_value < ALPHA:
        sentence = (
            f"The mean {column} differs significantly between at least two of the "
            f"{len(chosen)} {group_column} groups {spread}"
        )
    else:
        sentence = (
            f"There is no significant difference in mean {column} across the {len(chosen)} "
            f"{group_column} groups {spread}"
        )
    note = None
    if len(summaries) > MAX_GROUPS:
        note = f"{len(summaries)} groups were compared; the {MAX_GROUPS} largest are listed."
    return {
        "groups": summaries[:MAX_GROUPS],
        "n": len(used),
        "statistic": statistic,
        "p_value": p_value,
        "df_between": len(chosen) - 1,
        "df_within": len(used) - len(chosen),
        "eta_squared": between / total if total > 0 else None,
        "significant": p_value < ALPHA,
        "interpretation": sentence,
        "note": note,
    }


def _chi_square(frame: pd.DataFrame, column: str, group_column: str) -> dict[str, Any]:
    present = frame[column].notna() & frame[group_column].notna()
    first, second = (_hashable(frame[name][present]).astype(str) for name in (column, group_column))
    for name, levels in ((column, first.nunique()), (group_column, second.nunique())):
        if levels < 2:
            raise ToolError(
                f"A chi-square test needs at least two categories in each column; '{name}' has "
                f"{levels} (among rows where both columns are present).",
                "too_few_groups",
            )
        if levels > MAX_TEST_LEVELS:
            raise ToolError(
                f"'{name}' has {levels} distinct values; a chi-square test of independence "
                f"needs categories (at most {MAX_TEST_LEVELS}). Use a categorical column, or "
                "use test='anova' / 't_test' if it is a numeric measurement.",
                "too_many_groups",
            )
    counts = pd.crosstab(first, second)
    result = stats.chi2_contingency(counts.to_numpy())
    statistic, p_value, dof = float(result.statistic), float(result.pvalue), int(result.dof)
    expected = np.asarray(result.expected_freq)
    n = int(counts.to_numpy().sum())
    cramers_v = float(stats.contingency.association(counts.to_numpy(), method="cramer"))
    low_expected = float((expected < 5).mean())
    notes = []
    if low_expected > 0.2:
        notes.append(
            f"{100 * low_expected:.0f}% of the expected counts are below 5, so the chi-square "
            "approximation is unreliable; merge rare categories"
            + (" or use Fisher's exact test." if counts.shape == (2, 2) else ".")
        )
    verdict = (
        f"{column} and {group_column} are significantly associated: the distribution of "
        f"{column} differs between {group_column} groups"
        if p_value < ALPHA
        else f"There is no significant association between {column} and {group_column}"
    )
    outcome: dict[str, Any] = {
        "test": TEST_NAMES["chi_square"],
        "column": column,
        "group_column": group_column,
        "rows_missing": int((~present).sum()),
        "alpha": ALPHA,
        "n": n,
        "statistic": statistic,
        "p_value": p_value,
        "df": dof,
        "yates_correction": dof == 1,
        "cramers_v": cramers_v,
        "levels": {column: counts.shape[0], group_column: counts.shape[1]},
        "significant": p_value < ALPHA,
        "interpretation": (
            f"{verdict} (chi-square = {statistic:.4g}, df = {dof}, p = {_p_text(p_value)}, "
            f"Cramer's V = {cramers_v:.2f}, alpha = {ALPHA})."
        ),
    }
    if max(counts.shape) <= SMALL_TABLE_LEVELS:
        outcome["contingency_table"] = {
            "rows_are": column,
            "columns_are": group_column,
            "counts": {
                _cell(row): {_cell(col): int(value) for col, value in cells.items()}
                for row, cells in counts.iterrows()
            },
        }
    else:
        outcome["totals"] = {
            name: {_cell(key): int(value) for key, value in totals.head(MAX_GROUPS_LISTED).items()}
            for name, totals in (
                (column, counts.sum(axis=1).sort_values(ascending=False)),
                (group_column, counts.sum(axis=0).sort_values(ascending=False)),
            )
        }
        notes.append("The contingency table is too large to show; totals per category instead.")
    outcome["note"] = " ".join(notes) or None
    return outcome


def _match_groups(requested: Sequence[str], sizes: pd.Series, group_column: str) -> list[str]:
    """Map the group names asked for onto the column's labels (exact, case, then number)."""
    available = [str(label) for label in sizes.index]
    chosen = []
    for name in _unique(list(requested)):
        match = _match_label(str(name), available)
        if match is None:
            raise ToolError(
                f"'{group_column}' has no group '{name}'. {_group_listing(sizes, group_column)}",
                "unknown_group",
            )
        if match not in chosen:
            chosen.append(match)
    return chosen


def _match_label(name: str, available: list[str]) -> str | None:
    if name in available:
        return name
    folded = {label.strip().casefold(): label for label in available}
    if name.strip().casefold() in folded:
        return folded[name.strip().casefold()]
    try:
        number = float(name)
    except ValueError:
        return None
    for label in available:
        try:
            if float(label) == number:
                return label
        except ValueError:
            continue
    return None


def _require_two_values(chosen: list[str], sizes: pd.Series, group_column: str, test: str) -> None:
    small = [f"'{label}' has {int(sizes[label])}" for label in chosen if sizes[label] < 2]
    if small:
        raise ToolError(
            f"{test} needs at least 2 values in every group, but in '{group_column}' "
            f"{', '.join(small)}. Pass `groups` to compare other groups. "
            f"{_group_listing(sizes, group_column)}",
            "too_few_rows",
        )


def _group_listing(sizes: pd.Series, group_column: str) -> str:
    shown = ", ".join(
        f"{_cell(label)} ({int(count)})" for label, count in sizes.head(MAX_GROUPS_LISTED).items()
    )
    more = f", and {len(sizes) - MAX_GROUPS_LISTED} more" if len(sizes) > MAX_GROUPS_LISTED else ""
    return f"Groups of '{group_column}' (rows): {shown}{more}."


def _group_summary(label: str, sample: pd.Series) -> dict[str, Any]:
    return {
        "group": _cell(label),
        "n": len(sample),
        "mean": float(sample.mean()),
        "std": float(sample.std()),
        "median": float(sample.median()),
    }


# Shared helpers ------------------------------------------------------------------------------
def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding numbers (not booleans), in table order."""
    return [str(name) for name in frame.columns if _is_numeric(frame[name])]


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def _require_numeric(frame: pd.DataFrame, column: str, purpose: str, hint: str = "") -> None:
    if not _is_numeric(frame[column]):
        raise ToolError(
            f"{purpose} needs numeric columns, but '{column}' is {column_kind(frame[column])}. "
            f"{_numeric_listing(frame)}{hint}",
            "wrong_column_type",
        )


def _numeric_listing(frame: pd.DataFrame) -> str:
    numeric = numeric_columns(frame)
    if not numeric:
        return "This dataset has no numeric columns."
    return f"Numeric columns: {', '.join(numeric)}."


def _numeric_values(series: pd.Series) -> pd.Series:
    """The column as floats, with infinities counted as missing."""
    values = series.astype("float64")
    return values.where(np.isfinite(values))


def _hashable(series: pd.Series) -> pd.Series:
    """Lists or dicts held in cells (from JSON files) as text, so they can be counted."""
    if series.dtype != object:
        return series
    return series.map(lambda value: value if pd.api.types.is_scalar(value) else str(value))


def _is_missing(value: Any) -> bool:
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _cell(value: Any) -> Any:
    """A cell as shown to the model: short text, never a wall of it."""
    if value is None or _is_missing(value):
        return None
    if not pd.api.types.is_scalar(value) or isinstance(value, bytes):
        value = str(value)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        return value[:MAX_CELL_CHARACTERS] + "…"
    return value


def _unique(names: Sequence[Hashable]) -> list[str]:
    return list(dict.fromkeys(str(name) for name in names))


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def _p_text(p_value: float) -> str:
    if p_value < 1e-300:
        return "< 1e-300"
    return f"{p_value:.2g}" if p_value < 0.001 else f"{p_value:.3f}"


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.4g}"
