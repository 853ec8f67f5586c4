"""The audit trail: an append-only, hash-chained JSON-lines file of security-relevant actions.

Each record carries `prev`, the `hash` of the record before it ("0" * 64 for the first), and its
own `hash`, the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8) without `hash`.
Editing, inserting, reordering or deleting a record breaks the chain at that line, which
`verify_chain` (and `verify_audit.py`) report. Cutting records off the end leaves a valid,
shorter chain: compare the last hash with one kept elsewhere to notice that.

Appends are serialised by a lock in the process and an exclusive `flock` on the file across
processes, and every append reads the current last line, so a restarted process (or a second
one) continues the same chain.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from data_science.config import Settings
from data_science.jsonsafe import to_jsonable
from data_science.observability.logging import hash_user_id

GENESIS = "0" * 64
RESERVED_FIELDS = frozenset({"time", "action", "user", "prev", "hash"})
TAIL_BLOCK = 64 * 1024


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON, leaving out its own `hash` field."""
    body = {key: value for key, value in record.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_link(line: bytes) -> str:
    """What the next record's `prev` must be: this line's `hash`.

    A line without a readable hash (damaged, or from before the chain) is linked by the SHA-256
    of its bytes, so appending still works; verification reports that line.
    """
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict) and isinstance(record.get("hash"), str):
        return str(record["hash"])
    return hashlib.sha256(line).hexdigest()


def new_entry(
    settings: Settings, action: str, user_id: str | None, fields: dict[str, Any]
) -> dict[str, Any]:
    """A record before it is chained: the fields, time, action and hashed user."""
    clashing = RESERVED_FIELDS & fields.keys()
    if clashing:
        raise ValueError(f"Audit fields {sorted(clashing)} are set by the audit log itself.")
    return {
        **to_jsonable(fields),
        "time": datetime.now(UTC).isoformat(),
        "action": action,
        "user": hash_user_id(user_id, settings) if user_id is not None else None,
    }


class AuditLog:
    """Appends hash-chained records to one JSON-lines file."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.settings = settings
        self._lock = threading.Lock()

    def record(self, action: str, *, user_id: str | None = None, **fields: Any) -> None:
        """Append one record: time, action, hashed user, the given fields, prev and hash."""
        entry = new_entry(self.settings, action, user_id, fields)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(descriptor, "r+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                last, ends_with_newline = _last_line(handle)
                entry["prev"] = chain_link(last) if last else GENESIS
                entry["hash"] = record_hash(entry)
                line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
                # A torn final line (a crash mid-write) must not swallow this record.
                prefix = b"" if ends_with_newline or not last else b"\n"
                handle.write(prefix + line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())


def _last_line(handle: BinaryIO) -> tuple[bytes, bool]:
    """The file's last non-empty line and whether the file ends with a newline."""
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return b"", True
    tail = b""
    position = end
    while position > 0:
        position = max(0, position - TAIL_BLOCK)
        handle.seek(position)
        tail = handle.read(end - position)
        if tail.rstrip(b"\n").count(b"\n") >= 1:
            break
    stripped = tail.rstrip(b"\n")
    return stripped.rpartition(b"\n")[2], tail.endswith(b"\n")


class AuditTrail(Protocol):
    """Where audit records go: the file above, or the deployment's table (audit_db.py)."""

    def record(self, action: str, *, user_id: str | None = None, **fields: Any) -> None: ...


_logs: dict[Path | str, AuditTrail] = {}
_logs_lock = threading.Lock()


def audit_log(settings: Settings) -> AuditTrail:
    """The process's one audit trail: with replicas (a PostgreSQL session store) the
    deployment's chain in that database, else the file at AUDIT_LOG_PATH (one lock serialises
    its writers)."""
    from data_science.observability.audit_db import DatabaseAuditLog

    key: Path | str = settings.session_db_uri if settings.replicated else settings.audit_log_path
    with _logs_lock:
        if key not in _logs:
            _logs[key] = (
                DatabaseAuditLog(settings)
                if settings.replicated
                else AuditLog(settings.audit_log_path, settings)
            )
        return _logs[key]


@dataclass(frozen=True)
class ChainReport:
    """What verifying an audit file found: how many records held, and the first break."""

    path: Path | str  # the file, or the database table's name
    records: int
    last_hash: str
    broken_line: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_line is None


def verify_chain(path: Path) -> ChainReport:
    """Check every record's hash and link, in order; stop at the first break."""
    expected_prev = GENESIS
    records = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            problem, record_hash_value = _check_line(raw, number, expected_prev)
            if problem is not None:
                return ChainReport(path, records, expected_prev, number, problem)
            expected_prev = record_hash_value
            records += 1
    return ChainReport(path, records, expected_prev)


def _check_line(raw: bytes, number: int, expected_prev: str) -> tuple[str | None, str]:
    """(what is wrong with this line or None, its hash)."""
    if not raw.endswith(b"\n"):
        return "the line is incomplete (no newline at its end)", ""
    try:
        record = json.loads(raw)
    except ValueError as error:
        return f"the line is not valid JSON ({error})", ""
    if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
        return "the line is not an audit record (no `hash` field)", ""
    if record.get("prev") != expected_prev:
        expected = f"the hash of line {number - 1}" if number > 1 else "64 zeros (a chain start)"
        return (
            f"its `prev` is not {expected}: a record before it was deleted, inserted or moved",
            "",
        )
    if record_hash(record) != record["hash"]:
        return "its content does not match its `hash`: the record was edited", ""
    return None, str(record["hash"])
