"""Regression reports with statsmodels: OLS for a numeric target, Logit for a binary one.

What an analyst expects of a regression summary: each coefficient with its standard error, test
statistic (t for OLS, z for Logit), p-value and 95 % confidence interval, and the in-sample fit
(R², adjusted R², AIC, BIC, the F test for OLS; pseudo R², log-likelihood and the likelihood-
ratio test for Logit). Optionally, the same model refitted on the training part of a held-out
split and scored on the rest. Pure functions with no ADK import, so they run in a worker.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from data_science.errors import ToolError
from data_science.ml.analysis.common import ALPHA
from data_science.ml.common import is_numeric
from data_science.ml.split import SplitOptions, plan_features, split_rows
from data_science.ml.supervised import held_out_metrics
from data_science.storage.tables import TableFile

KINDS = ("auto", "ols", "logit")
INTERCEPT = "intercept"
MAX_LEVELS = 30  # levels of one categorical feature (each but the first becomes a term)
MAX_TERMS = 100
LOGIT_MAX_ITERATIONS = 200
# A fitted probability this close to 0 or 1 for every row: the classes are perfectly separated.
SEPARATED = 1e-6


def regression_report(
    table: TableFile,
    target: str,
    features: list[str] | None,
    kind: str,
    held_out: bool,
    options: SplitOptions,
) -> dict[str, Any]:
    """Fit OLS or Logit of `target` on `features` (default: every usable column) and report it.

    Categorical features are one-hot encoded, the first level (in sorted order) being the
    baseline; rows missing any value used are dropped and counted.
    """
    if kind not in KINDS:
        raise ToolError(f"kind must be one of {', '.join(KINDS)}; got '{kind}'.", "bad_argument")
    frame = table.load()
    chosen, left_out = _features(frame, target, features)
    complete = frame[[target, *chosen]].dropna()
    kind = _kind(complete[target], kind, target)
    response, classes = _response(complete[target], kind)
    design, baselines = design_matrix(complete[chosen])
    _check_design(design, target)
    result = _fit(kind, response, design)
    report: dict[str, Any] = {
        "kind": kind,
        "model": "OLS (ordinary least squares)" if kind == "ols" else "Logit (logistic regression)",
        "target": target,
        "formula": f"{target} ~ " + " + ".join(chosen),
        "n": int(result.nobs),
        "rows_dropped_missing": len(frame) - len(complete),
        "features": chosen,
        "baselines": baselines,
        "alpha": ALPHA,
        "coefficients": _coefficients(result, kind),
        "fit": _ols_fit(result) if kind == "ols" else _logit_fit(result),
    }
    if classes:
        report["positive_class"] = classes[1]  # what the coefficients raise the odds of
    if left_out:
        report["left_out"] = left_out
    if held_out:
        rows = frame.loc[complete.index]
        report["held_out"] = _held_out(kind, response, design, rows, target, options, classes)
    return report


def _features(
    frame: pd.DataFrame, target: str, features: list[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The features to use and the columns left out (with why) when none were named."""
    if not features:
        plan = plan_features(frame, target)
        return plan.features, {str(name): why for name, why in plan.dropped.items()}
    chosen = list(dict.fromkeys(features))
    if target in chosen:
        raise ToolError(
            f"'{target}' is the target; it cannot also be a feature. Name the other columns.",
            "bad_argument",
        )
    dates = [name for name in chosen if pd.api.types.is_datetime64_any_dtype(frame[name])]
    if dates:
        raise ToolError(
            f"{', '.join(dates)} hold dates, which a regression cannot use directly. Turn them "
            "into parts with expand_dates first, or leave them out.",
            "wrong_column_type",
        )
    return chosen, {}


def _kind(target: pd.Series, kind: str, name: str) -> str:
    """OLS or Logit: "auto" is Logit for a target with exactly two values, else OLS."""
    distinct = target.nunique()
    numeric = is_numeric(target) or pd.api.types.is_bool_dtype(target)
    if kind == "auto":
        kind = "logit" if distinct == 2 else "ols"
    if kind == "logit" and distinct != 2:
        raise ToolError(
            f"A logit models a target with exactly two values; '{name}' has {distinct}. "
            + ("Use kind='ols' for a number." if numeric else "Use `train` for several classes."),
            "wrong_kind",
        )
    if kind == "ols" and not numeric:
        way_out = (
            "Use kind='logit' for its two classes"
            if distinct == 2
            else f"For its {distinct} classes use `train` (model='logistic')"
        )
        raise ToolError(
            f"OLS needs a numeric target, but '{name}' holds text. {way_out}, or cast it with "
            "cast_column if it holds numbers written as text.",
            "wrong_kind",
        )
    return kind


def _response(target: pd.Series, kind: str) -> tuple[pd.Series, list[Any]]:
    """The response as floats and, for a logit, its two classes in order: the second (the
    larger value, or the later in sorted order for text) is modelled as 1."""
    if kind == "ols":
        return target.astype(float), []
    classes = [
        value.item() if isinstance(value, np.generic) else value
        for value in sorted(target.unique())
    ]
    return (target == classes[1]).astype(float), classes


def design_matrix(features: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """An intercept, numeric features as they are (booleans as 0/1), and categorical ones as
    one 0/1 column per level but the first (the baseline), named `column=level`."""
    parts: list[pd.Series | pd.DataFrame] = [pd.Series(1.0, index=features.index, name=INTERCEPT)]
    baselines: dict[str, str] = {}
    for name in features.columns:
        series = features[name]
        if is_numeric(series) or pd.api.types.is_bool_dtype(series):
            parts.append(series.astype(float).rename(str(name)))
            continue
        text = series.astype(str)
        levels = sorted(text.unique())
        if len(levels) > MAX_LEVELS:
            raise ToolError(
                f"'{name}' has {len(levels)} distinct values; at most {MAX_LEVELS} levels of a "
                "categorical feature can enter a regression. Leave it out, or group its rare "
                "values first.",
                "too_many_levels",
            )
        baselines[str(name)] = levels[0]
        dummies = pd.DataFrame(
            {f"{name}={level}": (text == level).astype(float) for level in levels[1:]},
            index=features.index,
        )
        parts.append(dummies)
    design = pd.concat(parts, axis=1)
    if design.shape[1] > MAX_TERMS:
        raise ToolError(
            f"The model would have {design.shape[1]} terms; at most {MAX_TERMS} are reported. "
            "Name fewer features.",
            "too_many_terms",
        )
    return design, baselines


def _check_design(design: pd.DataFrame, target: str, where: str = "") -> None:
    """Refuse too few rows or a singular design, naming the redundant terms."""
    rows, terms = design.shape
    if rows <= terms:
        raise ToolError(
            f"{rows} complete rows{where} for {terms} terms: a regression needs more rows than "
            f"terms. Name fewer features for '{target}', or fill the gaps first.",
            "too_few_rows",
        )
    values = design.to_numpy()
    if np.linalg.matrix_rank(values) == terms:
        return
    redundant, kept = [], np.empty((rows, 0))
    for index, name in enumerate(design.columns):
        widened = np.column_stack([kept, values[:, index]])
        if np.linalg.matrix_rank(widened) > kept.shape[1]:
            kept = widened
        else:
            redundant.append(str(name))
    raise ToolError(
        f"The features are perfectly collinear{where}: {', '.join(redundant)} "
        f"{'is' if len(redundant) == 1 else 'are'} constant or an exact combination of the "
        "other terms, so their coefficients cannot be estimated. Leave them out.",
        "singular_design",
    )


def _fit(kind: str, response: pd.Series, design: pd.DataFrame, where: str = "") -> Any:
    """The fitted statsmodels result; a Logit that separates the classes is refused."""
    if kind == "ols":
        return sm.OLS(response, design).fit()
    problem = (
        f"The logit cannot be estimated{where}: the features separate the two classes "
        "perfectly (or almost), so the coefficients run off to infinity and the fit does not "
        "converge. Leave out the feature that predicts the class exactly, or use `train` for "
        "a regularised model."
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = sm.Logit(response, design).fit(disp=0, maxiter=LOGIT_MAX_ITERATIONS)
        except (PerfectSeparationError, np.linalg.LinAlgError):
            raise ToolError(problem, "perfect_separation") from None
    raised = {type(warning.message) for warning in caught}
    fitted = np.asarray(result.predict(design))
    separated = bool(np.all(np.abs(fitted - response.to_numpy()) < SEPARATED))
    if (
        separated
        or not result.mle_retvals.get("converged", True)
        or raised & {PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning}
    ):
        raise ToolError(problem, "perfect_separation")
    return result


def _coefficients(result: Any, kind: str) -> list[dict[str, Any]]:
    """Each term's estimate, standard error, t or z, p-value and 95 % interval."""
    statistic = "t" if kind == "ols" else "z"
    intervals = result.conf_int(alpha=ALPHA)
    rows = []
    for term in result.params.index:
        row: dict[str, Any] = {
            "term": str(term),
            "coef": float(result.params[term]),
            "std_err": float(result.bse[term]),
            statistic: float(result.tvalues[term]),
            "p_value": float(result.pvalues[term]),
            "ci_95": [float(intervals.loc[term, 0]), float(intervals.loc[term, 1])],
            "significant": bool(result.pvalues[term] < ALPHA),
        }
        if kind == "logit":
            row["odds_ratio"] = float(np.exp(result.params[term]))
        rows.append(row)
    return rows


def _ols_fit(result: Any) -> dict[str, Any]:
    return {
        "r2": float(result.rsquared),
        "adj_r2": float(result.rsquared_adj),
        "f_statistic": float(result.fvalue),
        "f_p_value": float(result.f_pvalue),
        "df_model": float(result.df_model),
        "df_resid": float(result.df_resid),
        "log_likelihood": float(result.llf),
        "aic": float(result.aic),
        "bic": float(result.bic),
    }


def _logit_fit(result: Any) -> dict[str, Any]:
    return {
        "pseudo_r2": float(result.prsquared),
        "log_likelihood": float(result.llf),
        "ll_null": float(result.llnull),
        "llr": float(result.llr),
        "llr_p_value": float(result.llr_pvalue),
        "df_model": float(result.df_model),
        "df_resid": float(result.df_resid),
        "aic": float(result.aic),
        "bic": float(result.bic),
    }


def _held_out(
    kind: str,
    response: pd.Series,
    design: pd.DataFrame,
    rows: pd.DataFrame,
    target: str,
    options: SplitOptions,
    classes: list[Any],
) -> dict[str, Any]:
    """The same model refitted on the training part of a split and scored on its test part.

    The split follows `train`'s rule (by time when a date column orders the rows)."""
    task = "regression" if kind == "ols" else "classification"
    split = split_rows(rows, response.astype(str), task, options, target)
    where = " in the training part of the held-out split"
    x_train, x_test = design.iloc[split.train], design.iloc[split.test]
    y_train, y_test = response.iloc[split.train], response.iloc[split.test]
    _check_design(x_train, target, where)
    result = _fit(kind, y_train, x_train, where)
    predicted = np.asarray(result.predict(x_test))
    if kind == "ols":
        metrics = held_out_metrics(y_test, predicted, "regression")
    else:
        negative, positive = (str(value) for value in classes)
        names = pd.Series(np.where(y_test == 1, positive, negative), index=y_test.index)
        guesses = np.where(predicted >= 0.5, positive, negative)
        metrics = held_out_metrics(names, guesses, "classification", (predicted, positive))
    return {
        "split": split.description,
        **split.settings,
        "n_train": len(split.train),
        "n_test": len(split.test),
        "test_metrics": metrics,
    }
