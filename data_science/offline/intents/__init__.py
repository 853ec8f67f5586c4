"""Understanding everyday data requests without a language model.

`decide(text, catalogue, history)` is the whole decision: it reads the request (typos of command
words corrected), finds its family with ordered cue patterns (`families`), matches the columns
it names against the dataset's real columns (`columns`), and lets the family's planner fill in
the tool's arguments — or ask a short question when something needed is missing or ambiguous.
Follow-ups ("now plot it", "use 5 clusters instead", "what about random forest?") revise the
previous step, read from `history`; a short answer to the model's own question ("species" after
"which column should the model predict?") completes the request that was asked about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from data_science.offline.intents import (
    analysis,
    charts,
    cleaning,
    derive,
    files,
    modeling,
    rows,
    steps,
    unsupervised,
)
from data_science.offline.intents.context import Context, Plan, build, name_words
from data_science.offline.intents.families import classify
from data_science.offline.intents.history import MODELLING, Call, Exchange, History
from data_science.offline.intents.text import read

__all__ = ["HELP_TEXT", "Call", "Exchange", "History", "Plan", "decide", "render_catalogue"]

HELP_TEXT = files.HELP_TEXT
render_catalogue = files.render_catalogue
Planner = Callable[[Context, dict[str, Any]], Plan]
PLANNERS: dict[str, Planner] = {
    "analyze_dataset": analysis.plan_profile,
    "preview_rows": analysis.plan_preview,
    "describe_distribution": analysis.plan_distribution,
    "correlations": analysis.plan_correlations,
    "hypothesis_test": analysis.plan_test,
    "aggregate": analysis.plan_aggregate,
    "plot": charts.plan_plot,
    "plot_model": charts.plan_model_chart,
    "impute_missing": cleaning.plan_impute,
    "drop_columns": cleaning.plan_drop,
    "rename_columns": cleaning.plan_rename,
    "cast_column": cleaning.plan_cast,
    "remove_duplicates": cleaning.plan_dedupe,
    "handle_outliers": cleaning.plan_outliers,
    "scale_columns": cleaning.plan_scale,
    "encode_columns": cleaning.plan_encode,
    "expand_dates": cleaning.plan_dates,
    "text_to_tfidf": cleaning.plan_tfidf,
    "train": modeling.plan_train,
    "cross_validate": modeling.plan_cross_validate,
    "tune_model": modeling.plan_tune,
    "train_ensemble": modeling.plan_ensemble,
    "search_models": modeling.plan_search,
    "automl": modeling.plan_automl,
    "select_features": modeling.plan_select_features,
    "analyze_and_model": modeling.plan_one_shot,
    "predict": modeling.plan_predict,
    "export_model": modeling.plan_export_model,
    "cluster": unsupervised.plan_cluster,
    "choose_k": unsupervised.plan_choose_k,
    "find_anomalies": unsupervised.plan_anomalies,
    "forecast": unsupervised.plan_forecast,
    "decompose_series": unsupervised.plan_decompose,
    "export_dataset": files.plan_export,
    "export_notebook": files.plan_export_notebook,
    "show_code": files.plan_show_code,
    "merge_datasets": files.plan_merge,
    "load_sheet": files.plan_sheet,
    "suggest_next_steps": files.plan_suggest,
    "filter_rows": rows.plan_filter,
    "sort_rows": rows.plan_sort,
    "derive_column": derive.plan_derive,
    "regression_report": modeling.plan_regression_report,
}
# Tools planned by a planner of another name.
PLANNER_OF = {"group_by": "aggregate", "value_counts": "aggregate", "auto_charts": "plot"}
MODEL_PLANNERS = frozenset(MODELLING - {"plot_model"})
TRAINING = frozenset(MODELLING - {"plot_model", "predict", "export_model"})
COMBINE = r"\b(combine|combined|combining|mix|together)\b"
SHOW = r"\b(show|see|list|display|give|print|view)\b"
FAMILY_NAMES = frozenset(name for name, _ in modeling.FAMILIES)


def decide(text: str, catalogue: dict[str, Any], history: History | None = None) -> Plan:
    """The next move for request `text`, given the session's catalogue (as `list_data_files`
    returns it) and the conversation so far. A request of several steps gets the first as the
    plan and the next ones in its `then`."""
    history = history or History()
    statement = rows.sql_statement(text, catalogue)
    if statement is not None:
        return rows.plan_sql(statement)
    names = name_words(list(catalogue.get("datasets") or []))
    parts = steps.split(text, names) or steps.where_clause(text, names)
    if parts and catalogue.get("datasets"):
        return _chain(parts, catalogue, history)
    return _decide_one(text, catalogue, history)


def _chain(
    parts: list[str],
    catalogue: dict[str, Any],
    history: History,
    used: frozenset[str] = frozenset(),
) -> Plan:
    """The first step of `parts`, with the others (planned on what it makes) in its `then`; or
    the question one of them needs answered first. `used`: the datasets of the steps before."""
    first = _decide_one(parts[0], catalogue, history)
    if first.tool is None:
        return first
    number = len(used) + 1
    after, later = steps.after(first, number, parts[0], catalogue, history)
    used = used | {str(first.args.get("dataset_id"))}
    if len(parts) > 2:
        rest = _chain(parts[1:], after, later, used)
    else:
        rest = _decide_one(parts[1], after, later)
    if rest.tool is None:
        return rest
    first.then = steps.on_result(rest, set(used), number)
    return first


def _decide_one(text: str, catalogue: dict[str, Any], history: History) -> Plan:
    names = name_words(list(catalogue.get("datasets") or []))
    family = classify(read(text, names))
    pending = history.exchanges[-1] if history.exchanges else None
    if pending and pending.asked:
        # The answer to our question: "species" after "which column should the model predict?",
        # or "plot it" after "what should I do with bill_length_mm?".
        asked_about = classify(read(pending.text, names))
        if family is None or asked_about is None or family == asked_about:
            earlier = History(history.exchanges[:-1])
            return decide(f"{pending.text} {text}", catalogue, earlier)
    if family in {"help", "greeting"}:
        return files.help_plan(greeting=family == "greeting")
    if family == "list":
        return Plan(text=render_catalogue(catalogue), reply="list")
    if family == "describe_model_families":
        return Plan(tool="describe_model_families")
    if not catalogue.get("datasets"):
        return files.help_plan() if family is None else Plan(text=files.NO_DATA, reply="info")
    step = history.last()
    if family in MODEL_PLANNERS:
        step = _model_step(history, step)
    base = _base(family, step)
    ctx = build(text, catalogue, history, prefer=base.get("dataset_id"))
    if family in {None, "train"} and ctx.u.has(COMBINE) and len(modeling.families(ctx)) > 1:
        family, base = "train_ensemble", _base("train_ensemble", step)
    if family == "train" and ctx.models and not ctx.mentions and ctx.u.has(r"\bpredict\b"):
        family, base = "predict", _base("predict", step)  # "now predict" with a model at hand
    if family is None and not (step and ctx.follow_up) and rows.has_conditions(ctx):
        family, base = "filter_rows", {}  # "passengers older than 60": only the rows to keep
    if family == "filter_rows" and not rows.has_conditions(ctx):
        # "show only the species column" is no filter; the next family that fits, if any.
        family = classify(ctx.u, frozenset({"filter_rows"})) or family
        base = _base(family, step)
    revised = _revise(ctx, family, step)
    if revised is not None:
        return revised
    if family is None:
        if modeling.families(ctx):
            family = "train"
        elif ctx.pronoun and ctx.u.has(SHOW):
            family = "preview_rows"
        elif ctx.mentions:
            return files.what_about(ctx.listing(ctx.columns))
        else:
            return files.help_plan()
        base = _base(family, step)
    return PLANNERS[family](ctx, base)


def _family_of(tool: str) -> str:
    return PLANNER_OF.get(tool, tool)


def _base(family: str | None, step: Call | None) -> dict[str, Any]:
    """What a request inherits from the previous step: everything when it revises that step,
    the target, model and data when both are modelling steps, else nothing."""
    if step is None:
        return {}
    base = dict(step.args)
    family_name = step.result.get("model_family")
    if "model" not in base and family_name in FAMILY_NAMES:
        base["model"] = family_name
    if step.result.get("model_id"):
        base["model_id"] = step.result["model_id"]
    if family is None or _family_of(step.name) == family:
        return base
    if family in MODEL_PLANNERS and step.name in MODELLING:
        keep = ("dataset_id", "target", "model", "model_id")
        return {key: base[key] for key in keep if key in base}
    return {}


def _model_step(history: History, step: Call | None) -> Call | None:
    """The step a modelling request builds on: the latest one that trained or evaluated a
    model (a chart or a download of it says nothing about its target or family)."""
    if step is not None and step.name in TRAINING:
        return step
    return history.last_of(TRAINING) or step


def _revise(ctx: Context, family: str | None, step: Call | None) -> Plan | None:
    """The previous step redone with what this request changes ("try 4", "as a box plot
    instead"), when the request is a follow-up of it and changes something."""
    if step is None:
        return None
    key = _family_of(step.name)
    if key not in PLANNERS or (family is not None and (family != key or not ctx.follow_up)):
        return None
    plan = PLANNERS[key](ctx, _base(None, step))
    if plan.tool is None or (plan.tool == step.name and plan.args == step.args):
        return None
    return plan
