"""regression_report: every number checked against statsmodels' formula API (and scikit-learn's
LinearRegression for the coefficients), fitted here independently of the tool's design code."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from google.adk.tools.tool_context import ToolContext
from sklearn.linear_model import LinearRegression
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from data_science.tools.regression import regression_report
from tests.conftest import Refusal, add_dataset, call

MASS_FEATURES = ["flipper_length_mm", "bill_length_mm", "island", "sex"]
MASS_FORMULA = "body_mass_g ~ flipper_length_mm + bill_length_mm + C(island) + C(sex)"
SEX_FEATURES = ["body_mass_g", "bill_depth_mm", "species"]
SEX_FORMULA = "male ~ body_mass_g + bill_depth_mm + C(species)"


def formula_term(term: str) -> str:
    """statsmodels' name of the tool's term: `island=Dream` is `C(island)[T.Dream]`."""
    if term == "intercept":
        return "Intercept"
    if "=" in term:
        column, level = term.split("=", 1)
        return f"C({column})[T.{level}]"
    return term


def assert_coefficients_match(report: dict[str, Any], fitted: Any, statistic: str) -> None:
    intervals = fitted.conf_int(alpha=0.05)
    terms = [formula_term(row["term"]) for row in report["coefficients"]]
    assert sorted(terms) == sorted(fitted.params.index)  # patsy puts categorical terms first
    for row in report["coefficients"]:
        term = formula_term(row["term"])
        assert row["coef"] == pytest.approx(fitted.params[term], rel=1e-6)
        assert row["std_err"] == pytest.approx(fitted.bse[term], rel=1e-6)
        assert row[statistic] == pytest.approx(fitted.tvalues[term], rel=1e-6)
        assert row["p_value"] == pytest.approx(fitted.pvalues[term], rel=1e-5, abs=1e-300)
        assert row["ci_95"] == pytest.approx(list(intervals.loc[term]), rel=1e-6)
        assert row["significant"] == (fitted.pvalues[term] < 0.05)


async def test_ols_matches_statsmodels_and_sklearn(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    report = await call(
        regression_report,
        tool_context,
        dataset_id=dataset_id,
        target="body_mass_g",
        features=MASS_FEATURES,
    )
    fitted = smf.ols(MASS_FORMULA, data=penguins).fit()
    assert report["kind"] == "ols" and report["n"] == int(fitted.nobs) == 333
    assert report["rows_dropped_missing"] == len(penguins) - 333
    assert report["baselines"] == {"island": "Biscoe", "sex": "female"}
    assert_coefficients_match(report, fitted, "t")
    fit = report["fit"]
    expected = {
        "r2": fitted.rsquared,
        "adj_r2": fitted.rsquared_adj,
        "f_statistic": fitted.fvalue,
        "f_p_value": fitted.f_pvalue,
        "log_likelihood": fitted.llf,
        "aic": fitted.aic,
        "bic": fitted.bic,
    }
    assert {key: fit[key] for key in expected} == pytest.approx(expected, rel=1e-6)
    complete = penguins[["body_mass_g", *MASS_FEATURES]].dropna()
    x = pd.get_dummies(complete[MASS_FEATURES], drop_first=True, prefix_sep="=", dtype=float)
    sklearn = LinearRegression().fit(x, complete["body_mass_g"])
    by_term = {row["term"]: row["coef"] for row in report["coefficients"]}
    assert by_term == pytest.approx(
        {"intercept": sklearn.intercept_, **dict(zip(x.columns, sklearn.coef_, strict=True))},
        rel=1e-6,
    )
    json.dumps(report, allow_nan=False)


async def test_logit_of_a_two_class_target_matches_statsmodels(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    data = penguins.dropna(subset=["sex", *SEX_FEATURES])
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    report = await call(
        regression_report, tool_context, dataset_id=dataset_id, target="sex", features=SEX_FEATURES
    )
    fitted = smf.logit(SEX_FORMULA, data=data.assign(male=(data["sex"] == "male") * 1.0)).fit(
        disp=0
    )
    assert report["kind"] == "logit" and report["positive_class"] == "male"
    assert report["n"] == len(data) == 333
    assert_coefficients_match(report, fitted, "z")
    for row in report["coefficients"]:
        assert row["odds_ratio"] == pytest.approx(np.exp(row["coef"]))
    fit = report["fit"]
    expected = {
        "pseudo_r2": fitted.prsquared,
        "log_likelihood": fitted.llf,
        "ll_null": fitted.llnull,
        "llr_p_value": fitted.llr_pvalue,
        "aic": fitted.aic,
        "bic": fitted.bic,
    }
    assert {key: fit[key] for key in expected} == pytest.approx(expected, rel=1e-6, abs=1e-300)


async def test_held_out_metrics_refit_on_the_asked_split(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    ols = await call(
        regression_report,
        tool_context,
        dataset_id=dataset_id,
        target="body_mass_g",
        features=MASS_FEATURES,
        held_out=True,
        test_size=0.3,
        seed=1,
    )
    complete = penguins[["body_mass_g", *MASS_FEATURES]].dropna()
    train, test = train_test_split(complete, test_size=0.3, random_state=1)
    predicted = smf.ols(MASS_FORMULA, data=train).fit().predict(test)
    held = ols["held_out"]
    assert (held["n_train"], held["n_test"], held["seed"]) == (len(train), len(test), 1)
    assert held["test_metrics"]["rmse"] == pytest.approx(
        root_mean_squared_error(test["body_mass_g"], predicted)
    )
    assert held["test_metrics"]["r2"] == pytest.approx(r2_score(test["body_mass_g"], predicted))
    assert held["stratified"] is False  # a numeric target
    logit = await call(
        regression_report,
        tool_context,
        dataset_id=dataset_id,
        target="sex",
        features=SEX_FEATURES,
        held_out=True,
        test_size=0.25,
        seed=4,
    )
    data = penguins.dropna(subset=["sex", *SEX_FEATURES])
    data = data.assign(male=(data["sex"] == "male") * 1.0)
    train, test = train_test_split(data, test_size=0.25, random_state=4, stratify=data["sex"])
    probability = smf.logit(SEX_FORMULA, data=train).fit(disp=0).predict(test)
    metrics = logit["held_out"]["test_metrics"]
    assert logit["held_out"]["stratified"] is True
    assert metrics["accuracy"] == pytest.approx(accuracy_score(test["male"], probability >= 0.5))
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(test["male"], probability))


async def test_default_features_leave_out_ids_and_name_them(tool_context: ToolContext) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"id": range(80), "x": rng.normal(size=80), "z": rng.normal(size=80)})
    frame["y"] = 2 * frame["x"] - frame["z"] + rng.normal(scale=0.5, size=80)
    dataset_id = add_dataset(tool_context, frame, "xy.csv")
    report = await call(regression_report, tool_context, dataset_id=dataset_id, target="y")
    assert report["features"] == ["x", "z"] and report["left_out"] == {"id": "row identifier"}
    fitted = smf.ols("y ~ x + z", data=frame).fit()
    assert_coefficients_match(report, fitted, "t")


def separated() -> pd.DataFrame:
    x = np.arange(40.0)
    return pd.DataFrame({"x": x, "twice": 2 * x, "noise": np.sin(x), "y": (x > 19) * 1})


def wide_text() -> pd.DataFrame:
    return pd.DataFrame({"code": [f"c{i}" for i in range(40)], "y": np.arange(40.0) % 7})


def tiny() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(6, 6)), columns=["a", "b", "c", "d", "e", "y"])
    return frame.assign(day=pd.date_range("2024-01-01", periods=6))


def refused(name: str, frame: str, arguments: dict[str, Any], code: str, *says: str) -> Any:
    return pytest.param(frame, Refusal(regression_report, arguments, code, says), id=name)


@pytest.mark.parametrize(
    ("frame", "case"),
    [
        refused(
            "perfect-separation",
            "separated",
            {"target": "y", "features": ["x"]},
            "perfect_separation",
            "Leave out",
        ),
        refused(
            "collinear-features-are-named",
            "separated",
            {"target": "noise", "features": ["x", "twice"]},
            "singular_design",
            "twice",
        ),
        refused(
            "logit-of-a-number",
            "separated",
            {"target": "noise", "kind": "logit"},
            "wrong_kind",
            "kind='ols'",
        ),
        refused(
            "ols-of-text",
            "penguins",
            {"target": "sex", "kind": "ols"},
            "wrong_kind",
            "kind='logit'",
        ),
        refused("three-classes", "penguins", {"target": "species"}, "wrong_kind", "`train`"),
        refused(
            "the-target-as-a-feature",
            "penguins",
            {"target": "body_mass_g", "features": ["body_mass_g", "sex"]},
            "bad_argument",
            "target",
        ),
        refused(
            "too-many-levels",
            "wide_text",
            {"target": "y", "features": ["code"]},
            "too_many_levels",
            "group its rare values",
        ),
        refused(
            "more-terms-than-rows",
            "tiny",
            {"target": "y", "features": ["a", "b", "c", "d", "e"]},
            "too_few_rows",
            "more rows than terms",
        ),
        refused(
            "too-few-rows-to-hold-some-out",
            "tiny",
            {"target": "y", "features": ["a"], "held_out": True},
            "too_few_rows",
            "too few to hold some out",
        ),
        refused(
            "a-date-feature",
            "tiny",
            {"target": "y", "features": ["a", "day"]},
            "wrong_column_type",
            "expand_dates",
        ),
        refused(
            "an-unknown-kind",
            "penguins",
            {"target": "body_mass_g", "kind": "probit"},
            "bad_argument",
            "auto, ols, logit",
        ),
        refused(
            "a-held-out-split-of-everything",
            "penguins",
            {"target": "body_mass_g", "held_out": True, "test_size": 1.0},
            "bad_test_size",
        ),
        refused(
            "an-unknown-feature",
            "penguins",
            {"target": "body_mass_g", "features": ["mass"]},
            "unknown_column",
            "body_mass_g",
        ),
    ],
)
async def test_a_regression_that_cannot_be_estimated_is_refused_by_name(
    tool_context: ToolContext, penguins: pd.DataFrame, frame: str, case: Refusal
) -> None:
    frames = {
        "penguins": penguins,
        "separated": separated(),
        "wide_text": wide_text(),
        "tiny": tiny(),
    }
    dataset_id = add_dataset(tool_context, frames[frame], f"{frame}.csv")
    await case.check(tool_context, dataset_id=dataset_id)
