"""Logging, timing and the audit trail, used by every layer.

`configure_logging` sets structlog up once (JSON lines by default); `timed_operation` logs how
long something took and whether it worked; `AuditLog` appends one JSON line per security-relevant
action. User ids never appear raw: `hash_user_id` gives a stable, non-reversible label.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog

from data_science.config import Settings
from data_science.jsonsafe import to_jsonable


def configure_logging(settings: Settings) -> None:
    """Route stdlib and structlog output through one renderer chosen by LOG_FORMAT."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.LOG_FORMAT == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


def hash_user_id(user_id: str) -> str:
    """A short stable label for a user id, for logs and audit records."""
    return hashlib.sha256(f"data-science-agent:{user_id}".encode()).hexdigest()[:16]


@contextmanager
def timed_operation(operation: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Log `operation` with its duration and outcome; callers may add fields to the dict."""
    log = get_logger("timing")
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        yield extra
    except BaseException as error:
        log.warning(
            operation,
            outcome="error",
            error=type(error).__name__,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            **fields,
            **extra,
        )
        raise
    log.info(
        operation,
        outcome="ok",
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        **fields,
        **extra,
    )


class AuditLog:
    """Append-only JSON-lines file of security-relevant actions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, action: str, *, user_id: str | None = None, **fields: Any) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "action": action,
            "user": hash_user_id(user_id) if user_id is not None else None,
            **to_jsonable(fields),
        }
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)


def audit_log(settings: Settings) -> AuditLog:
    """The process's one audit log for this DATA_DIR (one lock serialises its writers)."""
    return _audit_log_at(settings.DATA_DIR / "audit.jsonl")


@lru_cache(maxsize=8)
def _audit_log_at(path: Path) -> AuditLog:
    return AuditLog(path)
