"""The chat as a notebook (#19): a real chat over the real app (offline model), exported by the
route and by the tool, and the notebook run with nbclient in this project's environment.

The chat uploads two CSVs (one with a hostile column name and a quote in its file name), profiles
one, cleans it (impute, encode), trains two models, tunes one, clusters it and forecasts the
other; every metric a step reported must be printed by that step's cell, at the precision the
cell prints it.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import io
import json
import math
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nbformat
import numpy as np
import pandas as pd
import pytest
from google.adk.cli.conformance.adk_web_server_client import AdkWebServerClient
from google.adk.events.event import Event
from google.genai import types
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from data_science.offline.replies import render_result
from data_science.reproduce.code import Source, Step
from data_science.reproduce.notebook import ChatRequest, RecordedStep, build_notebook, step_cells
from data_science.tools.chat_steps import chat_requests
from tests.conftest import PROJECT_ROOT, LiveServer
from tests.test_e2e import APP, message, upload

HOSTILE_COLUMN = '"); import os; os.system("touch /tmp/pwned")  #'
CUSTOMERS_FILE = "customers 'north' list.csv"
CHAT = [
    "describe the customers data",
    "fill missing values with the median",
    "one-hot encode region",
    "train a random forest to predict spend",
    "train a linear regression to predict spend",
    "tune the random forest",
    "cluster into 3 groups",
    "forecast sales for the next 12 months",
]
MODELLING = {"train", "tune_model", "cluster", "forecast"}
NOTEBOOK_SECONDS = 900
START_SECONDS = 420
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "notebook"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 300
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(50, 15, rows).round(2),
            "region": rng.choice(["north", "south", "east"], rows),
            HOSTILE_COLUMN: rng.normal(size=rows).round(3),
        }
    )
    frame["spend"] = (2 * frame["income"] + 0.5 * frame["age"] + rng.normal(0, 5, rows)).round(2)
    frame.loc[rng.choice(rows, 30, replace=False), "age"] = np.nan
    frame.loc[rng.choice(rows, 20, replace=False), "region"] = np.nan
    return frame


def monthly_sales() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    steps = np.arange(96)
    return pd.DataFrame(
        {
            "month": pd.date_range("2015-01-01", periods=96, freq="MS").strftime("%Y-%m-%d"),
            "sales": (100 + steps + 10 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 2, 96))
            .round(2)
            .tolist(),
        }
    )


@dataclass
class Chat:
    server: LiveServer
    session_id: str
    events: list[Event]
    folder: Path

    def api(self, user: str = "alice", session_id: str | None = None) -> str:
        return f"{self.server.url}/api/users/{user}/sessions/{session_id or self.session_id}"


async def run_chat(server: LiveServer, folder: Path) -> Chat:
    sales_path, customers_path = folder / "sales.csv", folder / CUSTOMERS_FILE
    monthly_sales().to_csv(sales_path, index=False)
    customers().to_csv(customers_path, index=False)
    events: list[Event] = []
    async with AdkWebServerClient(base_url=server.url, timeout=600) as client:
        session = await client.create_session(app_name=APP, user_id="alice")
        await upload(server.url, session.id, sales_path)
        await upload(server.url, session.id, customers_path)
        for text in [*CHAT, "how did you do that?", "export this chat as a notebook"]:
            events += [e async for e in client.run_agent(message(session.id, text))]
    return Chat(server, session.id, events, folder)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    folder = tmp_path_factory.mktemp("notebook")
    # A long start-up allowance: the whole chat runs on one server, on a machine that may be busy.
    server = LiveServer(folder / "data").start(timeout=START_SECONDS)
    try:
        yield asyncio.run(run_chat(server, folder))
    finally:
        server.stop()


def responses(events: list[Event]) -> dict[str, tuple[str, dict[str, Any]]]:
    """call id -> (tool, result) of every tool answer in the chat."""
    return {
        part.function_response.id or "": (
            part.function_response.name or "",
            dict(part.function_response.response or {}),
        )
        for event in events
        if event.content
        for part in event.content.parts or []
        if part.function_response
    }


def export(chat: Chat) -> zipfile.ZipFile:
    response = httpx.get(f"{chat.api()}/notebook", timeout=300)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="chat_notebook.zip"' in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def run_notebook(notebook: nbformat.NotebookNode, folder: Path) -> None:
    """Execute with nbclient in a kernel of this interpreter (the project's environment)."""
    kernels = folder.parent / f"{folder.name}-kernels"
    spec = kernels / "project"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "project", "language": "python"})
    )
    manager = KernelManager(
        kernel_name="project", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    client = NotebookClient(
        notebook, km=manager, timeout=NOTEBOOK_SECONDS, resources={"metadata": {"path": folder}}
    )
    client.execute()


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "") for output in cell.outputs if output.output_type == "stream"
    )


def reported_metrics(tool: str, result: dict[str, Any]) -> dict[str, float]:
    """The metrics the chat reported for a modelling step (what its reply showed)."""
    if tool == "cluster":
        return {"silhouette": result["silhouette"]}
    if tool == "forecast":
        return {
            f"{model} {name}": value
            for model, scores in result["holdout"]["metrics"].items()
            for name, value in scores.items()
        }
    return dict(result["test_metrics"])


def shows(output: str, name: str, value: float) -> bool:
    """Whether a line naming every word of `name` prints `value`, equal at its printed precision
    (at least two decimals, so a bare count or a seed is no match)."""
    words = [word.lower() for word in re.split(r"[\s_]+", name) if word]
    for line in output.lower().splitlines():
        if not all(word in line for word in words):
            continue
        for token in NUMBER.findall(line):
            decimals = len(token.partition(".")[2]) if "e" not in token.lower() else 6
            if decimals >= 2 and math.isclose(float(token), round(value, decimals), abs_tol=0):
                return True
    return False


def test_the_exported_notebook_reruns_to_every_metric_the_chat_reported(
    chat: Chat, tmp_path: Path
) -> None:
    archive = export(chat)
    names = set(archive.namelist())
    assert names == {"notebook.ipynb", "data/sales.csv", "data/customers_north_list.csv"}
    folder = tmp_path / "export"
    archive.extractall(folder)
    notebook = nbformat.reads(archive.read("notebook.ipynb").decode(), as_version=4)
    nbformat.validate(notebook)
    asked = [cell.source for cell in notebook.cells if cell.source.startswith("## Request")]
    assert len(asked) == len(CHAT) + 2  # the chat's requests, "how did you…", the export

    run_notebook(notebook, folder)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # to look at (git-ignored)
    nbformat.write(notebook, ARTIFACTS / "executed.ipynb")

    answers = responses(chat.events)
    checked = set()
    for cell in notebook.cells:
        step = cell.metadata.get("data_science")
        if step is None:
            continue
        tool, result = answers[step["call_id"]]
        assert result["status"] == "ok" and tool == step["tool"]
        if tool not in MODELLING:
            continue
        assert cell.cell_type == "code", f"{tool} has no code: {cell.source}"
        output = printed(cell)
        for name, value in reported_metrics(tool, result).items():
            assert shows(output, name, value), (tool, name, value, output)
        checked.add(tool)
    assert checked == MODELLING


def test_every_step_of_the_chat_is_a_cell_in_order_and_failed_calls_are_not(chat: Chat) -> None:
    notebook = nbformat.reads(export(chat).read("notebook.ipynb").decode(), as_version=4)
    in_notebook = [
        cell.metadata["data_science"]["call_id"]
        for cell in notebook.cells
        if "data_science" in cell.metadata
    ]
    chat_steps = [
        call_id
        for call_id, (tool, result) in responses(chat.events).items()
        if result["status"] == "ok"
        and tool not in {"list_data_files", "show_code", "export_notebook"}
    ]
    assert in_notebook == chat_steps
    answers = responses(chat.events)
    tools = [answers[call_id][0] for call_id in in_notebook]
    assert tools == [
        "analyze_dataset",
        "impute_missing",
        "encode_columns",
        "train",
        "train",
        "tune_model",
        "cluster",
        "forecast",
    ]


def test_hostile_names_stay_strings(chat: Chat) -> None:
    notebook = nbformat.reads(export(chat).read("notebook.ipynb").decode(), as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    constants = set()
    for source in code:
        tree = ast.parse(source)  # every cell is valid Python
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            # Nothing reaches `os` or runs a shell: the column's text never became code.
            if isinstance(node, ast.Attribute):
                assert node.attr != "system"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names]
                assert "os" not in names and getattr(node, "module", None) != "os"
    assert HOSTILE_COLUMN in constants or any(HOSTILE_COLUMN in text for text in constants)
    assert "customers_north_list.csv" in constants
    # The person's words are markdown text: a request cannot open HTML or a heading.
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert any(text.endswith("\n\n> fill missing values with the median") for text in markdown)
    assert any(text.endswith("\n\n> one\\-hot encode region") for text in markdown)


def test_show_code_route_gives_the_notebooks_cell_for_each_call(chat: Chat) -> None:
    notebook = nbformat.reads(export(chat).read("notebook.ipynb").decode(), as_version=4)
    cells = [cell for cell in notebook.cells if "data_science" in cell.metadata]
    for cell in cells:
        call_id = cell.metadata["data_science"]["call_id"]
        response = httpx.get(f"{chat.api()}/code/{call_id}", timeout=60)
        assert response.status_code == 200, response.text
        shown = response.json()
        assert shown["tool"] == cell.metadata["data_science"]["tool"]
        if cell.cell_type == "code":
            assert shown["code"].rstrip("\n") == cell.source
        else:
            assert shown["note"] in cell.source.replace("\\", "")


def test_the_tool_hands_back_the_same_notebook_as_the_route(chat: Chat) -> None:
    answers = responses(chat.events)
    exported = next(result for tool, result in answers.values() if tool == "export_notebook")
    assert exported["file"] == "chat_notebook.zip"
    url = (
        f"{chat.server.url}/apps/{APP}/users/alice/sessions/{chat.session_id}/artifacts/"
        f"{exported['file']}"
    )
    part = httpx.get(url, timeout=60).json()
    data = part.get("inlineData") or part["inline_data"]
    raw = data["data"].replace("-", "+").replace("_", "/")
    from_tool = zipfile.ZipFile(io.BytesIO(base64.b64decode(raw + "=" * (-len(raw) % 4))))
    from_route = export(chat)
    assert sorted(from_tool.namelist()) == sorted(from_route.namelist())
    assert from_tool.read("data/sales.csv") == from_route.read("data/sales.csv")

    def sources(archive: zipfile.ZipFile) -> list[str]:
        notebook = nbformat.reads(archive.read("notebook.ipynb").decode(), as_version=4)
        return [cell.source for cell in notebook.cells]

    assert sources(from_tool) == sources(from_route)


def test_show_code_tool_answers_how_did_you_do_that_with_the_last_steps_code(chat: Chat) -> None:
    answers = responses(chat.events)
    shown = next(result for tool, result in answers.values() if tool == "show_code")
    assert [step["tool"] for step in shown["steps"]] == ["forecast"]
    forecast_id = next(call for call, (tool, _) in answers.items() if tool == "forecast")
    route = httpx.get(f"{chat.api()}/code/{forecast_id}", timeout=60).json()
    assert shown["steps"][0]["code"] == route["code"].splitlines()


def test_route_errors_are_in_the_one_error_shape(chat: Chat) -> None:
    unknown = httpx.get(f"{chat.api(session_id='no-such-session')}/notebook", timeout=30)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "unknown_session", "message": unknown.json()["message"]}
    # Another user naming alice's session finds nothing: sessions are per user.
    for path in ("notebook", "code/adk-1234"):
        other = httpx.get(f"{chat.api(user='mallory')}/{path}", timeout=30)
        assert other.status_code == 404 and other.json()["error"] == "unknown_session"
    missing = httpx.get(f"{chat.api()}/code/adk-no-such-call", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_call"
    bad = httpx.get(f"{chat.api()}/code/..%2F..%2Fetc", timeout=30)
    assert bad.status_code == 404 and set(bad.json()) == {"error", "message"}


# ---------- events to steps, and the notebook's cells, without a server


def call_event(call_id: str, name: str, args: dict[str, Any]) -> Event:
    part = types.Part(function_call=types.FunctionCall(id=call_id, name=name, args=args))
    return Event(author="agent", content=types.Content(role="model", parts=[part]))


def answer_event(call_id: str, name: str, result: dict[str, Any]) -> Event:
    answer = types.FunctionResponse(id=call_id, name=name, response=result)
    return Event(
        author="agent",
        content=types.Content(role="user", parts=[types.Part(function_response=answer)]),
    )


def said(text: str) -> Event:
    return Event(author="user", content=types.Content(role="user", parts=[types.Part(text=text)]))


def test_events_become_requests_with_their_successful_steps_matched_by_call_id() -> None:
    ok = {"status": "ok", "dataset_id": "ds_00000000000000aa"}
    failed = {"status": "error", "error": "unknown_column", "message": "no such column"}
    events = [
        said("fill the gaps"),
        call_event("c1", "list_data_files", {}),
        answer_event("c1", "list_data_files", {"status": "ok", "datasets": []}),
        # Two calls in one event, answered in the other order.
        call_event("c2", "impute_missing", {"dataset_id": "ds_1", "columns": ["nope"]}),
        call_event("c3", "impute_missing", {"dataset_id": "ds_1"}),
        answer_event("c3", "impute_missing", ok),
        answer_event("c2", "impute_missing", failed),
        said("how did you do that?"),
        call_event("c4", "show_code", {}),
        answer_event("c4", "show_code", {"status": "ok", "steps": []}),
        said("and plot it"),
        call_event("c5", "plot", {"dataset_id": "ds_1"}),  # never answered (interrupted)
    ]
    requests = chat_requests(events)
    assert [request.text for request in requests] == [
        "fill the gaps",
        "how did you do that?",
        "and plot it",
    ]
    assert [(s.call_id, s.step.tool, dict(s.step.args)) for s in requests[0].steps] == [
        ("c3", "impute_missing", {"dataset_id": "ds_1"})
    ]
    assert dict(requests[0].steps[0].step.result) == ok
    assert requests[1].steps == () and requests[2].steps == ()


def test_a_step_without_template_or_inputs_is_a_note_and_the_rest_still_runs(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, None]})
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data" / "x.csv", index=False)
    sources = {"ds_1": Source("x.csv", "read_csv", {"sep": ","})}
    requests = [
        ChatRequest(
            "**do** <b>it</b>\n# now",
            (
                RecordedStep("a", Step("no_such_tool", {}, {"status": "ok"})),
                RecordedStep("b", Step("predict", {"dataset_id": "ds_1", "model_id": "mdl_x"}, {})),
                RecordedStep("c", Step("preview_rows", {"dataset_id": "ds_1", "n": 2}, {})),
            ),
        )
    ]
    cells = step_cells(requests, sources)
    assert [cell.code is None for cell in cells] == [True, True, False]
    assert "no code template" in (cells[0].note or "")
    assert "mdl_x" in (cells[1].note or "")
    notebook = build_notebook(requests, sources, "A 'title'")
    asked = notebook.cells[2].source
    assert asked == "## Request 1\n\n> \\*\\*do\\*\\* &lt;b\\>it&lt;/b\\>\n> \\# now"
    # The failed `predict` bound nothing: the preview reads the upload itself.
    assert "pd.read_csv(DATA / 'x.csv', sep=',')" in notebook.cells[-1].source
    run_notebook(notebook, tmp_path)
    assert printed(notebook.cells[-1])


def test_the_offline_reply_to_show_code_fences_the_code_past_its_backticks() -> None:
    reply = render_result(
        "show_code",
        {
            "status": "ok",
            "preamble": ["import pandas as pd"],
            "steps": [
                {"tool": "filter_rows", "code": ["df_2 = df[df['a```b'] > 1]"]},
                {"tool": "plot_model", "note": "not written as code here"},
            ],
        },
    )
    assert "````python\ndf_2 = df[df['a```b'] > 1]\n````" in reply
    assert "`plot_model`: not written as code here." in reply
