"""Evaluate, tune and combine models, all on the same held-out split that `train` uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.ml.arguments import ModelName
from data_science.ml.common import SEED
from data_science.ml.split import TEST_SIZE, SplitOptions
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import model_sample
from data_science.tools.base import (
    open_with_target,
    run_as_job,
    save_model,
    settings_for,
    tool,
)

if TYPE_CHECKING:
    from data_science.ml import tuning
else:  # computed in the worker processes only (runtime/remote.py)
    tuning = in_workers("data_science.ml.tuning")


@tool
async def cross_validate(
    dataset_id: str,
    target: str,
    tool_context: ToolContext,
    model: ModelName = "auto",
    folds: int = 5,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
) -> dict[str, Any]:
    """Estimate how well one model family predicts `target`, with k-fold cross-validation.

    Use it to compare families or check how stable a model is before training or tuning it.
    Only the training part of the split `train` makes (`test_size`, `seed`, `stratify` as in
    `train`; default 80/20, seed 42) is used; the test rows stay untouched. `model` is a
    family name as in `train` ("auto" = hist_gradient_boosting); `folds` is 2-10 (shuffled
    with `seed`, stratified for classification). Saves nothing.

    Returns, per metric, the mean, std and per-fold scores: classification accuracy,
    balanced_accuracy, f1_macro (and roc_auc when binary); regression rmse, mae (both as
    positive errors, lower is better) and r2.
    """
    split = SplitOptions(test_size, seed, stratify)
    _, _, table, target = await open_with_target(tool_context, dataset_id, target)
    report = await run_cpu(
        tuning.cross_validate_model, table, target, model, folds, split, lane="heavy"
    )
    return {"dataset_id": dataset_id, **report, **model_sample(table)}


@tool
async def tune_model(
    dataset_id: str,
    target: str,
    model: ModelName,
    tool_context: ToolContext,
    search: Literal["grid", "random"] = "grid",
    n_iter: int = 20,
    folds: int = 5,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
) -> dict[str, Any]:
    """Tune a model family's hyperparameters by cross-validation, then save the best model.

    Use it after `train` or `cross_validate` to squeeze more out of a promising family. The
    search runs on the training part of the split `train` makes (`test_size`, `seed`,
    `stratify` as in `train`; default 80/20, seed 42), scoring accuracy (classification) or R²
    (regression) over `folds` folds; the best settings are refitted on that part and scored
    once on the untouched test rows. Tunable families: decision_tree, random_forest,
    extra_trees, hist_gradient_boosting, gradient_boosting, lightgbm, logistic, ridge, lasso,
    svm, knn, naive_bayes. `search="grid"` tries every combination (refused above 60;
    random_forest and extra_trees have 108, so use `search="random"`), `"random"` samples
    `n_iter` (≤ 60) with `seed`. At most 20,000 training rows are used.

    A search can take minutes: the person sees it running and may cancel it; it is stopped
    after MAX_AUTOML_SECONDS.

    Returns a `model_id` for `predict`, best_params, the best CV score, the top candidates and
    the test metrics of the tuned model (compare them with `train`'s).
    """
    limit = settings_for(tool_context).MAX_AUTOML_SECONDS
    split = SplitOptions(test_size, seed, stratify)
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)
    saved, report = await save_model(
        workspace,
        parent_id=dataset_id,
        produce=lambda path: run_as_job(
            tool_context,
            "tune_model",
            f"Tuning {model} for {target}",
            tuning.tune_to_file,
            table,
            target,
            model,
            search,
            n_iter,
            folds,
            path,
            split,
            budget_seconds=None,
            deadline=limit,
            overrun=f"The search did not finish within {limit} s (MAX_AUTOML_SECONDS). Use "
            'search="random" with a smaller n_iter, or fewer folds.',
        ),
        name=lambda report: f"tuned {report['model']} predicting {target}",
    )
    return {"model_id": saved.id, "dataset_id": dataset_id, **report, **model_sample(table)}


@tool
async def train_ensemble(
    dataset_id: str,
    target: str,
    models: list[str],
    tool_context: ToolContext,
    method: Literal["voting", "stacking"] = "voting",
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
) -> dict[str, Any]:
    """Combine 2-5 model families into one ensemble, and show whether it beats its members.

    `models` names the families as in `train` (e.g. ["random_forest", "logistic", "knn"]),
    each with its own imputation/encoding/scaling. `method="voting"` averages them (soft
    voting on probabilities when every member has them, else majority vote; mean for
    regression); `"stacking"` learns how to weigh them with a logistic (classification) or
    ridge (regression) model over 5-fold out-of-fold predictions. Fitted on the training part
    of the split `train` makes (`test_size`, `seed`, `stratify` as in `train`; default 80/20,
    seed 42), scored on its test rows. Members share the target's task: "linear" is a
    regression, so an ensemble of classifiers takes "logistic" instead.

    Returns a `model_id` for `predict`, the ensemble's test metrics, each member's test metrics
    on the same rows (identical to training it alone with `train`), and a comparison saying
    whether the ensemble beat the best member.
    """
    split = SplitOptions(test_size, seed, stratify)
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)
    saved, report = await save_model(
        workspace,
        parent_id=dataset_id,
        produce=lambda path: run_cpu(
            tuning.ensemble_to_file, table, target, list(models), method, path, split, lane="heavy"
        ),
        name=lambda report: (
            f"{method} ensemble ({', '.join(report['members'])}) predicting {target}"
        ),
    )
    return {"model_id": saved.id, "dataset_id": dataset_id, **report, **model_sample(table)}
