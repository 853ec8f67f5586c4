"""Code templates for the tools of `data_science.tools.tuning`: cross-validation, searches and
ensembles on the training part of the shared held-out split."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_science.ml.tuning import (
    BINARY_SCORERS,
    CLASSIFICATION_SCORERS,
    REGRESSION_SCORERS,
    family_name,
    param_space,
)
from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates.heldout import (
    Cell,
    metrics_code,
    pipeline_code,
    preprocessing_code,
    print_metrics,
    split_code,
    time_column,
)


def splitter_code(cell: Cell, result: Mapping[str, Any], folds: int) -> str:
    """The folds `ml.tuning.make_splitter` made (their number as the tool reported it)."""
    seed = literal(result["seed"])
    if time_column(result) is not None:
        cell.need("from sklearn.model_selection import TimeSeriesSplit")
        return f"TimeSeriesSplit(n_splits={literal(folds)})"
    if result["task"] == "regression":
        cell.need("from sklearn.model_selection import KFold")
        return f"KFold({literal(folds)}, shuffle=True, random_state={seed})"
    cell.need("from sklearn.model_selection import StratifiedKFold")
    return f"StratifiedKFold({literal(folds)}, shuffle=True, random_state={seed})"


def _setup(step: Step, names: Names) -> tuple[Cell, str, int]:
    """A cell with the split, the preprocessing and the test metrics; the task and the seed."""
    cell = Cell()
    split_code(cell, step, names)
    preprocessing_code(cell)
    task = str(step.result["task"])
    metrics_code(cell, task)
    return cell, task, int(step.result["seed"])


@code_for("cross_validate")
def cross_validate_code(step: Step, names: Names) -> str:
    """k-fold cross-validation of one family on the training part, several metrics at once."""
    cell, task, seed = _setup(step, names)
    result = step.result
    cell.need("from sklearn.model_selection import cross_validate")
    scorers = dict(REGRESSION_SCORERS if task == "regression" else CLASSIFICATION_SCORERS)
    if task == "classification" and "roc_auc" in result["metrics"]:
        scorers |= BINARY_SCORERS
    name = family_name(str(result["model_family"]))
    cell.add(
        f"pipeline = {pipeline_code(cell, name, task, seed)}",
        "# Scorers, and the sign that makes each read naturally (errors as positive numbers).",
        f"scorers = {literal({metric: list(pair) for metric, pair in scorers.items()})}",
        "results = cross_validate(",
        "    pipeline,",
        "    X_train,",
        "    y_train,",
        f"    cv={splitter_code(cell, result, int(result['folds']))},",
        "    scoring={metric: scorer for metric, (scorer, _) in scorers.items()},",
        "    n_jobs=1,",
        ")",
        "print(f'n_train: {len(X_train)}')",
        "for metric, (_, sign) in scorers.items():",
        "    scores = sign * results[f'test_{metric}']",
        "    print(f'cv {metric} mean: {scores.mean():.4f}')",
        "    print(f'cv {metric} std: {scores.std():.4f}')",
    )
    return cell.render()


@code_for("tune_model")
def tune_model_code(step: Step, names: Names) -> str:
    """The grid or seeded random search over the family's space, refitted on the training
    part and scored once on the test rows (`ml.tuning.tune_to_file`)."""
    cell, task, seed = _setup(step, names)
    result, args = step.result, step.args
    name = family_name(str(result["model_family"]))
    space = param_space(name, task)
    search = result["search"]
    splitter = splitter_code(cell, result, int(search["folds"]))
    cell.add(
        f"pipeline = {pipeline_code(cell, name, task, seed)}",
        f"splitter = {splitter}",
        f"space = {literal(space)}",
    )
    if "model__n_neighbors" in space:
        cell.add(
            "# k-NN cannot use more neighbours than the smallest training fold has rows.",
            "smallest = min(len(rows) for rows, _ in splitter.split(X_train, y_train))",
            "space['model__n_neighbors'] = [k for k in space['model__n_neighbors'] "
            "if k <= smallest]",
        )
    scoring = literal(search["scoring"])
    if search["method"] == "grid":
        cell.need("from sklearn.model_selection import GridSearchCV")
        searcher = f"GridSearchCV(pipeline, space, scoring={scoring}, cv=splitter, n_jobs=1)"
    else:
        cell.need("import math", "from sklearn.model_selection import RandomizedSearchCV")
        n_iter = literal(int(args.get("n_iter", 20)))
        searcher = (
            f"RandomizedSearchCV(\n    pipeline, space, "
            f"n_iter=min({n_iter}, math.prod(len(v) for v in space.values())), "
            f"scoring={scoring}, cv=splitter, n_jobs=1, random_state={literal(seed)}\n)"
        )
    model = names.new_model(str(result["model_id"]))
    cell.add(
        f"search = {searcher}",
        "search.fit(X_train, y_train)",
        f"{model} = search.best_estimator_",
        "print('best_params:', {k.removeprefix('model__'): v for k, v in "
        "search.best_params_.items()})",
        "print(f'candidates: {len(search.cv_results_[\"params\"])}')",
        "print(f'cross-validation mean: {search.best_score_:.4f}')",
        "print(f'cross-validation std: "
        '{search.cv_results_["std_test_score"][search.best_index_]:.4f}\')',
    )
    print_metrics(cell, f"test_metrics({model})", "test")
    return cell.render()


@code_for("train_ensemble")
def train_ensemble_code(step: Step, names: Names) -> str:
    """A voting or stacking ensemble of the named families, and each member alone."""
    cell, task, seed = _setup(step, names)
    result = step.result
    members = [str(member) for member in result["members"]]
    cell.add(
        "members = [",
        *[f"    ({literal(m)}, {pipeline_code(cell, m, task, seed)})," for m in members],
        "]",
    )
    model = names.new_model(str(result["model_id"]))
    cell.add(f"{model} = {_ensemble(cell, result, task)}", f"{model}.fit(X_train, y_train)")
    print_metrics(cell, f"test_metrics({model})", "ensemble test")
    cell.need("from sklearn.base import clone")
    cell.add(
        "for member, pipeline in members:  # each alone, as `train` fits it",
        "    for metric, value in test_metrics(clone(pipeline).fit(X_train, y_train)).items():",
        "        print(f'{member} test {metric}: {value:.4f}')",
    )
    return cell.render()


def _ensemble(cell: Cell, result: Mapping[str, Any], task: str) -> str:
    if result["method"] == "voting":
        if task == "regression":
            cell.need("from sklearn.ensemble import VotingRegressor")
            return "VotingRegressor(members, n_jobs=1)"
        cell.need("from sklearn.ensemble import VotingClassifier")
        return f"VotingClassifier(members, voting={literal(result['voting'])}, n_jobs=1)"
    if time_column(result) is not None:
        cell.need("from sklearn.model_selection import KFold")
        folds = "KFold(5)  # contiguous time blocks: every training row gets a prediction"
    else:
        folds = splitter_code(cell, result, _stacking_folds(result))
    cell.add(f"stack_folds = {folds}")
    if task == "classification":
        cell.need(
            "from sklearn.ensemble import StackingClassifier",
            "from sklearn.linear_model import LogisticRegression",
        )
        return (
            "StackingClassifier(\n    members, final_estimator=LogisticRegression(max_iter=2000), "
            "cv=stack_folds, n_jobs=1\n)"
        )
    cell.need(
        "from sklearn.ensemble import StackingRegressor", "from sklearn.linear_model import Ridge"
    )
    return "StackingRegressor(members, final_estimator=Ridge(), cv=stack_folds, n_jobs=1)"


def _stacking_folds(result: Mapping[str, Any]) -> int:
    """The number of stacking folds the tool reported ("5-fold stratified shuffled, ...")."""
    return int(str(result["stacking_cv"]).split("-", 1)[0].split()[0])
