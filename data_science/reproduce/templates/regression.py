"""Code templates for the tools of `data_science.tools.regression`."""

from __future__ import annotations

import re
from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments_and_frame, cell, comment

TEMPORAL = re.compile(r"temporal on '(?P<column>.*)' \(the latest")

DESIGN = """\
# The design: an intercept, numbers as they are, and each text column as one 0/1 column
# per level but the first (sorted): `island=Dream` is the difference from the baseline.
parts = [pd.Series(1.0, index=complete.index, name="intercept")]
for name in features:
    values = complete[name]
    if pd.api.types.is_numeric_dtype(values):
        parts.append(values.astype(float).rename(name))
    else:
        text = values.astype(str)
        levels = sorted(text.unique())
        parts.append(pd.DataFrame(
            {f"{name}={level}": (text == level).astype(float) for level in levels[1:]},
            index=complete.index,
        ))
design = pd.concat(parts, axis=1)"""


@code_for("regression_report")
def regression_report(step: Step, names: Names) -> str:
    _, data = arguments_and_frame(step, names)
    result = step.result
    kind = str(result["kind"])
    target = str(result["target"])
    lines = [
        f"target = {literal(target)}",
        f"features = {literal([str(name) for name in result['features']])}",
        f"complete = {data}[[target, *features]].dropna()  # rows missing any value are dropped",
    ]
    if kind == "ols":
        lines.append("y = complete[target].astype(float)")
        fit = "sm.OLS(y, design).fit()"
        statistic = "t"
        fit_numbers = (
            "rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "aic", "bic",
        )  # fmt: skip
    else:
        lines.append(
            f"y = (complete[target] == {literal(result['positive_class'])}).astype(float)"
            "  # the positive class is 1"
        )
        fit = "sm.Logit(y, design).fit(disp=0, maxiter=200)"
        statistic = "z"
        fit_numbers = ("prsquared", "llf", "llnull", "llr", "llr_pvalue", "aic", "bic")
    lines += [
        DESIGN,
        f"result = {fit}",
        "print(result.summary())",
        "intervals = result.conf_int(alpha=0.05)",
        "coefficients = pd.DataFrame({",
        '    "coef": result.params,',
        '    "std_err": result.bse,',
        f'    "{statistic}": result.tvalues,',
        '    "p_value": result.pvalues,',
        '    "ci_low": intervals[0],',
        '    "ci_high": intervals[1],',
        "})",
    ]
    if kind == "logit":
        lines.append('coefficients["odds_ratio"] = np.exp(result.params)')
    lines += [
        "print(coefficients.to_string())",
        'print("n:", int(result.nobs), "dropped (missing):", len(' + data + ") - len(complete))",
        "print({" + ", ".join(f'"{name}": result.{name}' for name in fit_numbers) + "})",
    ]
    imports = ["import numpy as np", "import pandas as pd", "import statsmodels.api as sm"]
    if result.get("held_out"):
        held_lines, held_imports = _held_out(data, kind, fit, result["held_out"])
        lines += held_lines
        imports += held_imports
    return cell(imports, *lines)


def _held_out(data: str, kind: str, fit: str, held: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The same model refitted on the training rows of `train`'s split, scored on the rest."""
    temporal = TEMPORAL.search(str(held.get("split", "")))
    size, seed = float(held["test_size"]), int(held["seed"])
    if temporal:  # the latest rows are the test set
        split = [
            f"dates = pd.to_datetime({data}.loc[complete.index, "
            f"{literal(temporal['column'])}], errors='coerce', format='mixed')",
            "order = np.asarray(dates.argsort(kind='stable'))",
            f"cut = len(order) - math.ceil({size} * len(order))",
            "train_rows, test_rows = order[:cut], order[cut:]",
        ]
        imports = ["import math"]
    else:
        stratify = "y.astype(str)" if held.get("stratified") else "None"
        split = [
            "train_rows, test_rows = train_test_split(",
            f"    np.arange(len(complete)), test_size={size}, random_state={seed},"
            f" stratify={stratify}",
            ")",
        ]
        imports = ["from sklearn.model_selection import train_test_split"]
    scoring = fit.replace("(y, design)", "(y.iloc[train_rows], design.iloc[train_rows])")
    lines = [
        comment(f"# held out: {held.get('split', '')}"),
        *split,
        f"held_out = {scoring}",
        "predicted = np.asarray(held_out.predict(design.iloc[test_rows]))",
        "y_test = y.iloc[test_rows]",
    ]
    if kind == "ols":
        lines.append(
            'print(pd.Series({"rmse": root_mean_squared_error(y_test, predicted),'
            ' "mae": mean_absolute_error(y_test, predicted),'
            ' "r2": r2_score(y_test, predicted)}).to_string())'
        )
        imports.append(
            "from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error"
        )
    else:
        lines += [
            "guesses = (predicted >= 0.5).astype(float)",
            'print(pd.Series({"accuracy": accuracy_score(y_test, guesses),',
            '       "balanced_accuracy": balanced_accuracy_score(y_test, guesses),',
            '       "f1_macro": f1_score(y_test, guesses, average="macro"),',
            '       "roc_auc": roc_auc_score(y_test == 1, predicted)}).to_string())',
        ]
        imports.append(
            "from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score,"
            " roc_auc_score"
        )
    return lines, imports
