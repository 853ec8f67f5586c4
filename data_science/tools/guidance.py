"""Help: what the agent can do, which models it offers, what to try next, and a one-shot pass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.adk.tools.tool_context import ToolContext

from data_science.ml.common import SEED
from data_science.runtime.remote import in_workers
from data_science.runtime.workers import run_cpu
from data_science.storage.large import for_models, model_sample
from data_science.tools.base import (
    open_with_target,
    run_blocking,
    settings_for,
    staged_file,
    tool,
    workspace_for,
)

if TYPE_CHECKING:
    from data_science.ml import estimators, guidance
else:  # computed in the worker processes only (runtime/remote.py)
    estimators = in_workers("data_science.ml.estimators")
    guidance = in_workers("data_science.ml.guidance")


@tool
async def describe_capabilities(tool_context: ToolContext) -> dict[str, Any]:
    """List everything this agent can do, tool by tool, grouped by family.

    Use when the person asks what you can do, or how to do something you are unsure of.
    """
    from data_science.tools import ALL_TOOLS

    return {
        "tools": [
            {"name": function.__name__, "does": (function.__doc__ or "").strip().splitlines()[0]}
            for function in ALL_TOOLS
        ]
    }


@tool
async def describe_model_families(tool_context: ToolContext) -> dict[str, Any]:
    """List the model families `train` can fit, with the tasks and options each supports.

    Use when the person asks which models are available or which one to choose. Each family
    says whether it takes `max_depth` (tree depth) and `class_weight="balanced"`. Besides these,
    `search_models` (FLAML) chooses a family and its settings, and `automl` (AutoGluon) builds
    ensembles within a time budget.
    """
    families = await run_cpu(estimators.family_catalogue, lane="quick")
    return {
        "default": "hist_gradient_boosting",
        "families": families,
        "also": ["search_models (FLAML)", "automl (AutoGluon)", "cluster", "forecast"],
    }


@tool
async def suggest_next_steps(dataset_id: str, tool_context: ToolContext) -> dict[str, Any]:
    """Suggest what to do next with a dataset: which tools, on which columns, and why.

    Use after an upload or when the person asks "what now?". Looks at missing values, column
    types, dates, free text and a likely target column.
    """
    table = await run_blocking(workspace_for(tool_context).table_file, dataset_id)
    table = await run_blocking(for_models, table, settings_for(tool_context), SEED)
    steps = await run_cpu(guidance.next_steps, table, lane="quick")
    return {"dataset_id": dataset_id, **steps, **model_sample(table)}


@tool
async def analyze_and_model(
    dataset_id: str, target: str, tool_context: ToolContext
) -> dict[str, Any]:
    """One shot for "analyse and model this": profile, a baseline and a strong model, compared.

    Profiles the data (missing values, duplicates), trains a simple baseline (linear or logistic
    regression) and a strong model (gradient-boosted trees) on the same 80/20 split with gaps
    imputed and text encoded, reports both on the held-out 20 %, keeps the strong model
    (`model_id` for `predict`) and suggests next steps.
    """
    workspace, _, table, target = await open_with_target(tool_context, dataset_id, target)
    async with staged_file(workspace, "model.joblib") as model_path:
        result = await run_cpu(guidance.profile_and_model, table, target, model_path, lane="heavy")
        report = result.pop("model_report")
        saved = await run_blocking(
            workspace.adopt_file,
            model_path,
            kind="model",
            name=f"{report['model']} predicting {target}",
            stored_name="model.joblib",
            parent_id=dataset_id,
            details=report,
        )
    steps = await run_cpu(guidance.next_steps, table, lane="quick")
    return {
        "model_id": saved.id,
        "dataset_id": dataset_id,
        **result,
        "strong_model": {
            key: report[key]
            for key in ("model", "task", "n_train", "n_test", "split", "test_metrics")
        },
        "next_steps": steps["suggestions"],
        **model_sample(table),
    }
