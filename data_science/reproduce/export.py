"""The notebook export: the uploads as the notebook reads them back, and the ZIP that holds both.

Each part runs where it belongs (tools/notebook.py puts them together): `uploads` lists the
session's uploads (a server thread: it reads records); `reader_of` finds how one is read back (a
worker process: it reads the whole file); the notebook is written in a worker too
(`reproduce.notebook.notebook_document`: its templates import the computing libraries); and
`write_export` zips it with the uploads (a server thread: it only moves bytes).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data_science.reproduce.code import DATA_FOLDER, Source
from data_science.reproduce.notebook import NOTEBOOK_FILE, NotebookDocument
from data_science.storage.columnar import is_converted
from data_science.storage.tables import TEXT_TABLE_EXTENSIONS, text_layout
from data_science.storage.workspace import ItemRecord, Workspace

ARCHIVE_PREFIX = "zip_"


@dataclass(frozen=True)
class Upload:
    """An uploaded table: its record, the unique name it has in the export's `data/` folder, and
    its stored file as a worker is handed it."""

    record: ItemRecord
    file_name: str
    stored: Path


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


def uploads(workspace: Workspace) -> list[Upload]:
    """The session's uploads, oldest first, each under its stored (sanitised) name made unique."""
    found: list[Upload] = []
    taken: set[str] = set()
    for record in workspace.items("table"):
        if is_upload(record):
            name = _unique(record.stored_name, taken)
            found.append(Upload(record, name, workspace.stored_file(record)))
    return found


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


def reader_of(path: Path, extension: str, file_name: str) -> Source:
    """How the notebook reads `path` back as `storage.tables.read_table` read it: a text table
    with the encoding and delimiter detected at upload; a CSV the upload stored as Parquet with
    its missing text as NaN. (Reads the file: a worker's job.)"""
    if extension in TEXT_TABLE_EXTENSIONS:
        layout = text_layout(path, extension)
        return Source(file_name, "read_csv", {"sep": layout.delimiter, "encoding": layout.encoding})
    if extension == "json":
        try:
            pd.read_json(path)
        except ValueError:
            return Source(file_name, "read_json", {"lines": True})  # JSON Lines, as read_table
        return Source(file_name, "read_json")
    if extension == "xlsx":
        return Source(file_name, "read_excel")  # the first sheet; other sheets: `load_sheet`
    return Source(file_name, "read_parquet", from_csv=is_converted(path))


def write_export(
    workspace: Workspace, files: Sequence[Upload], document: NotebookDocument, target: Path
) -> ExportReport:
    """Write the ZIP of the chat's notebook and its `data/` folder to `target`."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(NOTEBOOK_FILE, document.text)
        for item in files:
            archive.write(workspace.data_path(item.record), f"{DATA_FOLDER}/{item.file_name}")
    return ExportReport(
        size_bytes=target.stat().st_size,
        data_files=[item.file_name for item in files],
        code_cells=document.code_cells,
        notes=document.notes,
    )
