"""Code templates for the tools of `data_science.tools.features`."""

from __future__ import annotations

import math
from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments_and_frame, cell

SEED = 42
ONEHOT_CATEGORIES = 30
MAX_ROUNDS = {"linear": 40, "tree": 10}  # RFE rounds: beyond them several features go per round
ROW_ID = r"^(id|index|row|row_?id|.*_id|unnamed: ?0)$"

FEATURES = f"""\
# The features, as `train` chooses them: not the target, row ids, constant, date or free-text
# columns; numbers median-imputed, text one-hot encoded as column=value (the
# {ONEHOT_CATEGORIES} most frequent values, the rest pooled into column=other).
numeric, categorical = [], []
for name in labelled.columns:
    values, distinct = labelled[name], labelled[name].nunique()
    if name == target or distinct <= 1:
        continue
    if re.match({ROW_ID!r}, str(name), re.IGNORECASE) and distinct >= 0.95 * len(labelled):
        continue  # a row identifier
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numeric.append(name)
    elif not pd.api.types.is_datetime64_any_dtype(values) and distinct <= max(
        50, 0.5 * len(labelled)
    ):
        categorical.append(name)
parts = []
for name in numeric:
    values = rows[name].astype(float)
    parts.append(values.fillna(values.median()).rename(name))
for name in categorical:
    labels = rows[name].map(str, na_action="ignore")
    counts = labels.value_counts()
    ranked = sorted(counts.index, key=lambda value: (-counts[value], value))
    kept = sorted(ranked[:{ONEHOT_CATEGORIES}])
    block = {{f"{{name}}={{value}}": labels == value for value in kept}}
    if len(ranked) > {ONEHOT_CATEGORIES}:
        block[f"{{name}}=other"] = labels.isin(ranked[{ONEHOT_CATEGORIES}:])
    parts.append(pd.DataFrame(block, index=rows.index).astype(float))
features = pd.concat(parts, axis=1)
values = features.to_numpy()"""


@code_for("select_features")
def select_features(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    result = step.result
    task, method = str(result["task"]), str(args["method"])
    classify = task == "classification"
    lines = [
        f"target = {literal(str(result['target']))}",
        f"labelled = {data}[{data}[target].notna()]",
    ]
    if result.get("sampled"):
        lines.append(
            f"rows = labelled.sample(n={int(result['rows_used'])}, random_state={SEED})"
            "  # a sample keeps it fast"
        )
    else:
        lines.append("rows = labelled")
    lines += [
        "y = rows[target]"
        + (".astype(str).to_numpy()" if classify else ".astype(float).to_numpy()"),
        FEATURES,
        f"k = min({int(args['k'])}, features.shape[1])",
    ]
    imports = ["import re", "import numpy as np", "import pandas as pd"]
    body, more = _method(method, classify, str(args["estimator"]), result)
    return cell([*imports, *more], *lines, *body)


def _method(
    method: str, classify: bool, estimator: str, result: Any
) -> tuple[list[str], list[str]]:
    kind = "classif" if classify else "regression"
    forest = "RandomForestClassifier" if classify else "RandomForestRegressor"
    if method in {"univariate", "mutual_info"}:
        function = (
            ("f_classif" if classify else "f_regression")
            if method == "univariate"
            else f"partial(mutual_info_{kind}, random_state={SEED})"
        )
        imported = function.split("(")[-1].split(",")[0] if method != "univariate" else function
        imports = [f"from sklearn.feature_selection import SelectKBest, {imported}"]
        if method == "mutual_info":
            imports.append("from functools import partial")
        lines = [
            f"selector = SelectKBest({function}, k=k).fit(values, y)",
            "ranking = pd.DataFrame({'score': selector.scores_,"
            + (" 'p_value': selector.pvalues_," if method == "univariate" else "")
            + " 'selected': selector.get_support()}, index=features.columns)",
            "ranking = ranking.sort_values(['selected', 'score'], ascending=False, kind='stable')",
            "ranking.insert(0, 'rank', range(1, len(ranking) + 1))",
        ]
        return [*lines, "print(ranking.to_string())"], imports
    if method == "model_importance":
        return [
            f"forest = {forest}(n_estimators=100, random_state={SEED}).fit(values, y)",
            "ranking = pd.DataFrame({'importance': forest.feature_importances_},"
            " index=features.columns)",
            "ranking = ranking.sort_values('importance', ascending=False, kind='stable')",
            "ranking.insert(0, 'rank', range(1, len(ranking) + 1))",
            "ranking['selected'] = ranking['rank'] <= k",
            "print(ranking.to_string())",
        ], [f"from sklearn.ensemble import {forest}"]
    return _wrapper(method, classify, estimator, result, forest)


def _wrapper(
    method: str, classify: bool, estimator: str, result: Any, forest: str
) -> tuple[list[str], list[str]]:
    """RFE, RFECV or forward selection around a linear model on standardized features or a
    small seeded forest."""
    if method == "sequential":
        estimator = "linear"
    linear = "LogisticRegression(max_iter=1000)" if classify else "LinearRegression()"
    if estimator == "linear":
        model = linear
        imports = [
            f"from sklearn.linear_model import {linear.split('(')[0]}",
            "from sklearn.preprocessing import StandardScaler",
        ]
        lines = ["values = StandardScaler().fit_transform(values)"]
    else:
        model = f"{forest}(n_estimators=50, random_state={SEED})"
        imports, lines = [f"from sklearn.ensemble import {forest}"], []
    scoring = "accuracy" if classify else "r2"
    wanted = 3 if method == "sequential" else 5
    folds = f"min({wanted}, pd.Series(y).value_counts().min())" if classify else str(wanted)
    considered = int(result.get("features_considered", 0))
    if method == "rfe":
        k = int(result.get("k", 1))
        step = max(1, math.ceil((considered - k) / MAX_ROUNDS[estimator]))
        imports.append("from sklearn.feature_selection import RFE")
        lines += [
            f"selector = RFE({model}, n_features_to_select=k, step={step}).fit(values, y)",
            "ranking = pd.Series(selector.ranking_, index=features.columns)",
            "ranking = ranking.sort_values(kind='stable')",
            "print(ranking.to_string())  # rank 1 = kept",
        ]
    elif method == "rfecv":
        step = max(1, math.ceil((considered - 1) / MAX_ROUNDS[estimator]))
        imports.append("from sklearn.feature_selection import RFECV")
        lines += [
            f"selector = RFECV({model}, step={step}, cv={folds}, scoring={literal(scoring)},"
            " min_features_to_select=1).fit(values, y)",
            "ranking = pd.Series(selector.ranking_, index=features.columns)",
            "ranking = ranking.sort_values(kind='stable')",
            "print(ranking.to_string())  # rank 1 = kept",
            "print('features chosen:', selector.n_features_,"
            " 'best cv score:', selector.cv_results_['mean_test_score'].max())",
        ]
    else:
        imports.append("from sklearn.model_selection import cross_val_score")
        lines += [
            f"model, folds, chosen = {model}, {folds}, []",
            "for _ in range(k):  # each step adds the feature that most improves the CV score",
            "    scores = {",
            "        i: cross_val_score(model, values[:, sorted([*chosen, i])], y, cv=folds,"
            f" scoring={literal(scoring)}).mean()",
            "        for i in range(values.shape[1]) if i not in chosen",
            "    }",
            "    best = max(scores, key=lambda i: scores[i])",
            "    chosen.append(best)",
            "    print(len(chosen), features.columns[best], scores[best])",
        ]
    return lines, imports
