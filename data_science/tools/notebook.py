"""Showing the work: each step of the chat as Python, and the whole chat as a notebook.

The route (`server/notebook.py`) and these tools share one path from a session's events to code
(`chat_code`, `export_chat`), so the page's "show code", the model's `show_code` and the
exported notebook name the same variables. The code is written in a worker process: the
templates import the libraries whose options they write (scikit-learn and the rest), which the
server process never loads (tests/test_server_imports.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from google.adk.events.event import Event
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.reproduce.code import PREAMBLE, Source
from data_science.reproduce.export import ExportReport, Upload, reader_of, uploads, write_export
from data_science.reproduce.notebook import StepCode, notebook_document, step_cells
from data_science.runtime.workers import run_cpu
from data_science.storage.workspace import Workspace
from data_science.tools.base import (
    ToolError,
    artifact_filename,
    run_blocking,
    staged_file,
    tool,
    workspace_for,
)
from data_science.tools.chat_steps import chat_requests

NOTEBOOK_TITLE = "This chat, step by step"
EXPORT_FILE = artifact_filename("chat_notebook", "zip")
# What the model may hand back as an artifact (the route streams any size).
MAX_ARTIFACT_BYTES = 100_000_000


async def _sources(workspace: Workspace) -> tuple[list[Upload], dict[str, Source]]:
    """The session's uploads, and how the notebook reads each back (found by workers)."""
    found = await run_blocking(uploads, workspace)
    read_back = await asyncio.gather(
        *(
            run_cpu(reader_of, item.stored, item.record.extension, item.file_name, lane="quick")
            for item in found
        )
    )
    return found, {item.record.id: source for item, source in zip(found, read_back, strict=True)}


async def chat_code(workspace: Workspace, events: Iterable[Event]) -> list[StepCode]:
    """Every step of the chat with its code (or the note saying why it has none), in order."""
    requests = chat_requests(events)
    if not any(request.steps for request in requests):
        return []  # nothing to write: no file read, no worker called
    _, sources = await _sources(workspace)
    return await run_cpu(step_cells, requests, sources, lane="quick")


async def export_chat(workspace: Workspace, events: Iterable[Event], target: Path) -> ExportReport:
    """Write the chat's notebook and its uploads as a ZIP to `target`."""
    requests = chat_requests(events)
    found, sources = await _sources(workspace)
    document = await run_cpu(notebook_document, requests, sources, NOTEBOOK_TITLE, lane="quick")
    return await run_blocking(write_export, workspace, found, document, target)


@tool
async def export_notebook(tool_context: ToolContext) -> dict[str, Any]:
    """Export this chat as a Jupyter notebook the person can download and rerun.

    Use when the person asks to export, download or save the chat (or the analysis) as a
    notebook or as code. The download is a ZIP holding the notebook (a markdown cell for each
    request, a code cell for each step) and a `data/` folder with the uploaded files; each
    modelling step prints the metrics the chat reported. Returns the file name and how many
    code cells it holds; steps that could not be written as code are listed in `notes`.
    """
    workspace = workspace_for(tool_context)
    async with staged_file(workspace, "notebook.zip") as path:
        report = await export_chat(workspace, tool_context.session.events, path)
        if report.size_bytes > MAX_ARTIFACT_BYTES:
            raise ToolError(
                f"The notebook with its data would be {report.size_bytes:,} bytes, more than "
                f"{MAX_ARTIFACT_BYTES:,} can be handed back in the chat; use the page's "
                "'Export notebook' button, which downloads any size.",
                "export_too_large",
            )
        data = await run_blocking(path.read_bytes)
    version = await tool_context.save_artifact(
        EXPORT_FILE, types.Part.from_bytes(data=data, mime_type="application/zip")
    )
    return {
        "file": EXPORT_FILE,
        "version": version,
        "code_cells": report.code_cells,
        "notes": report.notes,
        "data_files": report.data_files,
        "size_bytes": report.size_bytes,
    }


@tool
async def show_code(tool_context: ToolContext, last: int = 1) -> dict[str, Any]:
    """The Python code of the chat's last step(s): what was run, as plain pandas/scikit-learn.

    Use when the person asks how something was done ("how did you do that?", "show me the
    code"). `last`: how many of the latest steps to show. Each step's `code` is a list of
    lines that reads alone after the `preamble` lines (imports and the folder of the uploaded
    files); show them in a python code block. A step that cannot be written as code comes with
    a `note` instead.
    """
    if last < 1:
        raise ToolError("`last` must be 1 or more: the number of latest steps to show.", "bad_last")
    cells = await chat_code(workspace_for(tool_context), tool_context.session.events)
    if not cells:
        raise ToolError(
            "No step of this chat has run yet, so there is no code to show; ask for an "
            "analysis first.",
            "no_steps",
        )
    # Lines, not one text: what the model is shown has its line breaks cleaned away.
    shown = [
        {"tool": cell.tool, "code": cell.code.splitlines()}
        if cell.code
        else {"tool": cell.tool, "note": cell.note}
        for cell in cells[-last:]
    ]
    return {"preamble": PREAMBLE.splitlines(), "steps": shown}
