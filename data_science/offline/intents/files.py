"""Files and guidance: downloads, joins, workbook sheets, suggestions, and the help text."""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.columns import find_mentions
from data_science.offline.intents.context import Context, Plan, ask
from data_science.offline.intents.text import normalise

RESULTS = [
    ("predict", r"\bpredictions?\b|\bpredicted\b"),
    ("cluster", r"\bclusters?\b|\bsegments?\b"),
    ("find_anomalies", r"\banomal|\boutliers?\b|\bunusual\b"),
    ("forecast", r"\bforecasts?\b"),
]
SHEET = re.compile(
    r"\b(?:sheet|tab|worksheet)\s+(?:called\s+|named\s+)?([^\s,.?!'\"]+(?:\s+\d+)?)", re.IGNORECASE
)
SHEET_BEFORE = re.compile(r"\b([^\s,.?!'\"]+)\s+(?:sheet|tab|worksheet)\b", re.IGNORECASE)


def plan_export(ctx: Context, base: dict[str, Any]) -> Plan:
    """The dataset to download: the result the request names ("the predictions"), the previous
    step's output ("download it"), or the working dataset."""
    dataset = base.get("dataset_id") or ctx.dataset_id
    step = ctx.previous
    for tool, pattern in RESULTS:
        made = ctx.history.last_of(frozenset({tool}))
        if ctx.u.has(pattern) and made and made.output_dataset:
            dataset = made.output_dataset
            break
    else:
        if ctx.pronoun and step is not None and step.output_dataset:
            dataset = step.output_dataset
    if ctx.named_datasets:
        dataset = ctx.named_datasets[0]["id"]
    excel = ctx.u.has(r"\b(excel|xlsx|spreadsheet|workbook)\b")
    csv = ctx.u.has(r"\bcsv\b")
    file_format = "xlsx" if excel else ("csv" if csv else base.get("file_format"))
    return ctx.call("export_dataset", dataset_id=dataset, file_format=file_format)


def plan_merge(ctx: Context, base: dict[str, Any]) -> Plan:
    named = list(ctx.named_datasets)
    if len(named) == 1 and len(ctx.datasets) == 2:
        named.append(next(item for item in ctx.datasets if item["id"] != named[0]["id"]))
    if len(named) < 2:
        return ask(
            "Which two datasets should I join, and on which column? Upload the second file first "
            "if it is not here yet."
        )
    if ctx.u.has(r"\b(onto|into)\b") and ctx.u.find(r"\b(onto|into)\b") < _position(ctx, named[1]):
        named = [named[1], named[0]]
    left, right = named[0], named[1]
    left_columns = [str(column["name"]) for column in left.get("columns") or []]
    right_columns = [str(column["name"]) for column in right.get("columns") or []]
    mentions = find_mentions(ctx.u.words, left_columns, ctx.dataset_words)[0]
    cue = ctx.u.find(r"\b(on|by|using|via|key|keys)\b")
    keys = [m.column for m in mentions if m.start > cue] if cue >= 0 else []
    if not keys:
        shared = [name for name in left_columns if name in right_columns]
        keys = shared if len(shared) == 1 else []
    if not keys:
        return ask(
            f"Which column links {left['name']} and {right['name']}? Columns of {left['name']}: "
            f"{', '.join(left_columns)}."
        )
    how = next(
        (kind for kind in ("left", "right", "outer") if ctx.u.has(rf"\b{kind}( join)?\b")), None
    )
    how = "outer" if ctx.u.has(r"\bfull\b") else how
    return ctx.call(
        "merge_datasets",
        left_dataset_id=left["id"],
        right_dataset_id=right["id"],
        on=keys,
        how=how,
    )


def _position(ctx: Context, dataset: dict[str, Any]) -> int:
    stem = normalise(str(dataset["name"]).rsplit(".", 1)[0]).split()
    return ctx.u.find(rf"\b{stem[0]}") if stem else -1


def plan_sheet(ctx: Context, base: dict[str, Any]) -> Plan:
    workbooks = [item for item in ctx.datasets if str(item["name"]).lower().endswith(".xlsx")]
    book = next((item for item in ctx.named_datasets if item in workbooks), None)
    book = book or (workbooks[-1] if workbooks else None)
    if book is None:
        return ask("Which workbook? Only uploaded Excel (.xlsx) files have sheets.")
    sheet = ctx.u.quoted[0] if ctx.u.quoted else None
    match = SHEET.search(ctx.u.raw) or SHEET_BEFORE.search(ctx.u.raw)
    if sheet is None and match and match.group(1).lower() not in {"the", "a", "another", "other"}:
        sheet = match.group(1)
    if sheet is None:
        return ask(f"Which sheet of {book['name']} should I open?")
    return ctx.call("load_sheet", dataset_id=book["id"], sheet=sheet)


def plan_export_notebook(ctx: Context, base: dict[str, Any]) -> Plan:
    return ctx.call("export_notebook")


def plan_show_code(ctx: Context, base: dict[str, Any]) -> Plan:
    """The code of the last step, or of the last N ("the code of the last 3 steps")."""
    return ctx.call("show_code", last=ctx.lone_number())


def plan_suggest(ctx: Context, base: dict[str, Any]) -> Plan:
    return ctx.call("suggest_next_steps", dataset_id=ctx.dataset_id)


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


NO_DATA = (
    "There is no data in this chat yet. Upload a CSV, TSV, JSON, Excel or Parquet file with the "
    "upload button, then ask again."
)
GREETING = "Hello! Upload a data file and tell me what you would like to know."
HELP_TEXT = (
    "I'm the built-in offline assistant: I run on this machine without any API key and "
    "understand short, direct requests (typos and loose column names are fine), for example:\n"
    '- look: "describe the data", "which columns have missing values", "show 5 random rows", '
    '"average price by region", "how many of each species", "what correlates with price", '
    '"is the difference in price between regions significant"\n'
    '- charts: "histogram of price", "plot price against area by region", "box plot of price '
    'per region", "line chart of sales over time", "heatmap", "pie chart of region", "some '
    'charts of the data"\n'
    '- clean: "fill missing values with the median", "drop column id", "rename a to b", '
    '"convert date to datetime", "remove duplicates", "clip outliers in price", "scale the '
    'numbers", "one-hot encode region", "extract date parts", "tf-idf on the review text"\n'
    '- rows: "only the rows where price is over 100", "keep the flights from JFK", "add a '
    'column margin = profit / revenue", "the 5 largest by revenue", "sort by date"\n'
    '- models: "train a random forest to predict churn with a 70/30 split", "regression '
    'summary of price on size and age", "cross-validate it", "tune it", '
    '"stack knn and logistic regression", "which algorithm works best", "run AutoML for 2 '
    'minutes", "show the confusion matrix", "which features matter", "predict with the model"\n'
    '- groups and time: "cluster into 4 groups", "how many clusters", "find unusual rows", '
    '"forecast sales for the next 12 months", "is there a seasonal pattern"\n'
    '- files: "list my files", "join orders and customers on customer_id", "open sheet 2024", '
    '"download the predictions as Excel", "download the model"\n'
    'Two steps at once: "fill missing age with the median and then train a model to predict '
    'churn". Then refer back: "now plot it", "use 5 clusters instead", "what about '
    'xgboost?".\n\n'
    "For free-form conversation, start the app with a hosted model: set OPENAI_API_KEY (GPT-4o), "
    "or USE_GEMINI=true with GOOGLE_API_KEY, or LLM_MODEL to any LiteLLM model string."
)


def what_about(columns: str) -> Plan:
    """A question for a request that names columns but no action."""
    return ask(
        f"What should I do with {columns}? For example: plot it, describe its distribution, "
        "compare it across groups, count its values or train a model to predict it."
    )


def help_plan(greeting: bool = False) -> Plan:
    return Plan(text=f"{GREETING}\n\n{HELP_TEXT}" if greeting else HELP_TEXT, reply="help")
