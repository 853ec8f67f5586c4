"""The everyday hypothesis tests, read at alpha 0.05: a Welch two-sample t-test, a one-way ANOVA
and a chi-square test of independence, each with a sentence saying what it found."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from data_science.errors import ToolError
from data_science.ml.analysis.common import (
    ALPHA,
    MAX_GROUPS,
    cell,
    hashable,
    load_numeric,
    numeric_values,
    p_text,
    require_numeric,
    unique,
)
from data_science.storage.tables import TableFile

MAX_TEST_LEVELS = 50
SMALL_TABLE_LEVELS = 10
MAX_GROUPS_LISTED = 30
TEST_NAMES = {
    "t_test": "Welch two-sample t-test",
    "chi_square": "Chi-square test of independence",
    "anova": "One-way ANOVA",
}


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
    frame = load_numeric(table, [column, group_column])
    if test == "chi_square":
        return _chi_square(frame, column, group_column)
    require_numeric(
        frame,
        column,
        f"A {TEST_NAMES[test]}",
        " To relate two categorical columns, use test='chi_square'.",
    )
    values = numeric_values(frame[column])
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
    chosen, note = _two_groups(sizes, column, group_column, groups)
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
        f"p = {p_text(p_value)} (alpha = {ALPHA}).",
        "note": note,
    }


def _two_groups(
    sizes: pd.Series, column: str, group_column: str, groups: list[str] | None
) -> tuple[list[str], str | None]:
    """The two groups a t-test compares: the two named, else the two largest (with a note
    when there were more)."""
    if groups:
        chosen = _match_groups(groups, sizes, group_column)
        if len(chosen) != 2:
            raise ToolError(
                f"A t-test compares exactly two groups, and {len(chosen)} different ones were "
                "given in `groups`. Name two, or use test='anova' to compare more. "
                f"{_group_listing(sizes, group_column)}",
                "bad_argument",
            )
        return chosen, None
    if len(sizes) < 2:
        raise ToolError(
            f"A t-test needs two groups, and '{group_column}' has {len(sizes)} "
            f"(among rows where '{column}' is present).",
            "too_few_groups",
        )
    note = None
    if len(sizes) > 2:
        note = (
            f"'{group_column}' has {len(sizes)} groups; the two largest were compared. "
            "Pass `groups` to choose two, or use test='anova' to compare all of them."
        )
    return [str(label) for label in sizes.index[:2]], note


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
    sentence = _anova_sentence(summaries, column, group_column, statistic, p_value)
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


def _anova_sentence(
    summaries: list[dict[str, Any]],
    column: str,
    group_column: str,
    statistic: float,
    p_value: float,
) -> str:
    """What the ANOVA found, naming the groups with the highest and the lowest mean."""
    highest = max(summaries, key=lambda summary: summary["mean"])
    lowest = min(summaries, key=lambda summary: summary["mean"])
    spread = (
        f"(highest: {highest['group']}, {_fmt(highest['mean'])}; "
        f"lowest: {lowest['group']}, {_fmt(lowest['mean'])}; "
        f"F = {statistic:.3g}, p = {p_text(p_value)}, alpha = {ALPHA})."
    )
    if p_value < ALPHA:
        return (
            f"The mean {column} differs significantly between at least two of the "
            f"{len(summaries)} {group_column} groups {spread}"
        )
    return (
        f"There is no significant difference in mean {column} across the {len(summaries)} "
        f"{group_column} groups {spread}"
    )


def _chi_square(frame: pd.DataFrame, column: str, group_column: str) -> dict[str, Any]:
    present = frame[column].notna() & frame[group_column].notna()
    first, second = (hashable(frame[name][present]).astype(str) for name in (column, group_column))
    for name, levels in ((column, first.nunique()), (group_column, second.nunique())):
        _check_levels(name, levels)
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
            f"{verdict} (chi-square = {statistic:.4g}, df = {dof}, p = {p_text(p_value)}, "
            f"Cramer's V = {cramers_v:.2f}, alpha = {ALPHA})."
        ),
    }
    outcome.update(_contingency_view(counts, column, group_column))
    if "totals" in outcome:
        notes.append("The contingency table is too large to show; totals per category instead.")
    outcome["note"] = " ".join(notes) or None
    return outcome


def _check_levels(name: str, levels: int) -> None:
    """A chi-square column needs categories: two at least, and not a measurement's many values."""
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


def _contingency_view(counts: pd.DataFrame, column: str, group_column: str) -> dict[str, Any]:
    """The contingency table when it is small enough to read, else the totals per category."""
    if max(counts.shape) <= SMALL_TABLE_LEVELS:
        return {
            "contingency_table": {
                "rows_are": column,
                "columns_are": group_column,
                "counts": {
                    cell(row): {cell(col): int(value) for col, value in cells.items()}
                    for row, cells in counts.iterrows()
                },
            }
        }
    return {
        "totals": {
            name: {cell(key): int(value) for key, value in totals.head(MAX_GROUPS_LISTED).items()}
            for name, totals in (
                (column, counts.sum(axis=1).sort_values(ascending=False)),
                (group_column, counts.sum(axis=0).sort_values(ascending=False)),
            )
        }
    }


def _match_groups(requested: Sequence[str], sizes: pd.Series, group_column: str) -> list[str]:
    """Map the group names asked for onto the column's labels (exact, case, then number)."""
    available = [str(label) for label in sizes.index]
    chosen = []
    for name in unique(list(requested)):
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
        f"{cell(label)} ({int(count)})" for label, count in sizes.head(MAX_GROUPS_LISTED).items()
    )
    more = f", and {len(sizes) - MAX_GROUPS_LISTED} more" if len(sizes) > MAX_GROUPS_LISTED else ""
    return f"Groups of '{group_column}' (rows): {shown}{more}."


def _group_summary(label: str, sample: pd.Series) -> dict[str, Any]:
    return {
        "group": cell(label),
        "n": len(sample),
        "mean": float(sample.mean()),
        "std": float(sample.std()),
        "median": float(sample.median()),
    }


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.4g}"
