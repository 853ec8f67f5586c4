"""The notebook export: the uploads as the notebook reads them back, and the ZIP that holds both.

Every function here is blocking (it reads the session's files): call it from a worker thread.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from data_science.reproduce.code import DATA_FOLDER, Source
from data_science.reproduce.notebook import (
    NOTEBOOK_FILE,
    ChatRequest,
    build_notebook,
    notebook_text,
)
from data_science.storage.tables import TEXT_TABLE_EXTENSIONS, text_layout
from data_science.storage.workspace import ItemRecord, Workspace

ARCHIVE_PREFIX = "zip_"


@dataclass(frozen=True)
class UploadedFile:
    """An uploaded table: its dataset id, how the notebook reads it, and where its bytes are."""

    dataset_id: str
    source: Source
    path: Path


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: the ZIP's size and the data files beside the notebook."""

    size_bytes: int
    data_files: list[str]
    code_cells: int
    notes: int


def is_upload(record: ItemRecord) -> bool:
    """An uploaded table (or a table from an uploaded ZIP), not one a tool derived."""
    parent = record.parent_id
    return record.kind == "table" and (parent is None or parent.startswith(ARCHIVE_PREFIX))


def uploaded_files(workspace: Workspace) -> list[UploadedFile]:
    """The session's uploads, each under its stored (sanitised) name, made unique, and read as
    the upload was read: a text table with the encoding and delimiter detected then."""
    files: list[UploadedFile] = []
    taken: set[str] = set()
    for record in workspace.items("table"):
        if not is_upload(record):
            continue
        path = workspace.data_path(record)
        name = _unique(record.stored_name, taken)
        reader, options = _reader_of(path, record.extension)
        files.append(UploadedFile(record.id, Source(name, reader, options), path))
    return files


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_2.csv`, `name_3.csv`, ... when two uploads share a name."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{stem}_{number}{dot}{extension}"
    taken.add(candidate.lower())
    return candidate


def _reader_of(path: Path, extension: str) -> tuple[str, dict[str, Any]]:
    """The pandas reader and options `storage.tables.read_table` used for this file."""
    if extension in TEXT_TABLE_EXTENSIONS:
        layout = text_layout(path, extension)
        return "read_csv", {"sep": layout.delimiter, "encoding": layout.encoding}
    if extension == "json":
        try:
            pd.read_json(path)
        except ValueError:
            return "read_json", {"lines": True}  # JSON Lines, as read_table falls back to
        return "read_json", {}
    if extension == "xlsx":
        return "read_excel", {}  # the first sheet; other sheets are `load_sheet` steps
    return "read_parquet", {}


def write_export(
    workspace: Workspace, requests: Sequence[ChatRequest], title: str, target: Path
) -> ExportReport:
    """Write the ZIP of the chat's notebook and its `data/` folder to `target`."""
    files = uploaded_files(workspace)
    notebook = build_notebook(requests, {item.dataset_id: item.source for item in files}, title)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(NOTEBOOK_FILE, notebook_text(notebook))
        for item in files:
            archive.write(item.path, f"{DATA_FOLDER}/{item.source.file_name}")
    code_cells = sum(1 for cell in notebook.cells if cell.cell_type == "code") - 1
    notes = sum(1 for cell in notebook.cells if cell.cell_type == "markdown" and cell.metadata)
    return ExportReport(
        size_bytes=target.stat().st_size,
        data_files=[item.source.file_name for item in files],
        code_cells=code_cells,
        notes=notes,
    )
