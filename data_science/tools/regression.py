"""Regression reports: the statsmodels summary of a linear or logistic regression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.ml.common import SEED
from data_science.ml.split import TEST_SIZE, SplitOptions
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import model_sample
from data_science.tools.base import column_names, open_with_target, resolve_column, tool

if TYPE_CHECKING:
    from data_science.ml import regression
else:  # computed in the worker processes only (runtime/remote.py)
    regression = in_workers("data_science.ml.regression")


@tool
async def regression_report(
    dataset_id: str,
    target: str,
    tool_context: ToolContext,
    features: list[str] | None = None,
    kind: Literal["auto", "ols", "logit"] = "auto",
    held_out: bool = False,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
) -> dict[str, Any]:
    """Fit a linear (OLS) or logistic (Logit) regression and report it as statsmodels does.

    Use it for a "regression summary", for coefficients with standard errors and p-values,
    or to ask which features matter and how much (e.g. "regression of price on carat and
    depth"). For predictions and honest test metrics of many model families use `train`.
    `features`: the columns to regress on (default: every usable column; row ids, constants,
    dates and free text are left out and listed in `left_out`). `kind`: "auto" (Logit when the
    target has exactly two values, else OLS), "ols" or "logit". Categorical features are
    one-hot encoded with the first level (sorted) as the baseline: the term `island=Dream` is
    the difference from the baseline listed in `baselines`. Rows missing any value used are
    dropped and counted (`rows_dropped_missing`); `n` is how many were used.

    Returns each term's `coef`, `std_err`, `t` (OLS) or `z` (Logit), `p_value`, `ci_95` and, for
    a Logit, `odds_ratio` (for the `positive_class`); the fit: OLS `r2`, `adj_r2`, `f_statistic`
    and `f_p_value`; Logit `pseudo_r2`, `log_likelihood`, `ll_null` and `llr_p_value`; both
    `aic` and `bic`. These are in-sample numbers. With `held_out=true` the same model is also
    refitted on the training part of a split (`test_size`, `seed`, `stratify` as in `train`;
    by time when a date column orders the rows) and scored on the rest (`held_out`).
    Collinear features and classes the features separate perfectly are refused by name.
    """
    split = SplitOptions(test_size, seed, stratify)
    _, record, table, target = await open_with_target(tool_context, dataset_id, target)
    chosen = None
    if features:
        known = column_names(record)
        chosen = [resolve_column(known, name, "feature") for name in features]
    report = await run_cpu(
        regression.regression_report, table, target, chosen, kind, held_out, split, lane="quick"
    )
    return {"dataset_id": dataset_id, **report, **model_sample(table)}
