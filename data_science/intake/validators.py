"""Pure checks on uploaded files: names, sizes, extensions and content.

Nothing here touches anything but the file it is given. Each check either returns a cleaned
value or raises `UploadRejected`, whose code, HTTP status and sentence go straight to the client.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import magic

from data_science.storage.tables import TABLE_EXTENSIONS

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
        # All three go to Exception, so the error pickles back intact from a worker process.
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


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


# Display names -----------------------------------------------------------------------------------
# The bidi, zero-width and line-separator characters that can hide or reorder text (a regex
# character-class body, shared with model_view's cleaning of what the model sees).
BIDI_AND_INVISIBLE_CHARACTERS = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
BIDI_AND_INVISIBLE = re.compile(f"[{BIDI_AND_INVISIBLE_CHARACTERS}]")
MAX_DISPLAY_NAME_LENGTH = 255
MAX_EXTENSION_LENGTH = 16


def display_name(original: str) -> str:
    """The client's file name as safe display text: no control, bidi or invisible characters."""
    name = unicodedata.normalize("NFC", original)
    name = BIDI_AND_INVISIBLE.sub("", name)
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "upload"
    if len(name) <= MAX_DISPLAY_NAME_LENGTH:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > MAX_EXTENSION_LENGTH:
        return name[:MAX_DISPLAY_NAME_LENGTH]
    return f"{stem[: MAX_DISPLAY_NAME_LENGTH - len(extension) - 1]}.{extension}"


# ZIP archives ------------------------------------------------------------------------------------
ZIP_ENCRYPTED_FLAG = 0x1
S_IFMT = 0o170000
S_IFLNK = 0o120000
LOCAL_HEADER = struct.Struct("<4s5H3L2H")
LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
COPY_CHUNK = 1 << 16
MEMBER_KINDS = TABLE_EXTENSIONS | IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: int
    max_member_bytes: int


@dataclass(frozen=True)
class ExtractedMember:
    name: str
    path: Path
    size: int
    sha256: str  # taken while extracting, so the member is not read again to hash it


@dataclass(frozen=True)
class SkippedMember:
    name: str
    reason: str


def _zip_rejected(code: str, message: str, status: int = 422) -> UploadRejected:
    return UploadRejected(status, code, message)


def check_member_name(name: str) -> None:
    """Refuse (never repair) a member name that could land outside the extraction directory."""
    if "\\" in name:
        raise _zip_rejected("unsafe_member_name", f"The ZIP member {name!r} uses backslashes.")
    if name.startswith("/") or DRIVE_LETTER.match(name):
        raise _zip_rejected("unsafe_member_name", f"The ZIP member {name!r} has an absolute path.")
    if any(part == ".." for part in name.split("/")):
        raise _zip_rejected("unsafe_member_name", f"The ZIP member {name!r} climbs out with '..'.")
    if any(not ch.isprintable() for ch in name):
        raise _zip_rejected(
            "unsafe_member_name", f"The ZIP member {name!r} has control characters in its name."
        )


def _check_entries(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise _zip_rejected(
            "too_many_entries",
            f"The ZIP has {len(infos)} entries; at most {limits.max_entries} are "
            "accepted (MAX_ZIP_ENTRIES).",
            413,
        )
    seen: set[str] = set()
    for info in infos:
        check_member_name(info.filename)
        if (info.external_attr >> 16) & S_IFMT == S_IFLNK:
            raise _zip_rejected("symlink_member", f"The ZIP member {info.filename!r} is a link.")
        if info.flag_bits & ZIP_ENCRYPTED_FLAG:
            raise _zip_rejected(
                "encrypted_member",
                f"The ZIP member {info.filename!r} is encrypted; upload it without a password.",
            )
        folded = unicodedata.normalize("NFC", info.filename).casefold().rstrip("/")
        if folded in seen:
            raise _zip_rejected(
                "duplicate_member", f"The ZIP holds {info.filename!r} more than once."
            )
        seen.add(folded)
        if not info.is_dir() and extension_of(info.filename) in ARCHIVE_EXTENSIONS:
            raise _zip_rejected(
                "nested_archive",
                f"The ZIP contains another archive ({info.filename!r}); nested "
                "archives are not extracted. Upload the inner archive itself.",
            )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        raise _zip_rejected(
            "archive_too_large",
            f"The ZIP would expand to {declared:,} bytes; the limit is "
            f"{limits.max_total_bytes:,} (MAX_ZIP_UNCOMPRESSED_BYTES).",
            413,
        )
    for info in infos:
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _zip_rejected(
                "zip_bomb",
                f"The ZIP member {info.filename!r} expands more than "
                f"{limits.max_ratio}:1 (MAX_ZIP_COMPRESSION_RATIO): a zip bomb.",
            )


def _check_no_overlap(path: Path, infos: list[zipfile.ZipInfo], central_directory: int) -> None:
    """Every member's bytes must sit apart, before the central directory (CVE-2024-0450)."""
    spans = []
    with path.open("rb") as handle:
        for info in infos:
            handle.seek(info.header_offset)
            header = handle.read(LOCAL_HEADER.size)
            if len(header) < LOCAL_HEADER.size or header[:4] != LOCAL_HEADER_SIGNATURE:
                raise _zip_rejected(
                    "corrupt_archive", f"The ZIP member {info.filename!r} has no valid header."
                )
            name_length, extra_length = LOCAL_HEADER.unpack(header)[-2:]
            end = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
            spans.append((info.header_offset, end + info.compress_size, info.filename))
    spans.sort()
    for (_, previous_end, previous), (start, _, name) in itertools.pairwise(spans):
        if start < previous_end:
            raise _zip_rejected(
                "overlapping_entries",
                f"The ZIP members {previous!r} and {name!r} overlap: a zip bomb.",
            )
    if spans and spans[-1][1] > central_directory:
        raise _zip_rejected("overlapping_entries", "A ZIP member overlaps the central directory.")


def _skip_reason(info: zipfile.ZipInfo, allowed: frozenset[str], limits: ZipLimits) -> str | None:
    base = info.filename.rsplit("/", 1)[-1]
    extension = extension_of(info.filename)
    if info.filename.startswith("__MACOSX/") or base.startswith("._"):
        return "macOS metadata, not data"
    if extension not in allowed or extension not in MEMBER_KINDS:
        shown = f"'.{extension}'" if extension else "no extension"
        return f"{shown} is not an accepted file type"
    if info.file_size > limits.max_member_bytes:
        return f"larger than the {limits.max_member_bytes:,}-byte limit for one file"
    return None


def safe_unzip(
    zip_path: Path, dest_dir: Path, limits: ZipLimits, allowed: frozenset[str]
) -> tuple[list[ExtractedMember], list[SkippedMember]]:
    """Check a ZIP completely, then extract its accepted members into `dest_dir`.

    Refuses the whole archive for anything hostile: too many entries, unsafe names, links,
    encryption, duplicates, nested archives, overlapping entries, high compression ratios, or
    headers that understate sizes (bytes are counted as they are written). Members of other
    types are skipped and listed with the reason.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise _zip_rejected("corrupt_archive", f"The ZIP cannot be read: {error}.") from None
    with archive:
        infos = archive.infolist()
        _check_entries(infos, limits)
        _check_no_overlap(zip_path, infos, archive.start_dir)
        extracted, skipped = [], []
        written_total = 0
        for index, info in enumerate(info for info in infos if not info.is_dir()):
            reason = _skip_reason(info, allowed, limits)
            if reason:
                skipped.append(SkippedMember(info.filename, reason))
                continue
            target = dest_dir / f"{index:04d}_{sanitize_filename(info.filename)}"
            size, sha256 = _extract_counted(
                archive, info, target, limits.max_total_bytes - written_total
            )
            written_total += size
            extracted.append(ExtractedMember(info.filename, target, size, sha256))
    return extracted, skipped


def _extract_counted(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int
) -> tuple[int, str]:
    """Copy and hash one member, stopping as soon as it outgrows what its header or the limit
    allow; returns its size and SHA-256."""
    allowed = min(info.file_size, budget)
    written = 0
    digest = hashlib.sha256()
    try:
        with archive.open(info) as source, target.open("xb") as sink:
            while chunk := source.read(COPY_CHUNK):
                written += len(chunk)
                if written > allowed:
                    raise _zip_rejected(
                        "zip_bomb",
                        f"The ZIP member {info.filename!r} expands beyond what "
                        "its header declares or the size limit allows.",
                    )
                digest.update(chunk)
                sink.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
        raise _zip_rejected(
            "corrupt_archive", f"The ZIP member {info.filename!r} is damaged: {error}."
        ) from None
    return written, digest.hexdigest()
