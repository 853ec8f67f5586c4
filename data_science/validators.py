"""Pure checks on uploaded files: names, sizes, extensions and content.

Nothing here touches anything but the file it is given. Each check either returns a cleaned
value or raises `UploadRejected`, whose code, HTTP status and sentence go straight to the client.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

import magic

from data_science.tables import TABLE_EXTENSIONS

ARCHIVE_EXTENSIONS = frozenset({"zip"})
IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp", "gif"})
MAX_STORED_NAME_LENGTH = 120
WINDOWS_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")

# Content types libmagic reports for each kind of file we accept.
TEXT_MIME_TYPES = frozenset(
    {"text/plain", "text/csv", "text/tab-separated-values", "application/csv", "application/json"}
)
XLSX_MIME_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
        "application/octet-stream",
    }
)
IMAGE_MIME_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}


class UploadRejected(Exception):
    """A refused upload: `code` for programs, `message` for people, `status` for HTTP."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def sanitize_filename(original: str) -> str:
    """A safe stored name derived from a client's file name (the original is display text only).

    Keeps only the last path component, folds Unicode look-alikes to ASCII, drops control and
    bidirectional characters, replaces anything else unsafe with `_`, and defuses reserved
    Windows device names. Never returns an empty name or one starting with a dot.
    """
    name = original.replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = "".join(ch for ch in name if ch.isprintable())
    name = UNSAFE_NAME_CHARACTERS.sub("_", name).strip("._ ")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if stem.split(".")[0].lower() in WINDOWS_RESERVED_NAMES:
        stem = f"file_{stem}"
    stem = stem or "upload"
    budget = MAX_STORED_NAME_LENGTH - (len(extension) + 1 if extension else 0)
    stem = stem[: max(budget, 1)]
    return f"{stem}.{extension.lower()}" if extension else stem


def extension_of(filename: str) -> str:
    """The lower-case final extension without the dot (`data.csv.exe` → `exe`)."""
    name = filename.replace("\\", "/").split("/")[-1]
    return name.rpartition(".")[2].lower() if "." in name else ""


def check_extension(filename: str, allowed: frozenset[str]) -> str:
    extension = extension_of(filename)
    if extension not in allowed:
        shown = f"'.{extension}'" if extension else "a file without an extension"
        raise UploadRejected(
            415,
            "extension_not_allowed",
            f"{shown} is not accepted. Allowed file types: {', '.join(sorted(allowed))}.",
        )
    return extension


def kind_of_extension(extension: str) -> str:
    if extension in TABLE_EXTENSIONS:
        return "table"
    if extension in ARCHIVE_EXTENSIONS:
        return "archive"
    if extension in IMAGE_EXTENSIONS:
        return "image"
    raise UploadRejected(415, "extension_not_allowed", f"'.{extension}' is not a known file type.")


def check_size(size_bytes: int, limit: int) -> None:
    if size_bytes > limit:
        raise UploadRejected(
            413,
            "file_too_large",
            f"The file is larger than the limit of {limit:,} bytes (MAX_UPLOAD_BYTES).",
        )
    if size_bytes == 0:
        raise UploadRejected(422, "empty_file", "The file is empty.")


def sniff_mime(path: Path) -> str:
    """The content type libmagic reads from the bytes (the client's header is never trusted)."""
    return str(magic.from_file(str(path), mime=True))


def check_content_matches(path: Path, extension: str) -> str:
    """Refuse a file whose bytes are not what its extension claims; return the sniffed type."""
    mime = sniff_mime(path)
    if _content_matches(path, extension, mime):
        return mime
    raise UploadRejected(
        415,
        "content_mismatch",
        f"The file is named '.{extension}' but its content is {mime}. "
        "Upload the file in the format its name says.",
    )


def _content_matches(path: Path, extension: str, mime: str) -> bool:
    if extension in {"csv", "tsv", "txt"}:
        return mime in TEXT_MIME_TYPES
    if extension == "json":
        return mime in {"application/json", "text/plain"}
    if extension == "parquet":
        return _has_parquet_magic(path)
    if extension == "xlsx":
        return mime in XLSX_MIME_TYPES and _is_workbook(path)
    if extension == "zip":
        return mime == "application/zip"
    if extension in IMAGE_MIME_TYPES:
        return mime == IMAGE_MIME_TYPES[extension]
    return False


def _has_parquet_magic(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(-4, 2)
        tail = handle.read(4)
    return head == b"PAR1" and tail == b"PAR1"


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names
