"""Feature selection: rank the features that predict a target, and choose a subset.

Pure functions with no ADK import, so they run in a worker process. The task (classification or
regression) and the candidate columns come from `data_science.ml.supervised` (`detect_task`,
`plan_features`): the target and row ids are never features; constant, date and free-text
columns are left out. Numeric columns are median-imputed; text (category) columns are one-hot
encoded into `column=value` features (30 most frequent values, the rest pooled into
`column=other`). Every method ranks these encoded features; `selected_columns` names the
original columns behind the selected features.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_selection import (
    RFE,
    RFECV,
    SelectKBest,
    f_classif,
    f_regression,
    mutual_info_classif,
    mutual_info_regression,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from data_science.errors import ToolError
from data_science.ml.common import SEED
from data_science.ml.prep.encoding import onehot_frame
from data_science.ml.split import FeaturePlan, labelled_rows
from data_science.storage.tables import TableFile, write_parquet

ONEHOT_CATEGORIES = 30
RFECV_FOLDS = 5
SEQUENTIAL_FOLDS = 3
FOREST_TREES = 100
WRAPPER_FOREST_TREES = 50
MAX_RANKED = 50
# Rows used by each method (a seeded random sample beyond this); univariate uses every row.
ROW_CAP = {
    "mutual_info": 20_000,
    "model_importance": 20_000,
    "rfe": 20_000,
    "rfecv": 5_000,
    "sequential": 5_000,
}
TREE_WRAPPER_ROWS = 5_000
# Elimination rounds of RFE/RFECV: beyond this many, several features go per round.
MAX_ROUNDS = {"linear": 40, "tree": 10}
MAX_SEQUENTIAL_FITS = 1_500
ENCODING_NOTE = (
    "numeric columns median-imputed; text columns one-hot encoded as column=value features "
    f"(the {ONEHOT_CATEGORIES} most frequent values, the rest pooled into column=other); "
    "the target, row ids, constant, date and free-text columns are not features"
)


def feature_matrix(frame: pd.DataFrame, plan: FeaturePlan) -> tuple[pd.DataFrame, dict[str, str]]:
    """The encoded feature matrix (floats, no gaps) and each feature's source column."""
    parts: list[pd.DataFrame] = []
    source: dict[str, str] = {}
    for column in plan.numeric:
        values = frame[column].astype(float)
        parts.append(values.fillna(values.median()).to_frame(column))
        source[column] = column
    for column in plan.categorical:
        block, _ = onehot_frame(frame[column], ONEHOT_CATEGORIES, separator="=")
        renamed = {
            str(name): str(name) if name not in source else f"{name} ({column})"
            for name in block.columns
        }
        parts.append(block.rename(columns=renamed).astype(float))
        source.update(dict.fromkeys(renamed.values(), column))
    return pd.concat(parts, axis=1), source


def linear_estimator(task: str) -> Any:
    return LogisticRegression(max_iter=1000) if task == "classification" else LinearRegression()


def tree_estimator(task: str, trees: int = FOREST_TREES) -> Any:
    forest = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return forest(n_estimators=trees, random_state=SEED)


def row_cap(method: str, estimator: str) -> int | None:
    """How many rows `method` may use (None: all)."""
    cap = ROW_CAP.get(method)
    if cap is not None and estimator == "tree" and method in {"rfe", "rfecv"}:
        return min(cap, TREE_WRAPPER_ROWS)
    return cap


def elimination_step(features: int, keep: int, estimator: str) -> int:
    """Features dropped per RFE round: 1, unless that would take too many rounds."""
    return max(1, math.ceil((features - keep) / MAX_ROUNDS[estimator]))


def sequential_fits(features: int, k: int, folds: int) -> int:
    return folds * sum(features - step for step in range(k))


def select_features_to_file(
    table: TableFile,
    target: str,
    method: str,
    k: int,
    estimator: str,
    out_path: Path | None,
) -> dict[str, Any]:
    """Rank and select features for predicting `target`; with `out_path`, also write a table
    holding only the selected columns and the target (all rows)."""
    frame = table.load()
    if k < 1:
        raise ToolError("k must be at least 1 (the number of features to keep).", "bad_k")
    labelled, task, plan, labels = labelled_rows(
        frame, target, "to judge which features predict it"
    )
    report: dict[str, Any] = {"task": task, "target": target, "method": method}
    if method == "sequential":
        estimator = "linear"
    rows = labelled.index
    cap = row_cap(method, estimator)
    if cap is not None and len(labelled) > cap:
        rows = labelled.sample(n=cap, random_state=SEED).index
        report["sampled"] = (
            f"used a random sample of {cap:,} of the {len(labelled):,} labelled rows "
            f"(seed {SEED}) to keep this fast"
        )
    features, source = feature_matrix(labelled.loc[rows], plan)
    y = labels.loc[rows].to_numpy()
    if k > features.shape[1]:
        report["note"] = (
            f"k={k} is more than the {features.shape[1]} features available, so all are kept."
        )
        k = features.shape[1]
    report.update(
        rows_used=len(rows),
        columns_considered=len(plan.features),
        features_considered=features.shape[1],
        k=k,
        encoding=ENCODING_NOTE,
        excluded_columns=plan.dropped or None,
    )
    ranking, extra = _rank(features, y, task, method, k, estimator)
    report.update(extra)
    selected = [entry["feature"] for entry in ranking if entry["selected"]]
    selected_columns = list(dict.fromkeys(source[name] for name in selected))
    for entry in ranking:
        entry["column"] = source[entry["feature"]]
    report["selected_features"] = selected
    report["selected_columns"] = [c for c in frame.columns if c in selected_columns]
    report["ranking"] = ranking[:MAX_RANKED]
    if len(ranking) > MAX_RANKED:
        report["ranking_note"] = f"{len(ranking)} features ranked; the top {MAX_RANKED} shown."
    if out_path is not None:
        kept = [*report["selected_columns"], target]
        report["summary"] = write_parquet(frame[kept], out_path)
    return report


def _rank(
    features: pd.DataFrame, y: np.ndarray, task: str, method: str, k: int, estimator: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every encoded feature ranked by `method` (the selected ones marked), and the report's
    account of how: a filter score, forest importances, or a wrapper around a refitted model."""
    names = [str(c) for c in features.columns]
    values = features.to_numpy()
    classify = task == "classification"
    if method in {"univariate", "mutual_info"}:
        return _filter_rank(names, values, y, classify, method, k)
    if method == "model_importance":
        forest = tree_estimator(task).fit(values, y)
        scores = forest.feature_importances_
        return _top_k(names, scores, k), {
            "how": f"{type(forest).__name__}({FOREST_TREES} trees, seed {SEED}) impurity "
            "importances; the k most important are selected",
            "score_name": "importance",
        }
    model, values, model_name = _wrapped_model(task, estimator, values)
    scoring = "accuracy" if classify else "r2"
    if method == "sequential":
        folds = _folds(y, SEQUENTIAL_FOLDS, classify)
        fits = sequential_fits(len(names), k, folds)
        if fits > MAX_SEQUENTIAL_FITS:
            raise ToolError(
                f"Sequential selection of k={k} from {len(names)} features needs {fits:,} model "
                f"fits; at most {MAX_SEQUENTIAL_FITS:,} are allowed. Use a smaller k, "
                "method='rfe' or 'model_importance', or narrow the columns first (e.g. "
                "method='univariate' with keep_only_selected=True).",
                code="too_much_work",
            )
        return _forward_selection(names, values, y, model, k, folds, scoring, model_name)
    if method == "rfe":
        step = elimination_step(len(names), k, estimator)
        selector = RFE(model, n_features_to_select=k, step=step).fit(values, y)
        return _by_rfe_rank(names, selector.ranking_), {
            "how": f"recursive feature elimination with {model_name}, {step} feature(s) dropped "
            "per round until k remain; rank 1 = kept, higher = dropped earlier",
            "score_name": "rank",
        }
    return _rfecv_rank(names, values, y, model, model_name, classify, scoring, estimator)


def _wrapped_model(task: str, estimator: str, values: np.ndarray) -> tuple[Any, np.ndarray, str]:
    """The model a wrapper method refits (linear on standardized features, or a small seeded
    forest), the values it sees, and how the report names it."""
    if estimator == "linear":
        model = linear_estimator(task)
        return (
            model,
            StandardScaler().fit_transform(values),
            f"{type(model).__name__} on standardized features",
        )
    model = tree_estimator(task, WRAPPER_FOREST_TREES)
    return model, values, f"{type(model).__name__}({WRAPPER_FOREST_TREES} trees, seed {SEED})"


def _rfecv_rank(
    names: list[str],
    values: np.ndarray,
    y: np.ndarray,
    model: Any,
    model_name: str,
    classify: bool,
    scoring: str,
    estimator: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Recursive elimination with the number of features chosen by cross-validation."""
    folds = _folds(y, RFECV_FOLDS, classify)
    step = elimination_step(len(names), 1, estimator)
    selector = RFECV(model, step=step, cv=folds, scoring=scoring, min_features_to_select=1)
    selector.fit(values, y)
    results = selector.cv_results_
    curve = [
        {"n_features": int(n), "mean": float(m), "std": float(s)}
        for n, m, s in zip(
            results["n_features"],
            results["mean_test_score"],
            results["std_test_score"],
            strict=True,
        )
    ]
    return _by_rfe_rank(names, selector.ranking_), {
        "how": f"recursive feature elimination with {model_name}, {step} feature(s) dropped "
        f"per round; the number of features is chosen by {folds}-fold cross-validated "
        f"{scoring} (k is ignored)",
        "k": int(selector.n_features_),
        "score_name": "rank",
        "best_cv_score": max(point["mean"] for point in curve),
        "cv_scores_by_n_features": curve[:MAX_RANKED],
    }


def _filter_rank(
    names: list[str], values: np.ndarray, y: np.ndarray, classify: bool, method: str, k: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if method == "univariate":
        function: Any = f_classif if classify else f_regression
        how = "ANOVA F-test" if classify else "F-test of the linear correlation"
    else:
        function = partial(
            mutual_info_classif if classify else mutual_info_regression, random_state=SEED
        )
        how = f"mutual information (seed {SEED})"
    with np.errstate(divide="ignore", invalid="ignore"):
        selector = SelectKBest(function, k=k).fit(values, y)
    chosen = selector.get_support()
    pvalues = selector.pvalues_
    order = sorted(
        range(len(names)),
        key=lambda i: (not chosen[i], -_finite(selector.scores_[i]), i),
    )
    ranking = []
    for rank, i in enumerate(order, start=1):
        entry: dict[str, Any] = {
            "rank": rank,
            "feature": names[i],
            "score": float(selector.scores_[i]),
            "selected": bool(chosen[i]),
        }
        if pvalues is not None:
            entry["p_value"] = float(pvalues[i])
        ranking.append(entry)
    return ranking, {
        "how": f"SelectKBest with the {how} (score per feature); the k highest are selected",
        "score_name": "F statistic" if method == "univariate" else "mutual information",
    }


def _finite(value: Any) -> float:
    return float(value) if np.isfinite(value) else -np.inf


def _top_k(names: list[str], scores: np.ndarray, k: int) -> list[dict[str, Any]]:
    order = sorted(range(len(names)), key=lambda i: (-_finite(scores[i]), i))
    return [
        {"rank": rank, "feature": names[i], "score": float(scores[i]), "selected": rank <= k}
        for rank, i in enumerate(order, start=1)
    ]


def _by_rfe_rank(names: list[str], ranks: np.ndarray) -> list[dict[str, Any]]:
    order = sorted(range(len(names)), key=lambda i: (int(ranks[i]), i))
    return [
        {"rank": int(ranks[i]), "feature": names[i], "selected": int(ranks[i]) == 1} for i in order
    ]


def _folds(y: np.ndarray, wanted: int, classify: bool) -> int:
    if not classify:
        return wanted
    smallest = int(pd.Series(y).value_counts().min())
    if smallest < 2:
        raise ToolError(
            "A class of the target has a single row, so cross-validation cannot be stratified. "
            "Use method='univariate' or 'model_importance', or merge rare classes.",
            code="rare_class",
        )
    return min(wanted, smallest)


def _forward_selection(
    names: list[str],
    values: np.ndarray,
    y: np.ndarray,
    model: Any,
    k: int,
    folds: int,
    scoring: str,
    model_name: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Forward sequential selection, step by step as scikit-learn's SequentialFeatureSelector
    (the candidate with the best mean cross-validated score joins), recording each step."""
    chosen: list[int] = []
    steps: list[dict[str, Any]] = []
    for _ in range(k):
        scores = {}
        for candidate in (i for i in range(len(names)) if i not in chosen):
            columns = sorted([*chosen, candidate])
            scores[candidate] = float(
                cross_val_score(model, values[:, columns], y, cv=folds, scoring=scoring).mean()
            )
        best = max(scores, key=lambda i: scores[i])
        chosen.append(best)
        steps.append({"feature": names[best], "cv_score": scores[best]})
    ranking: list[dict[str, Any]] = [
        {
            "rank": rank,
            "feature": step["feature"],
            "score": step["cv_score"],
            "selected": True,
        }
        for rank, step in enumerate(steps, start=1)
    ]
    ranking += [
        {"rank": None, "feature": names[i], "selected": False}
        for i in range(len(names))
        if i not in chosen
    ]
    return ranking, {
        "how": f"forward sequential selection with {model_name}: each step adds the feature "
        f"that most improves {folds}-fold cross-validated {scoring}; score = {scoring} after "
        "adding it",
        "score_name": f"cv {scoring} after adding",
    }
