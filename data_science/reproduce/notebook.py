"""A chat as a Jupyter notebook: a markdown cell per request, a code cell per step, in order.

The chat arrives as `ChatRequest`s (the person's words and the successful tool calls that
answered them, read from the session's events by `tools/chat_steps.py`), the uploads as
`Source`s. One walk of `Names` over every step gives each step its cell, so the notebook, the
"show code" view of one step and the model's `show_code` all name the same variables.

A step that has no template, or that uses a dataset or model no earlier step made (a deleted
upload, a model from another tool without a template), becomes a markdown note saying so: the
rest of the notebook still runs.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from data_science.reproduce.code import DATA_FOLDER, PREAMBLE, Names, Source, Step, step_code

NOTEBOOK_FILE = "notebook.ipynb"
# Markdown that Jupyter would render as something else (emphasis, links, headings, HTML):
# escaped with a backslash, which CommonMark allows before any ASCII punctuation.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
HTML_SPECIAL = {"&": "&amp;", "<": "&lt;"}
METADATA_KEY = "data_science"


@dataclass(frozen=True)
class RecordedStep:
    """A successful tool call of the chat, with the id the chat page shows it under."""

    call_id: str
    step: Step


@dataclass(frozen=True)
class ChatRequest:
    """What the person asked, and the steps taken to answer it (in the order they ran)."""

    text: str
    steps: tuple[RecordedStep, ...] = ()


@dataclass(frozen=True)
class NotebookDocument:
    """A written notebook: its text, its step code cells, and the notes that stand for steps."""

    text: str
    code_cells: int
    notes: int


@dataclass(frozen=True)
class StepCode:
    """A step's cell: its code, or (when it cannot be written as code) the note saying why."""

    call_id: str
    tool: str
    code: str | None
    note: str | None = None


def step_cells(requests: Sequence[ChatRequest], sources: Mapping[str, Source]) -> list[StepCode]:
    """Every step's code, in chat order, from one walk of `Names` over the whole chat.

    Runs in a worker process (`run_cpu`): the templates import the libraries whose options they
    write (scikit-learn, statsmodels, ...), which the server process never loads.
    """
    names = Names(sources)
    cells = []
    for request in requests:
        for recorded in request.steps:
            before = copy.deepcopy(names)  # a template that fails part-way binds nothing
            try:
                code = step_code(recorded.step, names)
            except (LookupError, TypeError, ValueError) as error:  # a note, not a failed export
                names = before
                cells.append(StepCode(recorded.call_id, recorded.step.tool, None, _note(error)))
                continue
            cells.append(StepCode(recorded.call_id, recorded.step.tool, code))
    return cells


def _note(error: Exception) -> str:
    reason = str(error.args[0]) if error.args else type(error).__name__
    return f"not written as code here ({reason})"


def build_notebook(
    requests: Sequence[ChatRequest], sources: Mapping[str, Source], title: str
) -> Any:
    """The nbformat v4 notebook of the chat: title, preamble, then each request and its steps."""
    nbformat = _nbformat()
    v4 = nbformat.v4
    cells = iter(step_cells(requests, sources))
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells.append(v4.new_markdown_cell(_title(title)))
    notebook.cells.append(v4.new_code_cell(PREAMBLE.strip()))
    for number, request in enumerate(requests, start=1):
        notebook.cells.append(v4.new_markdown_cell(_request_markdown(number, request.text)))
        for _ in request.steps:
            notebook.cells.append(_step_cell(next(cells)))
    nbformat.validate(notebook)
    return notebook


def notebook_document(
    requests: Sequence[ChatRequest], sources: Mapping[str, Source], title: str
) -> NotebookDocument:
    """The chat's notebook as text, with its counts (runs in a worker: see `step_cells`)."""
    notebook = build_notebook(requests, sources, title)
    code_cells = sum(1 for cell in notebook.cells if cell.cell_type == "code") - 1  # preamble
    notes = sum(1 for cell in notebook.cells if cell.cell_type == "markdown" and cell.metadata)
    return NotebookDocument(notebook_text(notebook), code_cells, notes)


def _title(title: str) -> str:
    return (
        f"# {escape_markdown(title)}\n\n"
        "Each request of the chat is followed by the code of the steps that answered it, with "
        "the same columns, split, seed and options. Run the cells in order: the uploaded files "
        f"are read from the `{DATA_FOLDER}/` folder beside this notebook, and each modelling "
        "step prints the metrics the chat reported."
    )


def _request_markdown(number: int, text: str) -> str:
    quoted = "\n".join(f"> {line}" if line else ">" for line in escape_markdown(text).split("\n"))
    return f"## Request {number}\n\n{quoted or '> (no text)'}"


def _step_cell(cell: StepCode) -> Any:
    v4 = _nbformat().v4
    metadata = {METADATA_KEY: {"call_id": cell.call_id, "tool": cell.tool}}
    if cell.code is None:
        note = f"*Step `{cell.tool}`: {escape_markdown(cell.note or '')}.*"
        return v4.new_markdown_cell(note, metadata=metadata)
    return v4.new_code_cell(cell.code.rstrip("\n"), metadata=metadata)


def escape_markdown(text: str) -> str:
    """`text` shown as itself in a markdown cell: no emphasis, link, heading or HTML in it."""
    text = "".join(HTML_SPECIAL.get(character, character) for character in text)
    return MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\r\n", "\n").replace("\r", "\n"))


def notebook_text(notebook: Any) -> str:
    return str(_nbformat().writes(notebook, version=4))


def _nbformat() -> Any:
    """nbformat, imported on first use: with its JSON-schema validator it would add a fifth of a
    second to every server start for a feature used now and then. (Typed `Any`: its functions
    carry no type hints.)"""
    import nbformat
    import nbformat.v4

    module: ModuleType = nbformat
    return module
