"""Logging, timing and user-id hashing, used by every layer.

`configure_logging` sets structlog up once (JSON lines by default). Every line carries `time`,
`level`, `event`, `request_id`, `session_id` and `user` (the hashed user id): the HTTP middleware
and the agent-turn plugin bind them with `bind_request_context`, and structlog's context
variables carry them into every log call made while serving that request or turn, including
worker threads started with `asyncio.to_thread`. As defence in depth a processor redacts keys
that look secret (api_key, authorization, token, password, user_id, ...) and values that look
like credentials, whoever logged them.

`hash_user_id` is a keyed HMAC-SHA256: a plain hash of a guessable id could be reversed by
hashing candidates. `timed_operation` logs how long something took and whether it worked, and
feeds the `dsagent_operation_duration_seconds` histogram.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, MutableMapping
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

import structlog
from opentelemetry import trace

from data_science.config import MIN_PII_SECRET_CHARS, ConfigError, Settings
from data_science.observability.metrics import OPERATION_DURATION

P = ParamSpec("P")
R = TypeVar("R")

# Fields every log line carries (None when the line is not about a request, session or user).
CONTEXT_FIELDS = ("request_id", "session_id", "user")
USER_LABEL_CHARS = 16
REDACTED = "[redacted]"
# Libraries that give their loggers a plain-text stderr handler of their own when imported
# (LiteLLM); their records are sent through ours instead, as one JSON line each.
SELF_HANDLED_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
SECRET_KEY = re.compile(
    r"api[_-]?key|authorization|secret|password|passwd|cookie|credential"
    r"|(^|[_-])token$|^user_?id$",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"\bsk-[A-Za-z0-9_-]{16,}|\bAIza[0-9A-Za-z_-]{30,}|\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}"
)


def _add_replica(
    replica: str, _: Any, __: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    event.setdefault("replica", replica)
    return event


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
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        # Replicas write to one log pipeline: every line says which one wrote it.
        functools.partial(_add_replica, settings.replica_id),
        *([add_trace_ids] if settings.ENABLE_TRACING else []),
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
                add_context_fields,
                redact_secrets,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
    # uvicorn's access lines show raw paths, which hold user ids; the HTTP middleware writes
    # its own line per request with the route template instead.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python warnings become log lines, not raw stderr text
    for name in SELF_HANDLED_LOGGERS:
        library_logger = logging.getLogger(name)
        if not any(isinstance(f, _ToRootHandlers) for f in library_logger.filters):
            library_logger.addFilter(_ToRootHandlers())


def add_trace_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """`trace_id` and `span_id` of the span the line was written in, as OpenTelemetry writes
    them (32 and 16 hex digits), so that a log line can be joined to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


class _ToRootHandlers(logging.Filter):
    """Send a record through the root logger's handlers only, then stop it.

    A logger-level filter runs before the logger's own handlers, so this works whether the
    library attached its handler before or after `configure_logging`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        root = logging.getLogger()
        if record.levelno >= root.getEffectiveLevel():
            for handler in root.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
        return False


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


def add_context_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Give every line the context fields, so a reader can rely on their presence."""
    for name in CONTEXT_FIELDS:
        event_dict.setdefault(name, None)
    return event_dict


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Blank out values under secret-looking keys and credential-looking strings anywhere."""
    return cast(MutableMapping[str, Any], _redact(event_dict))


def _redact(value: Any) -> Any:
    if isinstance(value, MutableMapping):
        return {
            key: REDACTED if SECRET_KEY.search(str(key)) else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact(item) for item in value]
    if isinstance(value, str):
        return SECRET_VALUE.sub(REDACTED, value)
    return value


def bind_request_context(
    settings: Settings,
    *,
    request_id: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
) -> None:
    """Attach ids to every later log line of this request or turn (the user id only hashed)."""
    fields: dict[str, str] = {}
    if request_id:
        fields["request_id"] = request_id
    if user_id:
        fields["user"] = hash_user_id(user_id, settings)
    if session_id:
        fields["session_id"] = session_id
    structlog.contextvars.bind_contextvars(**fields)


def hash_user_id(user_id: str, settings: Settings) -> str:
    """A stable label for a user id in logs and audit records: HMAC-SHA256 under the PII key.

    Without the key the label cannot be linked back to an id, even a guessable one.
    """
    key = pii_key(settings)
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:USER_LABEL_CHARS]


def pii_key(settings: Settings) -> bytes:
    """PII_HASH_SECRET, or in local mode the random key kept in DATA_DIR/.pii_secret."""
    if settings.PII_HASH_SECRET is not None:
        return settings.PII_HASH_SECRET.get_secret_value().encode("utf-8")
    return _local_pii_key(settings.pii_secret_path)


@lru_cache(maxsize=8)
def _local_pii_key(path: Path) -> bytes:
    """Read the key at `path`, creating it (random, mode 0600) the first time.

    The key is written to a private temporary file and hard-linked into place, so two processes
    starting at once agree on one key and neither can read a half-written one.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            draft.unlink()
    key = path.read_text("ascii").strip()
    if len(key) < MIN_PII_SECRET_CHARS:
        raise ConfigError(
            f"The PII hashing key in {path} is damaged (shorter than {MIN_PII_SECRET_CHARS} "
            "characters). Set PII_HASH_SECRET, or delete the file to start a new key (user "
            "labels in older logs and audit records will then no longer match)."
        )
    return key.encode("ascii")


def record_operation(operation: str, seconds: float, outcome: str, **fields: Any) -> None:
    """Log one finished operation and count its duration by operation and outcome.

    `operation` and `outcome` become metric labels: both must come from a small fixed set.
    """
    OPERATION_DURATION.labels(operation=operation, outcome=outcome).observe(seconds)
    level = logging.INFO if outcome == "ok" else logging.WARNING
    get_logger("timing").log(
        level, operation, outcome=outcome, duration_ms=round(seconds * 1000, 1), **fields
    )


class TimedOperation:
    """Times a block (`with`) or every call of a function (decorator, sync or async).

    In a `with` block the caller may add log fields to `fields` and set `outcome` (default "ok",
    or "error" when the block raises); `seconds` holds the duration once the block has ended.
    """

    def __init__(self, operation: str, fields: dict[str, Any]) -> None:
        self.operation = operation
        self.fields = dict(fields)
        self.outcome: str | None = None
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> TimedOperation:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._started
        self.outcome = self.outcome or ("ok" if error_type is None else "error")
        if error_type is not None:
            self.fields.setdefault("error", error_type.__name__)
        record_operation(self.operation, self.seconds, self.outcome, **self.fields)

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_coroutine(*args: P.args, **kwargs: P.kwargs) -> Any:
                with TimedOperation(self.operation, self.fields):
                    return await function(*args, **kwargs)

            return cast(Callable[P, R], timed_coroutine)

        @functools.wraps(function)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with TimedOperation(self.operation, self.fields):
                return function(*args, **kwargs)

        return timed


def timed_operation(operation: str, **fields: Any) -> TimedOperation:
    """Log `operation` with its duration and outcome and feed OPERATION_DURATION.

    Use as `with timed_operation("upload.accept") as timing:` or as a decorator
    `@timed_operation("report.render")` on a sync or async function.
    """
    return TimedOperation(operation, fields)
