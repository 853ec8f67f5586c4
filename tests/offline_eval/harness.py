"""Scores the offline model's decision function on the evaluation requests.

A case names a dataset (its catalogue comes from `datasets.py`), optional earlier turns
(`before`, decided by the same function, each call's output added to the catalogue as the real
tool would add it: a model, or a derived dataset), the request (`say`) and what must happen:
`{"tool": name, "args": {...}}` or `{"reply": "question" | "help" | "list"}`. Optional `also`
lists other answers that are equally right (a scatter of "A and B" with either on x). A request
that asks for two steps ("fill missing age and then train a model") expects the first call with
the second under `then`: that one runs on the dataset the first made (`$derived`).

A call passes when the tool is the expected one and its arguments equal the expected ones, after
leaving out arguments that equal the tool's own defaults; ids are checked when the case states
them (`$data`, `$derived`, `$model`, `$<file name>`), and otherwise must name an existing item.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_science.offline.intents import Call, Exchange, History, Plan, decide
from data_science.offline.intents.history import PREPARING
from data_science.tools import ALL_TOOLS
from tests.offline_eval.datasets import catalogue

HERE = Path(__file__).parent
ID_ARGS = ("dataset_id", "model_id", "left_dataset_id", "right_dataset_id")
UNORDERED = (
    "columns", "group_columns", "value_columns", "aggregations", "models", "y", "features",
    "conditions",
)  # fmt: skip
# Where the order of a list is the meaning: "price / carat" is not "carat / price".
ORDERED = frozenset({("derive_column", "columns")})
MAKES_MODEL = frozenset(
    {"train", "tune_model", "train_ensemble", "search_models", "automl", "analyze_and_model"}
)
ROW_TOOLS = frozenset({"filter_rows", "derive_column", "sort_rows", "run_sql"})
MAKES_DATASET = PREPARING | ROW_TOOLS | {"predict", "cluster", "find_anomalies", "forecast"}
DEFAULTS: dict[str, dict[str, Any]] = {
    function.__name__: {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    for function in ALL_TOOLS
}
FAMILIES = {
    "profile and rows": {"analyze_dataset", "preview_rows"},
    "analysis": {"describe_distribution", "correlations", "group_by", "value_counts",
                 "hypothesis_test"},
    "charts": {"plot", "auto_charts"},
    "model charts": {"plot_model"},
    "cleaning": {"impute_missing", "drop_columns", "rename_columns", "cast_column",
                 "remove_duplicates", "handle_outliers"},
    "features": {"scale_columns", "encode_columns", "expand_dates", "text_to_tfidf",
                 "select_features"},
    "models": {"train", "predict", "cross_validate", "tune_model", "train_ensemble",
               "search_models", "automl", "analyze_and_model", "export_model"},
    "rows, new columns, SQL": set(ROW_TOOLS),
    "regression report": {"regression_report"},
    "clusters and anomalies": {"cluster", "choose_k", "find_anomalies"},
    "time series": {"forecast", "decompose_series"},
    "files": {"export_dataset", "merge_datasets", "load_sheet", "list"},
    "help": {"describe_model_families", "suggest_next_steps", "help"},
    "showing the work": {"show_code", "export_notebook"},
    "questions and notes": {"question", "info"},
}  # fmt: skip


@dataclass
class Case:
    id: str
    data: str
    say: str
    expect: dict[str, Any]
    before: list[str] = field(default_factory=list)
    also: list[dict[str, Any]] = field(default_factory=list)

    @property
    def family(self) -> str:
        if "then" in self.expect:
            return "two steps in one request"
        key = self.expect.get("tool") or self.expect.get("reply")
        return next(name for name, members in FAMILIES.items() if key in members)


@dataclass
class Outcome:
    case: Case
    passed: bool
    got: str


def load(name: str) -> list[Case]:
    lines = (HERE / name).read_text().splitlines()
    return [Case(**json.loads(line)) for line in lines if line.strip()]


class Session:
    """A catalogue and a history that grow as the tools would make them grow."""

    def __init__(self, data: str) -> None:
        self.catalogue = catalogue(data)
        self.history = History()
        self.primary = self.catalogue["datasets"][0]["id"]

    def turn(self, text: str) -> Plan:
        plan = decide(text, self.catalogue, self.history)
        calls = []
        step: Plan | None = plan
        while step is not None and step.tool:
            calls.append(self.run(step.tool, step.args))
            step = self.next_step(step, calls[-1])
        self.history.exchanges.append(Exchange(text, calls, asked=plan.reply == "question"))
        return plan

    @staticmethod
    def next_step(step: Plan, done: Call) -> Plan | None:
        """The step planned after `step`, on the dataset `done` made (as the model runs it)."""
        following = step.then
        if following is None or not following.tool:
            return None
        made = done.result.get("dataset_id")
        args = dict(following.args)
        if "dataset_id" in args:
            args["dataset_id"] = made
        return Plan(following.tool, args, then=following.then)

    def run(self, tool: str, args: dict[str, Any]) -> Call:
        """What the tool would add to the session: a model, or a derived dataset."""
        result: dict[str, Any] = {"status": "ok", "dataset_id": args.get("dataset_id")}
        items = self.catalogue
        if tool in MAKES_MODEL:
            model = f"mdl_{len(items['models']):016x}"
            target = args.get("target")
            items["models"].append(
                {"id": model, "kind": "model", "name": f"{tool} of {target}", "target": target}
            )
            result["model_id"] = model
        elif tool in MAKES_DATASET:
            source_id = args.get("dataset_id") or args.get("left_dataset_id")
            source = next(item for item in items["datasets"] if item["id"] == source_id)
            made = f"ds_{len(items['datasets']):016x}"
            columns = list(source.get("columns") or [])
            if tool == "derive_column" and args.get("name"):
                columns.append({"name": args["name"], "type": _derived_type(args)})
            items["datasets"].append(
                {**source, "id": made, "name": f"{tool} of {source['name']}",
                 "derived_from": source_id, "columns": columns}
            )  # fmt: skip
            result["dataset_id"] = made
        return Call(tool, dict(args), result)

    def symbol(self, value: str) -> str:
        if value == "$data":
            return self.primary
        if value == "$model":
            return str(self.catalogue["models"][-1]["id"]) if self.catalogue["models"] else ""
        if value == "$derived":
            derived = [item for item in self.catalogue["datasets"] if "derived_from" in item]
            return str(derived[-1]["id"]) if derived else ""
        named = value.removeprefix("$")
        return next(
            (item["id"] for item in self.catalogue["datasets"] if item["name"] == named), ""
        )


def _derived_type(args: dict[str, Any]) -> str:
    """The type `derive_column` gives its new column: flags are true/false, bins labels."""
    operation = args.get("operation")
    if operation in {">", ">=", "<", "<=", "==", "!="}:
        return "boolean"
    types = {"bin": "text", "length": "integer", "date_part": "integer"}
    return types.get(str(operation), "number")


def run(case: Case) -> Outcome:
    session = Session(case.data)
    for text in case.before:
        session.turn(text)
    plan = decide(case.say, session.catalogue, session.history)
    expectations = [case.expect, *case.also]
    passed = any(_matches(plan, want, copy.deepcopy(session)) for want in expectations)
    return Outcome(case, passed, _shown(plan))


def _shown(plan: Plan | None) -> str:
    if plan is None:
        return ""
    if not plan.tool:
        return str(plan.reply)
    following = plan.then
    then = f" then {_shown(following)}" if following is not None else ""
    return f"{plan.tool}({json.dumps(plan.args, sort_keys=True)}){then}"


def _matches(plan: Plan, want: dict[str, Any], session: Session) -> bool:
    """Whether `plan` is the answer `want`, its second step included (checked after the first
    step has run in `session`, so `$derived` is the dataset the first step made)."""
    if "reply" in want:
        return plan.tool is None and plan.reply == want["reply"]
    if not _same_call(plan, want, session):
        return False
    following = plan.then
    if following is None or "then" not in want:
        return following is None and "then" not in want
    second = Session.next_step(plan, session.run(plan.tool or "", plan.args))
    return second is not None and _matches(second, want["then"], session)


def _same_call(plan: Plan, want: dict[str, Any], session: Session) -> bool:
    if plan.tool != want["tool"]:
        return False
    defaults = DEFAULTS.get(plan.tool, {})
    expected = dict(want.get("args") or {})
    for key in ID_ARGS:
        if key in expected:
            expected[key] = session.symbol(expected[key])
        elif key in plan.args and not _exists(plan.args[key], session):
            return False
    actual = {k: v for k, v in plan.args.items() if k in expected or k not in ID_ARGS}
    tool = plan.tool
    return _meaningful(tool, actual, defaults) == _meaningful(tool, expected, defaults)


def _exists(item_id: Any, session: Session) -> bool:
    items = session.catalogue["datasets"] + session.catalogue["models"]
    return any(item["id"] == item_id for item in items)


def _meaningful(tool: str, args: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Arguments without the ones equal to the tool's defaults, numbers and lists comparable."""
    kept: dict[str, Any] = {}
    for key, value in args.items():
        if key in defaults and _same(value, defaults[key]):
            continue
        if key in UNORDERED and (tool, key) not in ORDERED and isinstance(value, list):
            value = sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
        kept[key] = (
            float(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else value
        )
    return kept


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, int | float) and isinstance(default, int | float):
        return float(value) == float(default)
    return bool(value == default)


@dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def accuracy(self) -> float:
        return sum(o.passed for o in self.outcomes) / len(self.outcomes)

    def by_family(self) -> dict[str, tuple[int, int]]:
        totals, passed = Counter[str](), Counter[str]()
        for outcome in self.outcomes:
            families = [outcome.case.family] + (["multi-turn"] if outcome.case.before else [])
            for family in families:
                totals[family] += 1
                passed[family] += outcome.passed
        return {family: (passed[family], totals[family]) for family in sorted(totals)}

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]


def evaluate(name: str) -> Report:
    return Report([run(case) for case in load(name)])
