"""The upload pipeline: quarantine → validate → ready.

Bytes arrive in chunks and are written to a private file in the quarantine directory, counting
as they come, so an over-size upload is stopped while it streams and never sits whole in memory.
Only a file that passes every check moves into the user's workspace; whatever happens, nothing
is left behind in quarantine. Every outcome, accepted or rejected, is written to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_science.config import Settings
from data_science.observability import AuditLog, get_logger, hash_user_id, timed_operation
from data_science.tables import TableReadError, summarize_file
from data_science.validators import (
    UploadRejected,
    check_content_matches,
    check_extension,
    check_size,
    kind_of_extension,
    sanitize_filename,
)
from data_science.workers import run_in_process
from data_science.workspace import Workspace

log = get_logger(__name__)


class QuarantineFile:
    """A file being received: written chunk by chunk, size-limited, hashed on the way in."""

    def __init__(self, directory: Path, limit: int) -> None:
        self.path = directory / f"{secrets.token_hex(16)}.part"
        self.limit = limit
        self.size = 0
        self._digest = hashlib.sha256()
        self._handle = self.path.open("xb")
        self.path.chmod(0o600)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        check_size(self.size, self.limit)
        self._digest.update(chunk)
        self._handle.write(chunk)

    def close(self) -> None:
        self._handle.close()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def discard(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class AcceptedUpload:
    file_id: str
    filename: str
    kind: str
    size_bytes: int
    sha256: str
    summary: dict[str, Any]

    def as_response(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "filename": self.filename,
            "kind": self.kind,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "summary": self.summary,
        }


class UploadPipeline:
    def __init__(self, settings: Settings, audit: AuditLog) -> None:
        self.settings = settings
        self.audit = audit

    def open_quarantine(self) -> QuarantineFile:
        return QuarantineFile(self.settings.quarantine_dir, self.settings.MAX_UPLOAD_BYTES)

    def check_name(self, original_name: str) -> str:
        """Refuse a disallowed extension before any byte is stored."""
        return check_extension(original_name, self.settings.ALLOWED_EXTENSIONS)

    def accept(
        self, received: QuarantineFile, original_name: str, user_id: str, session_id: str
    ) -> AcceptedUpload:
        """Validate a fully received quarantine file and move it to the ready area (blocking)."""
        stored_name = sanitize_filename(original_name)
        try:
            with timed_operation("upload.accept", user=hash_user_id(user_id)):
                accepted = self._validate_and_store(
                    received, original_name, stored_name, user_id, session_id
                )
        except UploadRejected as rejection:
            self.record_rejection(rejection, original_name, user_id, received.size)
            raise
        finally:
            received.discard()
        self.audit.record(
            "upload",
            user_id=user_id,
            outcome="accepted",
            original_name=original_name,
            stored_name=stored_name,
            file_id=accepted.file_id,
            size_bytes=accepted.size_bytes,
            sha256=accepted.sha256,
            sniffed_type=accepted.summary.get("content_type"),
        )
        return accepted

    def accept_bytes(
        self, data: bytes, original_name: str, user_id: str, session_id: str
    ) -> AcceptedUpload:
        """The same pipeline for bytes already in memory (a chat message's attachment)."""
        try:
            self.check_name(original_name)
            received = self.open_quarantine()
            try:
                received.write(data)
            except UploadRejected:
                received.discard()
                raise
        except UploadRejected as rejection:
            self.record_rejection(rejection, original_name, user_id, len(data))
            raise
        return self.accept(received, original_name, user_id, session_id)

    def record_rejection(
        self, rejection: UploadRejected, original_name: str, user_id: str, size: int
    ) -> None:
        log.info("upload.rejected", code=rejection.code, user=hash_user_id(user_id))
        self.audit.record(
            "upload",
            user_id=user_id,
            outcome="rejected",
            reason=rejection.code,
            original_name=original_name,
            stored_name=sanitize_filename(original_name),
            size_bytes=size,
        )

    def _validate_and_store(
        self,
        received: QuarantineFile,
        original_name: str,
        stored_name: str,
        user_id: str,
        session_id: str,
    ) -> AcceptedUpload:
        received.close()
        extension = self.check_name(original_name)
        kind = kind_of_extension(extension)
        check_size(received.size, self.settings.MAX_UPLOAD_BYTES)
        if kind != "table":
            raise UploadRejected(
                415,
                "kind_not_supported",
                f"'.{extension}' files are not processed yet; upload a table "
                "(csv, tsv, txt, json, xlsx or parquet).",
            )
        content_type = check_content_matches(received.path, extension)
        try:
            summary = run_in_process(summarize_file, received.path, extension)
        except TableReadError as error:
            raise UploadRejected(
                422, "unreadable_file", f"The file could not be read: {error}."
            ) from None
        summary["content_type"] = content_type
        workspace = Workspace(self.settings, user_id, session_id)
        record = workspace.adopt_file(
            received.path,
            kind="table",
            name=original_name,
            stored_name=stored_name,
            sha256=received.sha256,
            summary=summary,
        )
        return AcceptedUpload(
            file_id=record.id,
            filename=original_name,
            kind=record.kind,
            size_bytes=record.size_bytes,
            sha256=record.sha256 or received.sha256,
            summary=summary,
        )
