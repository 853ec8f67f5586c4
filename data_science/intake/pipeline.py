"""The upload pipeline: quarantine → validate → ready.

Bytes arrive in chunks and are written to a private file in the quarantine directory, counting
as they come, so an over-size upload is stopped while it streams and never sits whole in memory.
Only a file that passes every check moves into the user's workspace; whatever happens, nothing
is left behind in quarantine. Every outcome, accepted or rejected, is written to the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from data_science.config import Settings
from data_science.intake.images import reencode_image, thumbnail_name
from data_science.intake.validators import (
    SkippedMember,
    UploadRejected,
    ZipLimits,
    check_content_matches,
    check_extension,
    check_size,
    display_name,
    extension_of,
    kind_of_extension,
    safe_unzip,
    sanitize_filename,
    sniff_mime,
)
from data_science.observability.audit import AuditTrail
from data_science.observability.logging import get_logger, timed_operation
from data_science.observability.metrics import UPLOAD_BYTES, UPLOADS
from data_science.runtime.threads import run_blocking
from data_science.runtime.workers import run_in_process
from data_science.storage.tables import TEXT_TABLE_EXTENSIONS, TableReadError, summarize_file
from data_science.storage.workspace import (
    ItemRecord,
    Workspace,
    new_item_id,
    remove_path,
    sha256_of,
)

log = get_logger(__name__)
INTERRUPTED_BY_RESTART = "interrupted by a restart"
# Received bytes are hashed and written in blocks of this size, off the event loop.
SPILL_BYTES = 1 << 20


class QuarantineFile:
    """A file being received: size-limited as it comes, hashed and written in blocks.

    `write` only counts and buffers. From the event loop, `spill` hands each full block to a
    thread that hashes and writes it while the next bytes arrive (one block in flight, so memory
    stays at two blocks whatever the size), and `finish` stores the rest; from a thread,
    `close` stores the rest itself.
    """

    def __init__(self, directory: Path, limit: int) -> None:
        self.path = directory / f"{secrets.token_hex(16)}.part"
        self.limit = limit
        self.size = 0
        self._digest = hashlib.sha256()
        self._handle = self.path.open("xb")
        self.path.chmod(0o600)
        self._pending = bytearray()
        self._in_flight: asyncio.Future[None] | None = None
        # Held while a block is hashed and written, so `discard` never closes the file under it.
        self._storing = threading.Lock()

    def write(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        check_size(self.size, self.limit)
        self._pending += chunk

    async def spill(self) -> None:
        """Hand a full block to a thread, once the one before it is stored (never blocks)."""
        if len(self._pending) < SPILL_BYTES:
            return
        if self._in_flight is not None:
            await self._in_flight
        block, self._pending = self._pending, bytearray()
        self._in_flight = asyncio.ensure_future(run_blocking(self._store, block))

    async def finish(self) -> None:
        """Store every byte received (after the last `write`)."""
        if self._in_flight is not None:
            await self._in_flight
            self._in_flight = None
        await run_blocking(self.close)

    def close(self) -> None:
        """Store what is buffered and close the file (blocking; after `finish`, only closes)."""
        block, self._pending = self._pending, bytearray()
        self._store(block)
        with self._storing:
            self._handle.close()

    def _store(self, block: bytearray) -> None:
        with self._storing:
            if block and not self._handle.closed:  # closed: discarded while this waited
                self._digest.update(block)
                self._handle.write(block)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def discard(self) -> None:
        # Waits for a block being stored (one block's hash and write at most), then closes: the
        # thread storing the next one, if any, finds the file closed and stores nothing.
        with self._storing:
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
    """Checks received files and stores what passes (for `/api/uploads` and chat attachments)."""

    def __init__(self, settings: Settings, audit: AuditTrail) -> None:
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
        name = display_name(original_name)
        workspace = Workspace(self.settings, user_id, session_id)
        try:
            with timed_operation("upload.accept") as timing:
                received.close()
                try:
                    accepted = self._store_upload(workspace, received, name)
                except UploadRejected as rejection:
                    timing.outcome = "rejected"
                    timing.fields["reason"] = rejection.code
                    raise
        except UploadRejected as rejection:
            sniffed = sniff_mime(received.path) if received.path.exists() else None
            self.record_rejection(rejection, name, user_id, received.size, received.sha256, sniffed)
            raise
        finally:
            received.discard()
        self.audit.record(
            "upload",
            user_id=user_id,
            outcome="accepted",
            original_name=name,
            stored_name=sanitize_filename(name),
            file_id=accepted.file_id,
            kind=accepted.kind,
            size_bytes=accepted.size_bytes,
            sha256=accepted.sha256,
            sniffed_type=accepted.summary.get("content_type"),
        )
        UPLOADS.labels(outcome="accepted", reason="none").inc()
        UPLOAD_BYTES.labels(outcome="accepted").inc(accepted.size_bytes)
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
            self.record_rejection(rejection, display_name(original_name), user_id, len(data))
            raise
        return self.accept(received, original_name, user_id, session_id)

    def record_rejection(
        self,
        rejection: UploadRejected,
        name: str,
        user_id: str,
        size: int,
        sha256: str | None = None,
        sniffed_type: str | None = None,
        *,
        received: bool = True,
    ) -> None:
        """Audit, log and count a refused upload; `received` is False when its bytes never came."""
        log.info("upload.rejected", code=rejection.code)
        UPLOADS.labels(outcome="rejected", reason=rejection.code).inc()
        if received:
            UPLOAD_BYTES.labels(outcome="rejected").inc(size)
        self.audit.record(
            "upload",
            user_id=user_id,
            outcome="rejected",
            reason=rejection.code,
            original_name=name,
            stored_name=sanitize_filename(name),
            size_bytes=size,
            sha256=sha256,
            sniffed_type=sniffed_type,
        )

    def sweep_interrupted(self) -> int:
        """Audit and remove every upload left in quarantine; returns how many (blocking).

        Only for start-up, when no upload is running: whatever is in quarantine then was being
        received or checked when the previous run of the server died. Its user and name were
        never written down, so the record says what the bytes tell: how many arrived, their
        hash and sniffed type, and when the last of them was written.
        """
        interrupted = 0
        for path in sorted(self.settings.quarantine_dir.glob("*")):
            if path.is_file() and not path.is_symlink():
                self._record_interrupted(path)
                interrupted += 1
            remove_path(path)
        return interrupted

    def _record_interrupted(self, path: Path) -> None:
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        log.warning("upload.interrupted", quarantine_file=path.name)
        self.audit.record(
            "upload",
            user_id=None,
            outcome="aborted",
            reason=INTERRUPTED_BY_RESTART,
            quarantine_file=path.name,
            size_bytes=path.stat().st_size,
            sha256=sha256_of(path),
            sniffed_type=sniff_mime(path),
            last_written=written.isoformat(),
        )

    # Checks and storage --------------------------------------------------------------------
    def _store_upload(
        self, workspace: Workspace, received: QuarantineFile, name: str
    ) -> AcceptedUpload:
        extension = self.check_name(name)
        check_size(received.size, self.settings.MAX_UPLOAD_BYTES)
        content_type = check_content_matches(received.path, extension)
        # The bytes were hashed as they streamed in: the stored item keeps that hash, so the file
        # is not read again to take it.
        if kind_of_extension(extension) == "archive":
            record, summary = self._store_archive(workspace, received.path, name, received.sha256)
        else:
            record, summary = self._store_file(
                workspace, received.path, name, extension, sha256=received.sha256
            )
        summary["content_type"] = content_type
        return AcceptedUpload(
            file_id=record.id,
            filename=name,
            kind=record.kind,
            size_bytes=received.size,
            sha256=received.sha256,
            summary=summary,
        )

    def _store_file(
        self,
        workspace: Workspace,
        path: Path,
        name: str,
        extension: str,
        parent_id: str | None = None,
        sha256: str | None = None,
    ) -> tuple[ItemRecord, dict[str, Any]]:
        """Store one checked table or image; the summary says what it holds.

        A text table with more than LARGE_TABLE_ROWS rows is stored as Parquet (written by the
        worker that summarises it); its record keeps the uploaded file's name. `sha256` is the
        uploaded file's hash when known (else the workspace takes it).
        """
        stored_name = sanitize_filename(name)
        if kind_of_extension(extension) == "image":
            return self._store_image(workspace, path, name, extension, parent_id, sha256)
        target = self._parquet_target(workspace, path, stored_name, extension)
        try:
            try:
                summary = run_in_process(
                    summarize_file,
                    path,
                    extension,
                    self.settings.MAX_TABLE_COLUMNS,
                    self.settings.LARGE_TABLE_ROWS,
                    target,
                    lane="quick",
                )
            except TableReadError as error:
                raise UploadRejected(
                    422, "unreadable_file", f"The file could not be read: {error}."
                ) from None
            if target is not None and summary.get("stored_as") == "parquet":
                # The stored bytes are the Parquet file's: the workspace hashes them itself.
                path, stored_name, sha256 = target, target.name, None
            record = workspace.adopt_file(
                path,
                kind="table",
                name=name,
                stored_name=stored_name,
                sha256=sha256,
                summary=summary,
                parent_id=parent_id,
            )
        finally:
            if target is not None:
                workspace.discard_staging(target)
        return record, dict(summary)

    def _parquet_target(
        self, workspace: Workspace, path: Path, stored_name: str, extension: str
    ) -> Path | None:
        """Where the worker writes a large text table as Parquet; None for a file too small to
        have more than LARGE_TABLE_ROWS rows (every row takes at least two bytes)."""
        if extension not in TEXT_TABLE_EXTENSIONS:
            return None
        if path.stat().st_size < 2 * self.settings.LARGE_TABLE_ROWS:
            return None
        return workspace.staging_path(f"{Path(stored_name).stem}.parquet")

    def _store_image(
        self,
        workspace: Workspace,
        path: Path,
        name: str,
        extension: str,
        parent_id: str | None,
        sha256: str | None,
    ) -> tuple[ItemRecord, dict[str, Any]]:
        if not self.settings.ALLOW_IMAGE_THUMBNAILS:
            raise UploadRejected(
                415,
                "images_disabled",
                "Images are not accepted here (ALLOW_IMAGE_THUMBNAILS is off); upload a table.",
            )
        stored_name = sanitize_filename(name)
        target = workspace.staging_path(thumbnail_name(stored_name, extension))
        try:
            info = run_in_process(
                reencode_image,
                path,
                target,
                extension,
                self.settings.MAX_IMAGE_PIXELS,
                lane="quick",
            )
            record = workspace.adopt_file(
                target,
                kind="image",
                name=name,
                stored_name=target.name,
                details=info,
                parent_id=parent_id,
            )
        finally:
            workspace.discard_staging(target)
        if not self.settings.STRIP_EXIF:
            workspace.adopt_file(
                path,
                kind="image",
                name=f"{name} (original, with metadata)",
                stored_name=stored_name,
                sha256=sha256,
                parent_id=record.id,
            )
        return record, dict(info)

    def _store_archive(
        self, workspace: Workspace, path: Path, name: str, sha256: str
    ) -> tuple[ItemRecord, dict[str, Any]]:
        """Extract a checked ZIP; store each member that passes the same checks as an upload."""
        if not self.settings.ENABLE_SAFE_UNZIP:
            raise UploadRejected(
                415,
                "zip_disabled",
                "ZIP archives are not accepted here (ENABLE_SAFE_UNZIP is off); upload the "
                "files inside it one by one.",
            )
        archive_id = new_item_id("archive")
        extraction = workspace.staging_dir()
        stored: list[ItemRecord] = []
        try:
            extracted, skipped = run_in_process(
                safe_unzip,
                path,
                extraction,
                self._zip_limits(),
                self.settings.ALLOWED_EXTENSIONS,
                lane="quick",
            )
            members = []
            for member in extracted:
                try:
                    extension = extension_of(member.name)
                    check_content_matches(member.path, extension)
                    record, summary = self._store_file(
                        workspace,
                        member.path,
                        display_name(member.name),
                        extension,
                        archive_id,
                        member.sha256,
                    )
                except UploadRejected as rejection:
                    skipped.append(SkippedMember(member.name, rejection.message))
                    continue
                stored.append(record)
                members.append(
                    {"file_id": record.id, "filename": record.name, "kind": record.kind, **summary}
                )
            listing = [{"name": item.name, "reason": item.reason} for item in skipped]
            if not members:
                reasons = "; ".join(f"{item['name']}: {item['reason']}" for item in listing)
                raise UploadRejected(
                    422, "empty_archive", f"The ZIP holds no usable file ({reasons or 'empty'})."
                )
            summary = {"extracted": members, "skipped": listing}
            record = workspace.adopt_file(
                path,
                kind="archive",
                name=name,
                stored_name=sanitize_filename(name),
                sha256=sha256,
                details=summary,
                item_id=archive_id,
            )
        except BaseException:
            for member_record in stored:
                workspace.delete(member_record.id)
            raise
        finally:
            workspace.discard_staging(extraction)
        return record, summary

    def _zip_limits(self) -> ZipLimits:
        return ZipLimits(
            max_entries=self.settings.MAX_ZIP_ENTRIES,
            max_total_bytes=self.settings.MAX_ZIP_UNCOMPRESSED_BYTES,
            max_ratio=self.settings.MAX_ZIP_COMPRESSION_RATIO,
            max_member_bytes=self.settings.MAX_UPLOAD_BYTES,
        )
