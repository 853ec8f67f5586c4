"""Model evaluation, tuning and ensembles on the shared held-out split (80/20 by default).

Cross-validation and searches only ever see the training part of `held_out_split`; the test
rows score the final model once. Pure functions with no ADK import, so they can run
in a worker process.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn import model_selection
from sklearn.ensemble import (
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from data_science.errors import ToolError
from data_science.ml.estimators import DEFAULT_MODEL, family, wrong_task
from data_science.ml.split import HeldOutSplit, SplitOptions, held_out_split
from data_science.ml.supervised import build_pipeline, held_out_metrics, positive_scores
from data_science.storage.tables import TableFile

MAX_SEARCH_ROWS = 20_000
MAX_GRID = 60
MAX_ITER = 60
MIN_FOLDS, MAX_FOLDS = 2, 10
MIN_MEMBERS, MAX_MEMBERS = 2, 5
TOP_CANDIDATES = 5

# Metric name -> (scikit-learn scorer, sign to apply so the reported number reads naturally).
CLASSIFICATION_SCORERS = {
    "accuracy": ("accuracy", 1.0),
    "balanced_accuracy": ("balanced_accuracy", 1.0),
    "f1_macro": ("f1_macro", 1.0),
}
BINARY_SCORERS = {"roc_auc": ("roc_auc", 1.0)}
REGRESSION_SCORERS = {
    "rmse": ("neg_root_mean_squared_error", -1.0),
    "mae": ("neg_mean_absolute_error", -1.0),
    "r2": ("r2", 1.0),
}
# The score a search maximises.
SEARCH_SCORING = {"classification": "accuracy", "regression": "r2"}

_TREES: dict[str, list[Any]] = {
    "n_estimators": [100, 200, 400],
    "max_depth": [None, 5, 10, 20],
    "min_samples_leaf": [1, 2, 4],
    "max_features": ["sqrt", 0.5, 1.0],
}
_STRENGTH: list[Any] = [0.01, 0.1, 1.0, 10.0, 100.0]

# Family -> task -> estimator parameter -> candidate values. Same for both tasks unless split.
PARAM_SPACES: dict[str, dict[str, dict[str, list[Any]]]] = {
    "decision_tree": {
        "any": {"max_depth": [None, 2, 3, 4, 6, 8, 12], "min_samples_leaf": [1, 2, 5, 10]}
    },
    "random_forest": {"any": _TREES},
    "extra_trees": {"any": _TREES},
    "hist_gradient_boosting": {
        "any": {
            "learning_rate": [0.03, 0.1, 0.3],
            "max_iter": [100, 300],
            "max_leaf_nodes": [15, 31, 63],
            "l2_regularization": [0.0, 1.0],
        }
    },
    "gradient_boosting": {
        "any": {
            "n_estimators": [100, 300],
            "learning_rate": [0.03, 0.1, 0.3],
            "max_depth": [2, 3, 5],
            "subsample": [0.8, 1.0],
        }
    },
    "lightgbm": {
        "any": {
            "n_estimators": [100, 300],
            "learning_rate": [0.03, 0.1],
            "num_leaves": [15, 31, 63],
            "min_child_samples": [10, 20, 40],
        }
    },
    "logistic": {"classification": {"C": _STRENGTH}},
    "ridge": {"any": {"alpha": _STRENGTH}},
    "lasso": {"classification": {"C": _STRENGTH}, "regression": {"alpha": [0.01, 0.1, 1.0, 10.0]}},
    "svm": {"any": {"C": [0.1, 1.0, 10.0, 100.0], "gamma": ["scale", 0.01, 0.1]}},
    "knn": {
        "any": {
            "n_neighbors": [3, 5, 7, 11, 15, 25],
            "weights": ["uniform", "distance"],
            "p": [1, 2],
        }
    },
    "naive_bayes": {"classification": {"var_smoothing": [1e-9, 1e-8, 1e-7, 1e-6, 1e-5]}},
}


def family_name(model: str) -> str:
    """The family's real name ('auto' is the default family); unknown names raise."""
    family(model)
    return DEFAULT_MODEL if model == "auto" else model


def param_space(model: str, task: str) -> dict[str, list[Any]]:
    """The search space of `model` for `task`, addressed as `model__<param>` in the pipeline."""
    name = family_name(model)
    spaces = PARAM_SPACES.get(name)
    if spaces is None:
        raise ToolError(
            f"'{name}' has no search space to tune. Tunable models: {', '.join(PARAM_SPACES)}.",
            "not_tunable",
        )
    space = spaces.get(task, spaces.get("any"))
    if space is None:
        raise wrong_task(name, task)
    return {f"model__{param}": values for param, values in space.items()}


def grid_size(space: dict[str, list[Any]]) -> int:
    return math.prod(len(values) for values in space.values())


def cross_validate_model(
    table: TableFile, target: str, model: str, folds: int, options: SplitOptions | None = None
) -> dict[str, Any]:
    """k-fold cross-validation of one family on the training part, several metrics at once."""
    _check_folds(folds)
    name = family_name(model)
    split = held_out_split(table.load(), target, options, name)
    x_train, y_train, notes = _training_rows(split, [name])
    pipeline = build_pipeline(split.plan, split.task, name, split.seed)
    splitter = make_splitter(split, y_train, folds)
    scorers = metric_scorers(split.task, y_train)
    results = model_selection.cross_validate(
        pipeline,
        x_train,
        y_train,
        cv=splitter,
        scoring={metric: scorer for metric, (scorer, _) in scorers.items()},
        n_jobs=1,
        error_score="raise",
    )
    metrics = {}
    for metric, (_, sign) in scorers.items():
        scores = sign * results[f"test_{metric}"]
        metrics[metric] = {
            "mean": float(scores.mean()),
            "std": float(scores.std()),
            "per_fold": [float(score) for score in scores],
        }
    report: dict[str, Any] = {
        "task": split.task,
        "target": target,
        "model": type(pipeline.named_steps["model"]).__name__,
        "model_family": name,
        "folds": splitter.get_n_splits(),
        "cv": _describe_splitter(splitter),
        "n_train": len(x_train),
        "held_out_test_rows_untouched": len(split.x_test),
        "split": split.description,
        **split.settings,
        "metrics": metrics,
        "mean_fit_seconds": float(np.mean(results["fit_time"])),
        "features": split.plan.features,
        "dropped_columns": split.plan.dropped,
    }
    if notes:
        report["notes"] = notes
    return report


def tune_to_file(
    table: TableFile,
    target: str,
    model: str,
    search: str,
    n_iter: int,
    folds: int,
    model_path: Path,
    options: SplitOptions | None = None,
) -> dict[str, Any]:
    """Search the family's parameter space on the training part, refit the best, save it."""
    _check_folds(folds)
    if search not in {"grid", "random"}:
        raise ToolError(f"search must be 'grid' or 'random', not '{search}'.", "bad_search")
    if search == "random" and not 1 <= n_iter <= MAX_ITER:
        raise ToolError(
            f"n_iter must be between 1 and {MAX_ITER}; {n_iter} was asked for.", "bad_n_iter"
        )
    name = family_name(model)
    split = held_out_split(table.load(), target, options, name)
    space = param_space(name, split.task)
    size = grid_size(space)
    if search == "grid" and size > MAX_GRID:
        raise ToolError(
            f"The grid for '{name}' has {size} combinations (x {folds} folds = {size * folds} "
            f'fits); at most {MAX_GRID} are searched exhaustively. Use search="random" with '
            f"n_iter=20 to sample {min(20, size)} of them.",
            "grid_too_large",
        )
    x_train, y_train, notes = _training_rows(split, [name])
    pipeline = build_pipeline(split.plan, split.task, name, split.seed)
    splitter = make_splitter(split, y_train, folds)
    space = _within_fold_size(space, splitter, x_train, y_train)
    scoring = SEARCH_SCORING[split.task]
    searcher = _searcher(search, pipeline, space, n_iter, scoring, splitter, split.seed)
    searcher.fit(x_train, y_train)
    best = searcher.best_estimator_
    joblib.dump(best, model_path)
    report = _model_report(best, split, target, name, len(x_train))
    report.update(_search_report(searcher, search, grid_size(space), scoring, splitter))
    if notes:
        report["notes"] = notes
    return report


def _searcher(
    search: str,
    pipeline: Any,
    space: dict[str, list[Any]],
    n_iter: int,
    scoring: str,
    splitter: Any,
    seed: int,
) -> Any:
    """Scikit-learn's exhaustive grid search, or a seeded random search of `n_iter` points."""
    if search == "grid":
        return model_selection.GridSearchCV(
            pipeline, space, scoring=scoring, cv=splitter, n_jobs=1, error_score="raise"
        )
    return model_selection.RandomizedSearchCV(
        pipeline,
        space,
        n_iter=min(n_iter, grid_size(space)),
        scoring=scoring,
        cv=splitter,
        n_jobs=1,
        random_state=seed,
        error_score="raise",
    )


def _search_report(
    searcher: Any, search: str, size: int, scoring: str, splitter: Any
) -> dict[str, Any]:
    """The best parameters, how the search ran, and its best few candidates."""
    results = searcher.cv_results_
    order = np.argsort(results["rank_test_score"], kind="stable")[:TOP_CANDIDATES]
    return {
        "best_params": _plain_params(searcher.best_params_),
        "search": {
            "method": search,
            "candidates": len(results["params"]),
            "space_size": size,
            "scoring": scoring,
            "folds": splitter.get_n_splits(),
            "cv": _describe_splitter(splitter),
        },
        "cross_validation": {
            "scoring": scoring,
            "folds": splitter.get_n_splits(),
            "mean": float(searcher.best_score_),
            "std": float(results["std_test_score"][searcher.best_index_]),
        },
        "top_candidates": [
            {
                "params": _plain_params(results["params"][i]),
                "mean": float(results["mean_test_score"][i]),
                "std": float(results["std_test_score"][i]),
            }
            for i in order
        ],
    }


def ensemble_to_file(
    table: TableFile,
    target: str,
    models: list[str],
    method: str,
    model_path: Path,
    options: SplitOptions | None = None,
) -> dict[str, Any]:
    """Fit a voting or stacking ensemble of named families, score it and each member, save it.

    The members share one task, the target's: "linear" (a regression) cannot join an ensemble
    of classifiers; "logistic" can."""
    names = _ensemble_members(models, method)
    split = held_out_split(table.load(), target, options)
    x_train, y_train, notes = _training_rows(split, names)
    members = [(name, build_pipeline(split.plan, split.task, name, split.seed)) for name in names]
    voting = None
    if method == "voting":
        ensemble, voting = _voting(members, names, split.task)
    else:
        ensemble = _stacking(members, split, y_train, notes)
    ensemble.fit(x_train, y_train)
    joblib.dump(ensemble, model_path)
    member_metrics = {}
    for name, pipeline in members:
        pipeline.fit(x_train, y_train)  # alone, exactly as `train` fits it
        member_metrics[name] = held_out_scores(pipeline, split)
    report = _model_report(ensemble, split, target, "ensemble", len(x_train))
    report.update(
        {
            "method": method,
            "members": names,
            "member_test_metrics": member_metrics,
            "comparison": _comparison(report["test_metrics"], member_metrics, split.task),
        }
    )
    if voting:
        report["voting"] = voting
    if method == "stacking":
        report["final_estimator"] = type(ensemble.final_estimator).__name__
        report["stacking_cv"] = _describe_splitter(ensemble.cv)
    if notes:
        report["notes"] = notes
    return report


def _ensemble_members(models: list[str], method: str) -> list[str]:
    """The members' family names: two to five different known families."""
    if method not in {"voting", "stacking"}:
        raise ToolError(f"method must be 'voting' or 'stacking', not '{method}'.", "bad_method")
    names = [family_name(model) for model in models]
    if not MIN_MEMBERS <= len(names) <= MAX_MEMBERS:
        raise ToolError(
            f"An ensemble needs {MIN_MEMBERS} to {MAX_MEMBERS} different models; got "
            f"{len(names)}. For example models=['random_forest', 'logistic', 'knn'].",
            "bad_members",
        )
    if len(set(names)) < len(names):
        raise ToolError(
            f"Each model may appear once in an ensemble; got {names}.", "duplicate_members"
        )
    return names


def _voting(members: list[tuple[str, Any]], names: list[str], task: str) -> tuple[Any, str | None]:
    """A voting ensemble, and for classes its kind: soft when every member gives
    probabilities, else hard."""
    if task != "classification":
        return VotingRegressor(members, n_jobs=1), None
    voting = "soft" if all(hasattr(p, "predict_proba") for _, p in members) else "hard"
    if voting == "hard" and "catboost" in names:
        raise ToolError(
            "catboost can only join a voting ensemble whose members all give "
            "probabilities; ridge has none. Use method='stacking', or swap ridge for "
            "logistic.",
            "hard_voting_catboost",
        )
    return VotingClassifier(members, voting=voting, n_jobs=1), voting


def _stacking(
    members: list[tuple[str, Any]], split: HeldOutSplit, y_train: pd.Series, notes: list[str]
) -> Any:
    """A stacking ensemble whose final estimator learns from out-of-fold predictions."""
    stack_cv = make_splitter(split, y_train, 5)
    if split.time_column:
        # Stacking needs an out-of-fold prediction for every training row, which
        # time-ordered folds cannot give; contiguous blocks keep the rows in order.
        stack_cv = model_selection.KFold(5)
        notes.append(
            "Stacking learned its blend on 5 contiguous time blocks of the training part; "
            "the held-out test set is still the latest rows."
        )
    if split.task == "classification":
        final: Any = LogisticRegression(max_iter=2000)
        return StackingClassifier(members, final_estimator=final, cv=stack_cv, n_jobs=1)
    return StackingRegressor(members, final_estimator=Ridge(), cv=stack_cv, n_jobs=1)


def _comparison(
    ensemble_metrics: dict[str, float], member_metrics: dict[str, dict[str, float]], task: str
) -> dict[str, Any]:
    """The ensemble against its best member on accuracy (classes) or RMSE (numbers)."""
    primary, higher_is_better = ("accuracy", True) if task == "classification" else ("rmse", False)
    scores = {name: metrics[primary] for name, metrics in member_metrics.items()}
    best_member = (max if higher_is_better else min)(scores, key=scores.__getitem__)
    ensemble_score = ensemble_metrics[primary]
    beats = (
        ensemble_score > scores[best_member]
        if higher_is_better
        else (ensemble_score < scores[best_member])
    )
    return {
        "metric": primary,
        "ensemble": ensemble_score,
        "best_member": best_member,
        "best_member_score": scores[best_member],
        "ensemble_beats_best_member": bool(beats),
    }


def held_out_scores(model: Any, split: HeldOutSplit) -> dict[str, float]:
    """Held-out metrics; ROC AUC only where the model gives scores (hard voting gives none)."""
    predicted = np.ravel(model.predict(split.x_test))
    scores = None
    scored = hasattr(model, "predict_proba") or hasattr(model, "decision_function")
    if split.task == "classification" and len(model.classes_) == 2 and scored:
        scores = (positive_scores(model, split.x_test), model.classes_[1])
    return held_out_metrics(split.y_test, predicted, split.task, scores)


def make_splitter(split: HeldOutSplit, y_train: pd.Series, folds: int) -> Any:
    """The folds for cross-validating on the training part.

    Time-indexed rows get time-ordered folds (each validates on a block later than all it
    trained on, as the held-out test does); other rows shuffled k-fold with the split's seed,
    stratified for classification, with fewer folds when a class is rare.
    """
    if split.time_column:
        return split.cross_validation_folds(folds)
    if split.task == "regression":
        return model_selection.KFold(folds, shuffle=True, random_state=split.seed)
    smallest = int(y_train.value_counts().min())
    if smallest < 2:
        raise ToolError(
            "A class has a single training row, so it cannot be cross-validated. Merge or drop "
            "rare classes first.",
            "class_too_rare",
        )
    return model_selection.StratifiedKFold(
        min(folds, smallest), shuffle=True, random_state=split.seed
    )


def metric_scorers(task: str, y_train: pd.Series) -> dict[str, tuple[str, float]]:
    if task == "regression":
        return dict(REGRESSION_SCORERS)
    scorers = dict(CLASSIFICATION_SCORERS)
    if y_train.nunique() == 2:
        scorers.update(BINARY_SCORERS)
    return scorers


def _check_folds(folds: int) -> None:
    if not MIN_FOLDS <= folds <= MAX_FOLDS:
        raise ToolError(
            f"folds must be between {MIN_FOLDS} and {MAX_FOLDS}; {folds} was asked for. "
            "5 is a good default.",
            "bad_folds",
        )


def _training_rows(
    split: HeldOutSplit, names: list[str]
) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The training part, sampled (the split's seed) to the search cap and any member's cap."""
    caps = [MAX_SEARCH_ROWS] + [
        cap for name in names if (cap := family(name).max_train_rows) is not None
    ]
    cap = min(caps)
    x_train, y_train = split.x_train, split.y_train
    notes = []
    if len(x_train) > cap and split.time_column:
        # Time-ordered folds need the rows in order, and the latest rows are most like the test.
        x_train, y_train = x_train.iloc[-cap:], y_train.iloc[-cap:]
        notes.append(
            f"Trained on the latest {cap:,} of the {len(split.x_train):,} training rows to keep "
            "the work bounded."
        )
    elif len(x_train) > cap:
        x_train = x_train.sample(cap, random_state=split.seed)
        y_train = y_train.loc[x_train.index]
        notes.append(
            f"Trained on a random sample of {cap:,} of the {len(split.x_train):,} training rows "
            f"(seed {split.seed}) to keep the work bounded."
        )
    return x_train, y_train, notes


def _model_report(
    model: Any, split: HeldOutSplit, target: str, model_family: str, n_train: int
) -> dict[str, Any]:
    """The fields `train` stores with a model, so `predict` and others read it the same way."""
    estimator = model.named_steps["model"] if hasattr(model, "named_steps") else model
    report: dict[str, Any] = {
        "task": split.task,
        "target": target,
        "model": type(estimator).__name__,
        "model_family": model_family,
        "n_train": n_train,
        "n_test": len(split.x_test),
        "split": split.description,
        **split.settings,
        "test_metrics": held_out_scores(model, split),
        "features": split.plan.features,
        "dropped_columns": split.plan.dropped,
    }
    if split.task == "classification":
        report["classes"] = [str(label) for label in model.classes_]
    return report


def _within_fold_size(
    space: dict[str, list[Any]], splitter: Any, x_train: pd.DataFrame, y_train: pd.Series
) -> dict[str, list[Any]]:
    """Drop neighbour counts larger than the smallest training fold (k-NN cannot fit them)."""
    if "model__n_neighbors" not in space:
        return space
    smallest = min(len(rows) for rows, _ in splitter.split(x_train, y_train))
    fitting = [k for k in space["model__n_neighbors"] if k <= smallest]
    if not fitting:
        raise ToolError(
            f"The smallest cross-validation fold trains on {smallest} rows, too few for k-NN's "
            "neighbour counts; use fewer folds or another model.",
            "too_few_rows",
        )
    return {**space, "model__n_neighbors": fitting}


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """`model__C` -> `C`, values as plain Python numbers and strings."""
    plain = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        plain[key.removeprefix("model__")] = value
    return plain


def _describe_splitter(splitter: Any) -> str:
    if isinstance(splitter, model_selection.TimeSeriesSplit):
        return (
            f"{splitter.get_n_splits()} time-ordered folds (each trains on earlier rows and "
            "validates on the next block)"
        )
    kind = "stratified " if isinstance(splitter, model_selection.StratifiedKFold) else ""
    if not splitter.shuffle:
        return f"{splitter.get_n_splits()}-fold {kind}in row order"
    return f"{splitter.get_n_splits()}-fold {kind}shuffled, seed {splitter.random_state}"
