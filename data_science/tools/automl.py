"""AutoML: AutoGluon under an honest time budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.ml.common import SEED
from data_science.ml.split import TEST_SIZE, SplitOptions
from data_science.observability.logging import TimedOperation, timed_operation
from data_science.observability.metrics import AUTOML_DURATION
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import DeadlineExceeded, JobCancelled
from data_science.storage.large import model_sample
from data_science.tools.base import (
    ToolError,
    open_with_target,
    run_as_job,
    save_model,
    settings_for,
    tool,
)

PREDICTOR_DIR = "autogluon"
# The answer is due within the budget (AutoGluon is wrapped up in time, keeping what it has);
# the process is killed 10 % later whatever AutoGluon does.
DEADLINE_MARGIN = 1.1
# A fresh process needs a few seconds to import pandas and scikit-learn before it can start.
WORKER_START_SECONDS = 5

if TYPE_CHECKING:
    from data_science.ml import automl as autogluon
    from data_science.ml import search
else:  # computed in the worker processes only (runtime/remote.py)
    autogluon = in_workers("data_science.ml.automl")
    search = in_workers("data_science.ml.search")


@contextmanager
def automl_run(engine: Literal["autogluon", "flaml"]) -> Iterator[TimedOperation]:
    """Time one search: a log line, and AUTOML_DURATION by engine and outcome.

    Outcomes: ok, budget_exceeded, cancelled or error.
    """
    timing = timed_operation("automl", engine=engine)
    try:
        with timing:
            try:
                yield timing
            except DeadlineExceeded:
                timing.outcome = "budget_exceeded"
                raise
            except JobCancelled:
                timing.outcome = "cancelled"
                raise
            except ToolError as error:  # run_as_job's answer to an overrun
                timing.outcome = error.code
                raise
    finally:
        outcome = timing.outcome or "error"
        AUTOML_DURATION.labels(engine=engine, outcome=outcome).observe(timing.seconds)


@tool
async def automl(
    dataset_id: str,
    target: str,
    tool_context: ToolContext,
    time_budget_seconds: int | None = None,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
) -> dict[str, Any]:
    """Let AutoGluon search many models and ensembles for `target` within a time budget.

    Use when the person asks for AutoML or the best model they can get. It trains on the
    training part of the same split as `train` (`test_size`, `seed`, `stratify` as in
    `train`; default 80/20, seed 42; the seed chooses the rows, AutoGluon seeds its own
    models) and reports metrics on the same held-out rows, a leaderboard of the models it
    tried (scored on the test split) and permutation feature importance. The budget
    defaults to DEFAULT_AUTOML_SECONDS (60) and is capped at MAX_AUTOML_SECONDS; the call
    returns within the budget plus 10 %. When the budget runs out before every model of the
    preset was tried, it returns the best model found so far with `cut_short: true` and a note
    saying so (tell the person; a larger budget tries more). Returns a `model_id` usable with
    `predict`.
    """
    settings = settings_for(tool_context)
    budget = _automl_budget(settings, time_budget_seconds)
    split = SplitOptions(test_size, seed, stratify)
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)
    started = time.monotonic()

    async def produce(predictor_dir: Path) -> dict[str, Any]:
        with automl_run("autogluon") as timing:
            report: dict[str, Any] = await run_as_job(
                tool_context,
                "automl",
                f"AutoML predicting {target}",
                autogluon.run_autogluon,
                table,
                target,
                predictor_dir,
                float(budget),
                settings.AUTOML_PRESET,
                time.time() + budget,  # when the answer is due (wall clock: any machine)
                split,
                budget_seconds=budget,
                deadline=budget * DEADLINE_MARGIN,
                overrun=f"AutoML could not train and score a single model within its {budget} s "
                "budget (the machine may be busy) and was stopped. Give it a larger "
                "time_budget_seconds, or use `train` for a quick model.",
            )
            timing.fields["cut_short"] = report["cut_short"]
            return report

    saved, report = await save_model(
        workspace,
        parent_id=dataset_id,
        produce=produce,
        name=f"AutoGluon predicting {target}",
        stored_name=PREDICTOR_DIR,
    )
    return {
        "model_id": saved.id,
        "dataset_id": dataset_id,
        "budget_seconds": budget,
        "elapsed_seconds": round(time.monotonic() - started, 1),
        **report,
        **model_sample(table),
    }


def _automl_budget(settings: Settings, asked: int | None) -> int:
    """The seconds AutoML may take: the asked budget within the limits, or the default; refused
    when AutoML is switched off."""
    if not settings.ENABLE_AUTOML:
        raise ToolError(
            "AutoML is switched off here (ENABLE_AUTOML=false); use `train` instead.",
            "automl_disabled",
        )
    budget = asked or settings.DEFAULT_AUTOML_SECONDS
    if not 10 <= budget <= settings.MAX_AUTOML_SECONDS:
        raise ToolError(
            f"time_budget_seconds must be between 10 and {settings.MAX_AUTOML_SECONDS} "
            "(MAX_AUTOML_SECONDS).",
            "bad_budget",
        )
    return budget


@tool
async def search_models(
    dataset_id: str,
    target: str,
    tool_context: ToolContext,
    time_budget_seconds: int = 30,
    test_size: float = TEST_SIZE,
    seed: int = SEED,
    stratify: bool = True,
) -> dict[str, Any]:
    """Pick the best model family and its hyperparameters automatically (FLAML) in a budget.

    Searches LightGBM, random forest, extra trees, L1 logistic regression and k-nearest
    neighbours with 5-fold cross-validation on the training part of the split `train` makes
    (`test_size`, `seed`, `stratify` as in `train`; default 80/20, seed 42; the seed seeds the
    search too), then scores the winner on the held-out rows. Lighter than `automl` (no
    ensembles); good for "which algorithm works best?" or "tune the model". Returns the best
    family, its settings, each family's best CV loss, the test metrics and a `model_id`
    usable with `predict`.
    """
    settings = settings_for(tool_context)
    split = SplitOptions(test_size, seed, stratify)
    if not 5 <= time_budget_seconds <= settings.MAX_AUTOML_SECONDS:
        raise ToolError(
            f"time_budget_seconds must be between 5 and {settings.MAX_AUTOML_SECONDS} "
            "(MAX_AUTOML_SECONDS).",
            "bad_budget",
        )
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)

    async def produce(model_path: Path) -> dict[str, Any]:
        with automl_run("flaml"):
            return await run_as_job(
                tool_context,
                "search_models",
                f"Model search for {target}",
                search.run_flaml,
                table,
                target,
                model_path,
                float(time_budget_seconds),
                split,
                budget_seconds=time_budget_seconds,
                deadline=time_budget_seconds * DEADLINE_MARGIN + WORKER_START_SECONDS,
                overrun=f"The model search did not finish within {time_budget_seconds} s; "
                "give it more time or use `train`.",
            )

    saved, report = await save_model(
        workspace,
        parent_id=dataset_id,
        produce=produce,
        name=lambda report: f"{report['model']} for {target}",
    )
    return {"model_id": saved.id, "dataset_id": dataset_id, **report, **model_sample(table)}
