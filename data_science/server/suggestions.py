"""`GET .../files/{item_id}/suggestions`: one-click next steps the chat page offers after an upload.

Each suggestion is a label for the button and the message it sends: a profile, the chart that
says most about the data, and a model for the likely target (the choice is made by
`ml.guidance.quick_actions`, the same logic as the `suggest_next_steps` tool).

This is the one place outside the offline model that runs its parser (`offline.intents.decide`):
a message that names the file must still be read as the step the button promises, and the
offline model is the reader to satisfy (a hosted model understands either form).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from data_science.config import APP_NAME
from data_science.ml.common import SEED
from data_science.offline.intents import decide
from data_science.runtime.remote import in_workers
from data_science.runtime.threads import run_blocking
from data_science.runtime.workers import run_cpu
from data_science.server.responses import error_response
from data_science.storage.large import for_models
from data_science.storage.workspace import ItemRecord, UnknownItem, Workspace, describe_catalogue

router = APIRouter()

if TYPE_CHECKING:
    from data_science.ml import guidance
else:  # computed in the worker processes only (runtime/remote.py)
    guidance = in_workers("data_science.ml.guidance")


@router.get("/api/users/{user_id}/sessions/{session_id}/files/{item_id}/suggestions")
async def suggestions(
    request: Request, user_id: str, session_id: str, item_id: str
) -> JSONResponse:
    """Up to three next steps for the table `item_id`: `[{label, message}]`."""
    session = await request.app.state.session_service.get_session(
        app_name=APP_NAME, user_id=user_id, session_id=session_id
    )
    if session is None:
        return error_response(404, "unknown_session", "No such session for this user.")
    workspace = Workspace(request.app.state.settings, user_id, session_id)
    try:
        record = await run_blocking(workspace.get, item_id)
    except UnknownItem as error:
        return error_response(404, "unknown_file", str(error))
    if record.kind != "table":
        return error_response(
            422,
            "not_a_table",
            f"'{record.name}' is an {record.kind}, not a table: suggestions are made for "
            "tables (CSV, TSV, JSON, Excel, Parquet).",
        )
    table = await run_blocking(workspace.table_file, item_id)
    # A large table's suggestions come from its sample: reading it whole would cost more than
    # the upload did.
    table = await run_blocking(for_models, table, request.app.state.settings, SEED)
    actions = await run_cpu(guidance.quick_actions, table, lane="quick")
    return JSONResponse({"file_id": item_id, "suggestions": build_suggestions(record, actions)})


def build_suggestions(record: ItemRecord, actions: dict[str, Any]) -> list[dict[str, str]]:
    """Button labels and the plain requests they send, naming the file when that stays clear."""
    steps = [("analyze_dataset", "Profile the data", "describe the data")]
    chart = actions.get("chart")
    if chart and chart["kind"] == "scatter":
        x, y = chart["x"], chart["y"]
        steps.append(("plot", f"{y} against {x}", f"plot {y} against {x}"))
    elif chart:
        steps.append(("plot", f"Histogram of {chart['x']}", f"plot a histogram of {chart['x']}"))
    target = actions.get("likely_target")
    if target:
        steps.append(("train", f"Predict {target}", f"train a model to predict {target}"))
    catalogue = {"datasets": describe_catalogue([record]), "models": []}
    return [
        {"label": label, "message": _name_the_file(message, record.name, tool, catalogue)}
        for tool, label, message in steps
    ]


def _name_the_file(message: str, file_name: str, tool: str, catalogue: dict[str, Any]) -> str:
    """Add the file's name so the request is about this file, unless a word in the name would
    change what the request asks (`describe the data in forecast.csv` reads as a forecast).
    The offline model is the reader to satisfy: a hosted model understands either form."""
    named = f"{message} in {file_name}"
    return named if decide(named, catalogue).tool == tool else message
