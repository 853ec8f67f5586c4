"""Understanding everyday data requests without a language model.

`parse_request` turns a sentence into an `Intent` (which tool family, which numbers); `plan_call`
then fills in dataset ids and column names from the session's catalogue, matching the words of
the request against real column names (case-, space- and typo-tolerant).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

WORD = re.compile(r"[a-z0-9_]+")
NUMBER = re.compile(r"\b(\d{1,3})\b")
PUNCTUATION = re.compile(r"[^\w\s]")

# Ordered: the first family whose cue appears wins.
# fmt: off
CUES: list[tuple[str, tuple[str, ...]]] = [
    ("help", ("help", "what can you do", "what do you do", "how do i", "who are you")),
    ("export", ("download", "export", "save as", "as excel", "as csv", "give me the file")),
    ("cluster", ("cluster", "segment", "group the rows", "k means", "kmeans")),
    ("predict", ("predictions", "apply the model", "score the", "predict with", "use the model")),
    ("train", ("train", "predict", "build a model", "fit a model", "classif", "regress",
               "machine learning", "model for")),
    ("plot", ("plot", "chart", "histogram", "scatter", "graph", "visuali", "distribution of",
              "draw")),
    ("describe", ("describe", "summar", "profile", "analy", "what is in", "what s in",
                  "overview", "missing", "statistic", "explore", "look at", "tell me about")),
    ("list", ("list", "files", "datasets", "which data", "what data", "uploaded")),
    ("greeting", ("hello", "hi ", "hey", "good morning", "thanks", "thank you")),
]
# fmt: on
TARGET_CUES = ("predict", "target", "label", "classify", "forecast", "for", "of", "estimate")
SCATTER_CUES = ("scatter", " vs ", " versus ", "against", " by ")


@dataclass
class Intent:
    family: str
    text: str
    numbers: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """Either a tool call (`tool` and `args`) or a text reply (`text`)."""

    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    text: str | None = None


def normalise(text: str) -> str:
    """Lower case, with punctuation and underscores turned into single spaces."""
    return " ".join(PUNCTUATION.sub(" ", text.lower().replace("_", " ")).split())


def parse_request(text: str) -> Intent:
    folded = f" {normalise(text)} "
    for family, cues in CUES:
        if any(cue in folded for cue in cues):
            numbers = [int(value) for value in NUMBER.findall(folded)]
            return Intent(family, folded, numbers)
    return Intent("unknown", folded)


def mentioned_columns(text: str, columns: list[str]) -> list[str]:
    """Columns named in `text`, in the order they appear.

    A column counts as named when its words appear exactly, or when a run of words in the text
    is close to its name (typos, a dropped unit such as "body mass" for `body_mass_g`).
    """
    words = [(match.group(), match.start()) for match in WORD.finditer(text)]
    found: dict[str, int] = {}
    for column in sorted(columns, key=len, reverse=True):
        name = normalise(column)
        position = text.find(f" {name} ") + 1 if name else 0
        if position <= 0 and len(name) >= 4:
            position = _fuzzy_position(name, words)
        taken = any(abs(position - start) < 2 for start in found.values())
        if position > 0 and not taken:
            found[column] = position
    return sorted(found, key=lambda column: found[column])


def _fuzzy_position(name: str, words: list[tuple[str, int]]) -> int:
    size = len(name.split())
    for width in {size, max(size - 1, 1)}:
        for index in range(len(words) - width + 1):
            window = " ".join(word for word, _ in words[index : index + width])
            if len(window) >= 4 and difflib.SequenceMatcher(None, window, name).ratio() >= 0.8:
                return words[index][1]
    return 0


def choose_dataset(text: str, datasets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The dataset the request names, else the most recently uploaded one."""
    for dataset in datasets[::-1]:
        stem = normalise(str(dataset["name"]).rsplit(".", 1)[0])
        if str(dataset["id"]) in text or (len(stem) >= 3 and stem in text):
            return dataset
    originals = [item for item in datasets if "derived_from" not in item]
    candidates = originals or datasets
    return candidates[-1] if candidates else None


def plan_call(intent: Intent, catalogue: dict[str, Any]) -> Plan:
    datasets: list[dict[str, Any]] = catalogue.get("datasets") or []
    if intent.family == "list":
        return Plan(text=render_catalogue(catalogue))
    dataset = choose_dataset(intent.text, datasets)
    if dataset is None:
        return Plan(
            text="There is no data in this chat yet. Upload a CSV, TSV, JSON, Excel or "
            "Parquet file with the upload button, then ask again."
        )
    columns = [column["name"] for column in dataset.get("columns") or []]
    types = {column["name"]: column["type"] for column in dataset.get("columns") or []}
    named = mentioned_columns(intent.text, columns)
    dataset_id = dataset["id"]
    if intent.family == "describe":
        return Plan("analyze_dataset", {"dataset_id": dataset_id})
    if intent.family == "plot":
        return _plan_plot(intent, dataset_id, named, types)
    if intent.family == "train":
        target = _pick_target(intent.text, named)
        if target is None:
            return Plan(
                text=f"Which column should the model predict? The columns of "
                f"{dataset['name']} are: {', '.join(columns)}."
            )
        return Plan("train", {"dataset_id": dataset_id, "target": target})
    if intent.family == "export":
        models = catalogue.get("models") or []
        if "model" in intent.text.split() and models:
            return Plan("export_model", {"model_id": models[-1]["id"]})
        latest = datasets[-1] if " the data " not in intent.text else dataset
        file_format = "xlsx" if ("excel" in intent.text or "xlsx" in intent.text) else "csv"
        return Plan("export_dataset", {"dataset_id": latest["id"], "file_format": file_format})
    if intent.family == "predict":
        models = catalogue.get("models") or []
        if not models:
            return Plan(
                text="There is no trained model yet. Ask me to train one first, for "
                'example: "train a model to predict <column>".'
            )
        return Plan("predict", {"model_id": models[-1]["id"], "dataset_id": dataset_id})
    if intent.family == "cluster":
        args: dict[str, Any] = {"dataset_id": dataset_id}
        if intent.numbers:
            args["n_clusters"] = intent.numbers[0]
        if named:
            args["columns"] = named
        return Plan("cluster", args)
    return Plan(text=HELP_TEXT)


def _pick_target(text: str, named: list[str]) -> str | None:
    if not named:
        return None
    for cue in TARGET_CUES:
        position = text.find(f" {cue} ")
        if position >= 0:
            after = [column for column in named if text.find(normalise(column), position) >= 0]
            if after:
                return after[0]
    return named[0]


def _plan_plot(intent: Intent, dataset_id: str, named: list[str], types: dict[str, str]) -> Plan:
    if not named:
        numeric = [name for name, kind in types.items() if kind in {"number", "integer"}]
        suggestion = f' For example: "plot a histogram of {numeric[0]}".' if numeric else ""
        return Plan(text=f"Which column should I plot? Columns: {', '.join(types)}.{suggestion}")
    numeric_named = [name for name in named if types.get(name) in {"number", "integer"}]
    wants_scatter = any(cue in intent.text for cue in SCATTER_CUES) or len(numeric_named) >= 2
    if wants_scatter and len(numeric_named) >= 2:
        y, x = numeric_named[0], numeric_named[1]
        args: dict[str, Any] = {"dataset_id": dataset_id, "kind": "scatter", "x": x, "y": y}
        others = [name for name in named if name not in (x, y)]
        if others and types.get(others[0]) == "text":
            args["color_by"] = others[0]
        return Plan("plot", args)
    return Plan("plot", {"dataset_id": dataset_id, "kind": "histogram", "x": named[0]})


def render_catalogue(catalogue: dict[str, Any]) -> str:
    datasets = catalogue.get("datasets") or []
    models = catalogue.get("models") or []
    if not datasets:
        return "No files yet. Upload a CSV or workbook and I can profile, chart and model it."
    lines = ["Datasets in this chat:"]
    for dataset in datasets:
        lines.append(
            f"- **{dataset['name']}** (`{dataset['id']}`): {dataset.get('rows', '?')} rows, "
            f"{len(dataset.get('columns') or [])} columns"
        )
    for model in models:
        lines.append(f"- model `{model['id']}`: {model['name']}")
    return "\n".join(lines)


HELP_TEXT = (
    "I'm the built-in offline assistant: I run on this machine without any API key and understand "
    "short, direct requests such as:\n"
    '- "describe the data" or "which columns have missing values"\n'
    '- "plot a histogram of price" or "plot price against area"\n'
    '- "train a model to predict species" (scored on a held-out 20 % test split)\n'
    '- "cluster the rows into 3 groups"\n'
    '- "list my files"\n'
    '- "download the predictions as Excel" or "download the model"\n\n'
    "For free-form conversation, start the app with a hosted model: set OPENAI_API_KEY (GPT-4o), "
    "or USE_GEMINI=true with GOOGLE_API_KEY, or LLM_MODEL to any LiteLLM model string."
)
