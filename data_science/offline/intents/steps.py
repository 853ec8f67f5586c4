"""Two steps in one request: "fill missing age with the median and then train a random forest to
predict survived", or a condition on the rows another request works on ("average delay by carrier
where distance is over 1000": keep those rows, then average).

The second step is planned as if the first had run: on a stand-in for the dataset (or model) the
first will make, with the columns it will have. Its arguments name that stand-in; the model puts
the real id in once the first step has answered.
"""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.context import Plan
from data_science.offline.intents.families import classify
from data_science.offline.intents.history import MAKES_DATASET, MAKES_MODEL, Call, Exchange, History
from data_science.offline.intents.text import read

# Stand-ins for what the step before makes; numbered, since each step of three makes its own.
NEW_DATASET = "ds_made_by_the_step_before"
NEW_MODEL = "mdl_made_by_the_step_before"
THEN = re.compile(
    r"\s*[,;.]?\s*\b(?:and then|then|and after that|after that|afterwards|and afterwards|"
    r"and finally|finally|followed by)\b\s*,?\s*",
    re.IGNORECASE,
)
FIRST = re.compile(r"^\s*(?:first(?:ly)?|to start|start by)\b\s*,?\s*", re.IGNORECASE)
WHERE = re.compile(
    r"\s+(?:but\s+)?(?:only\s+)?(?:for\s+(?:the\s+)?(?:rows|records|ones)\s+)?"
    r"\b(?:where|whose|for which)\s+|[,;]?\s+(?:but\s+)?(?:only|just)\s+for\s+(?:the\s+)?",
    re.IGNORECASE,
)
NOT_ACTIONS = frozenset({None, "help", "greeting", "list"})
# A request about rows ("drop rows where …") is a filter, not an action on filtered rows.
ROW_REQUEST = r"\b(rows?|records?|entries|ones|lines)\s*$"
TYPES = {"number": "number", "integer": "integer", "datetime": "datetime", "boolean": "boolean"}


def split(text: str, names: frozenset[str]) -> list[str]:
    """The steps of `text` in order, when it asks for two or more ("…, then …"); else []."""
    pieces = [piece.strip(" ,;.") for piece in THEN.split(text)]
    if len(pieces) < 2:
        return []
    pieces[0] = FIRST.sub("", pieces[0])
    families = [classify(read(piece, names)) for piece in pieces]
    if any(not piece for piece in pieces) or set(families) & NOT_ACTIONS:
        return []
    return pieces


def where_clause(text: str, names: frozenset[str]) -> list[str]:
    """ "average delay by carrier where distance is over 1000" as its two steps: the rows to
    keep, then the request; [] when `text` has no such clause."""
    match = WHERE.search(text)
    if match is None:
        return []
    main, condition = text[: match.start()].strip(), text[match.end() :].strip()
    family = classify(read(main, names))
    if family in NOT_ACTIONS or family in {"filter_rows", "drop_columns"}:
        return []
    if not condition or re.search(ROW_REQUEST, main, re.IGNORECASE):
        return []
    return [f"keep the rows where {condition}", main]


def after(
    first: Plan, number: int, text: str, catalogue: dict[str, Any], history: History
) -> tuple[dict[str, Any], History]:
    """The session as it will be once `first` (step `number`) has run: its new dataset (or
    model) added, and the step in the history, so the next step works on what it made."""
    datasets = list(catalogue.get("datasets") or [])
    models = list(catalogue.get("models") or [])
    tool, args = first.tool or "", first.args
    source = next((item for item in datasets if item["id"] == args.get("dataset_id")), None)
    result: dict[str, Any] = {"dataset_id": args.get("dataset_id")}
    if tool in MAKES_DATASET and source is not None:
        columns = _columns_after(tool, args, list(source.get("columns") or []))
        made = f"{NEW_DATASET}_{number}"
        datasets.append(
            {
                **source,
                "id": made,
                "name": f"{tool} result",
                "derived_from": source["id"],
                "columns": columns,
            }
        )
        result["dataset_id"] = made
    if tool in MAKES_MODEL:
        target = args.get("target")
        made = f"{NEW_MODEL}_{number}"
        models.append({"id": made, "kind": "model", "name": tool, "target": target})
        result["model_id"] = made
    step = Exchange(text, [Call(tool, dict(args), result)])
    return {**catalogue, "datasets": datasets, "models": models}, History(
        [*history.exchanges, step]
    )


def _columns_after(
    tool: str, args: dict[str, Any], columns: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The columns a step leaves: a derived one added, dropped ones gone, a cast one retyped."""
    if tool == "derive_column" and args.get("name"):
        flag = args.get("operation") in {">", ">=", "<", "<=", "==", "!="}
        kind = "boolean" if flag else ("text" if args.get("operation") == "bin" else "number")
        return [*columns, {"name": args["name"], "type": kind}]
    if tool == "drop_columns":
        dropped = set(args.get("columns") or [])
        return [column for column in columns if column["name"] not in dropped]
    if tool == "cast_column":
        kind = TYPES.get(str(args.get("to", "number")), "text")
        return [
            {**column, "type": kind} if column["name"] == args.get("column") else column
            for column in columns
        ]
    return columns


def on_result(step: Plan, used: set[str], number: int) -> Plan:
    """`step` made to work on what step `number` made (or used): a dataset the steps before
    worked on becomes the stand-in for that step's result."""
    args = dict(step.args)
    if str(args.get("dataset_id")) in used or str(args.get("dataset_id")).startswith(NEW_DATASET):
        args["dataset_id"] = f"{NEW_DATASET}_{number}"
    return Plan(step.tool, args, step.text, step.reply, step.then)


def fill_in(step: Plan, done: Call) -> Plan | None:
    """`step` with the real ids of what `done` (the step before) made in place of the
    stand-ins; None when `done` failed or did not make what `step` needs."""
    if not done.ok:
        return None
    made = {
        NEW_DATASET: done.output_dataset or done.args.get("dataset_id"),
        NEW_MODEL: done.result.get("model_id"),
    }
    args = {}
    for key, value in step.args.items():
        stand_in = next((s for s in made if isinstance(value, str) and value.startswith(s)), None)
        if stand_in is not None:
            if not made[stand_in]:
                return None
            value = made[stand_in]
        args[key] = value
    return Plan(step.tool, args, then=step.then)
