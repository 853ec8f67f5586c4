"""What every tool shares: the result shape, errors, the workspace, and running work off the loop.

A tool is a small async function decorated with `@tool`. It returns a dict of its findings, or
raises `ToolError` with a sentence saying what is wrong and what would work; the decorator turns
both into the one result shape the model sees:

    {"status": "ok", ...findings}            or
    {"status": "error", "error": code, "message": sentence}
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.errors import ToolError
from data_science.jsonsafe import to_jsonable
from data_science.llm.model_view import clean_text, for_model, summary_redactor
from data_science.ml.common import SEED
from data_science.observability.audit import audit_log
from data_science.observability.logging import get_logger, timed_operation
from data_science.observability.metrics import TOOL_CALLS, TOOL_DURATION
from data_science.runtime.jobs import Job, job_table, jobs
from data_science.runtime.threads import run_blocking
from data_science.runtime.workers import DeadlineExceeded, JobCancelled, run_with_deadline
from data_science.storage.large import for_aggregates, for_models
from data_science.storage.tables import TableFile
from data_science.storage.workspace import ITEM_ID, ItemRecord, UnknownItem, Workspace

__all__ = [
    "ToolError",
    "artifact_filename",
    "column_names",
    "derive_table",
    "error_result",
    "open_table",
    "open_with_target",
    "resolve_column",
    "run_as_job",
    "run_blocking",
    "save_model",
    "settings_for",
    "staged_file",
    "tool",
    "workspace_for",
]

log = get_logger(__name__)
P = ParamSpec("P")
TABLE_FILE = "data.parquet"
MODEL_FILE = "model.joblib"
ARTIFACT_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()\-]+")
MAX_ARTIFACT_STEM = 100
R = TypeVar("R")


def error_result(code: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": code, "message": message}


def tool(
    function: Callable[P, Awaitable[dict[str, Any]]],
) -> Callable[P, Awaitable[dict[str, Any]]]:
    """Give a tool the shared result shape, error handling, timing, metrics and audit record.

    Every call is logged and timed, counted in TOOL_CALLS (outcome "ok" or the error code) and
    TOOL_DURATION, and audited with a summary of its arguments. `functools.wraps` keeps the
    signature and docstring, which ADK reads to describe the tool to the model.
    """
    name = function.__name__
    signature = inspect.signature(function)

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        timing = timed_operation("tool", tool=name)
        outcome = "cancelled"  # unless the call returns: a cancelled task never does
        try:
            with timing:
                result = await _shown_to_model(function, *args, **kwargs)
                outcome = "ok" if result["status"] == "ok" else str(result["error"])
                if outcome != "ok":
                    timing.outcome = "error"
                    timing.fields["error"] = outcome
        finally:
            TOOL_CALLS.labels(tool=name, outcome=outcome).inc()
            TOOL_DURATION.labels(tool=name).observe(timing.seconds)
            arguments = _arguments(signature, args, kwargs)
            await run_blocking(_audit_call, name, arguments, timing.seconds, outcome)
        return result

    return wrapper


async def _result_of(
    function: Callable[P, Awaitable[dict[str, Any]]], *args: P.args, **kwargs: P.kwargs
) -> dict[str, Any]:
    """Run the tool; turn its findings or its failure into the one result shape."""
    try:
        findings = await function(*args, **kwargs)
    except ToolError as error:
        return error_result(error.code, error.message)
    except UnknownItem as error:
        return error_result("unknown_id", str(error))
    except JobCancelled:
        return error_result(
            "cancelled",
            f"{function.__name__} was cancelled before it finished; nothing was saved.",
        )
    except Exception as error:  # a bug must not crash the turn; the log keeps the trace
        log.exception("tool.failed", tool=function.__name__)
        return error_result(
            "internal_error",
            f"{function.__name__} failed unexpectedly ({type(error).__name__}). "
            "Try different arguments or another tool.",
        )
    return {"status": "ok", **to_jsonable(findings)}


async def _shown_to_model(
    function: Callable[..., Awaitable[dict[str, Any]]], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """The tool's result as the model may see it (`data_science.llm.model_view`).

    Strings are cleaned of control characters. In summary mode, placeholders in the arguments
    become the values they stand for, and the result's text values become placeholders; if the
    values cannot be collected, the result is withheld rather than shown unredacted.
    """
    context = kwargs.get("tool_context")
    workspace = workspace_for(context) if isinstance(context, ToolContext) else None
    try:
        redactor = await summary_redactor(workspace) if workspace else None
        if redactor is not None:
            kwargs = {
                key: value if key == "tool_context" else redactor.restore(value)
                for key, value in kwargs.items()
            }
        result = await _result_of(function, *args, **kwargs)
        if redactor is not None and workspace is not None:
            redactor = await summary_redactor(workspace)  # with the tables the tool made
    except Exception as error:  # summary mode fails closed: no result rather than raw values
        log.exception("tool.redaction_failed", tool=function.__name__)
        return error_result(
            "summary_mode",
            f"The values of this chat's datasets could not be collected for summary mode "
            f"({type(error).__name__}), so the result of {function.__name__} is withheld.",
        )
    shown: dict[str, Any] = for_model(result, redactor)
    return shown


def _arguments(
    signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    try:
        return dict(signature.bind_partial(*args, **kwargs).arguments)
    except TypeError:  # the call itself was malformed; audit what was passed by name
        return dict(kwargs)


def _audit_call(name: str, arguments: dict[str, Any], seconds: float, outcome: str) -> None:
    """One audit record per tool execution (AutoML runs included), before the model sees it.

    ADK always passes the `ToolContext`, which leads to the settings and the audit log; a call
    without one (only possible from Python, not from a model) is logged instead.
    """
    context = arguments.get("tool_context")
    if not isinstance(context, ToolContext):
        log.error("tool.called_without_context", tool=name, outcome=outcome)
        return
    audit_log(settings_for(context)).record(
        "tool",
        user_id=context.user_id,
        session_id=context.session.id,
        tool=name,
        arguments=summarize_arguments(arguments),
        duration_ms=round(seconds * 1000, 1),
        outcome=outcome,
    )


# Arguments whose text is a column name or one of the tool's own options, kept verbatim.
NAMED_ARGUMENTS = frozenset(
    {
        # column names
        "column", "columns", "target", "x", "y", "color_by", "group_column", "group_columns",
        "value_column", "value_columns", "time_column", "on", "right_on", "by",
        # the tools' own vocabularies (Literal options)
        "action", "agg", "estimator", "file_format", "how", "keep", "kind", "linkage", "match",
        "method", "model", "models", "operation", "part", "position", "search", "strategy",
        "test", "to",
    }
)  # fmt: skip
MAX_ARGUMENT_CHARS = 64
MAX_LISTED_ITEMS = 10


def summarize_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """What a tool was asked, for the audit trail: ids, column names, options and numbers.

    Other text and collections (a fill value, group labels, a renaming map: anything that may
    hold cell values) are reduced to their size, so the audit trail never holds the data.
    """
    return {
        key: _summarize(key, value)
        for key, value in arguments.items()
        if key != "tool_context" and value is not None
    }


def _summarize(key: str, value: Any) -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if key in NAMED_ARGUMENTS or ITEM_ID.match(value):
            return value[:MAX_ARGUMENT_CHARS]
        return {"chars": len(value)}
    if (
        isinstance(value, (list, tuple))
        and key in NAMED_ARGUMENTS
        and all(isinstance(item, str) for item in value)
    ):
        listed: list[str] = [item[:MAX_ARGUMENT_CHARS] for item in value[:MAX_LISTED_ITEMS]]
        if len(value) > MAX_LISTED_ITEMS:
            listed.append(f"... and {len(value) - MAX_LISTED_ITEMS} more")
        return listed
    if isinstance(value, (list, tuple, dict)):
        return {"items": len(value)}
    return {"type": type(value).__name__}


def settings_for(tool_context: ToolContext) -> Settings:
    """The settings of the agent that called the tool (`agent.build_agent` gives it them).

    ADK hands a tool the running invocation, its agent included, through the `ToolContext`;
    that is how the settings reach tools without being a parameter the model would see.
    """
    settings = getattr(tool_context.get_invocation_context().agent, "settings", None)
    if not isinstance(settings, Settings):
        raise TypeError("Tools run under an agent made by data_science.agent.build_agent.")
    return settings


def workspace_for(tool_context: ToolContext) -> Workspace:
    """The calling user's workspace for the current session: the only files a tool can reach."""
    return Workspace(settings_for(tool_context), tool_context.user_id, tool_context.session.id)


@asynccontextmanager
async def running_job(
    tool_context: ToolContext, tool_name: str, label: str, budget_seconds: float | None
) -> AsyncIterator[Job]:
    """The call as a job of its chat, kept in the chat's session store so every replica sees
    it (and may cancel it) while the block runs."""
    async with jobs.running(
        table=job_table(tool_context.get_invocation_context().session_service),
        replica=settings_for(tool_context).replica_id,
        user_id=tool_context.user_id,
        session_id=tool_context.session.id,
        tool=tool_name,
        label=label,
        budget_seconds=budget_seconds,
    ) as job:
        yield job


async def run_as_job(
    tool_context: ToolContext,
    tool_name: str,
    label: str,
    function: Callable[..., R],
    *args: Any,
    budget_seconds: float | None,
    deadline: float,
    overrun: str,
) -> R:
    """Run `function(*args)` in its own process as a job the person can follow and cancel.

    The chat page shows it (time spent against `budget_seconds`, if any) and may cancel it,
    which ends the tool with a "cancelled" result. Past `deadline` seconds the process is
    stopped and the tool answers `overrun`, a sentence saying what would work instead.
    """
    async with running_job(tool_context, tool_name, label, budget_seconds) as job:
        try:
            return await run_with_deadline(function, *args, deadline=deadline, cancel=job.cancel)
        except DeadlineExceeded:
            raise ToolError(overrun, "budget_exceeded") from None


@asynccontextmanager
async def staged_file(workspace: Workspace, stored_name: str) -> AsyncIterator[Path]:
    """A private path for a worker to write a new item into; removed unless adopted."""
    path = await run_blocking(workspace.staging_path, stored_name)
    try:
        yield path
    finally:
        await run_blocking(workspace.discard_staging, path)


async def open_with_target(
    tool_context: ToolContext, dataset_id: str, target: str, *, sample: bool = True
) -> tuple[Workspace, ItemRecord, TableFile, str]:
    """The caller's workspace, the dataset's record and table handle, and the real target name.

    The opening of every tool that learns a target column; a wrong name is answered with the
    dataset's columns. A large table's handle reads its seeded sample (storage/large.py) unless
    `sample` is False: the tool states it in its result with `model_sample(table)`.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    target = resolve_column(column_names(record), target, "target column")
    table = await run_blocking(workspace.table_file, dataset_id)
    if sample:
        table = await run_blocking(for_models, table, settings_for(tool_context), SEED)
    return workspace, record, table, target


async def open_table(tool_context: ToolContext, dataset_id: str) -> TableFile:
    """The dataset's table handle for a worker; a large table's is a `LargeTable`, which the
    aggregating computations query out of memory (storage/large.py)."""
    table = await run_blocking(workspace_for(tool_context).table_file, dataset_id)
    return await run_blocking(for_aggregates, table, settings_for(tool_context), SEED)


Produce = Callable[[Path], Awaitable[dict[str, Any]]]
Described = str | Callable[[dict[str, Any]], str]


async def derive_table(
    workspace: Workspace, *, parent_id: str, name: str, produce: Produce, description: Described
) -> tuple[ItemRecord, dict[str, Any]]:
    """Store a new table that a worker writes: the shared path of every data-changing tool.

    `produce(path)` runs the worker, which writes the table at `path` and returns its report
    with the table's `summary`; the table is then added to the workspace under `parent_id`.
    Returns the new record and the report (without the summary).
    """
    async with staged_file(workspace, TABLE_FILE) as path:
        report = await produce(path)
        saved = await run_blocking(
            functools.partial(
                workspace.adopt_file,
                path,
                kind="table",
                name=name,
                stored_name=TABLE_FILE,
                summary=report.pop("summary"),
                parent_id=parent_id,
                description=description(report) if callable(description) else description,
            )
        )
    return saved, report


async def save_model(
    workspace: Workspace,
    *,
    parent_id: str,
    produce: Produce,
    name: Described,
    stored_name: str = MODEL_FILE,
) -> tuple[ItemRecord, dict[str, Any]]:
    """Store a model that a worker fits and writes; its report becomes the model's details."""
    async with staged_file(workspace, stored_name) as path:
        report = await produce(path)
        saved = await run_blocking(
            functools.partial(
                workspace.adopt_file,
                path,
                kind="model",
                name=name(report) if callable(name) else name,
                stored_name=stored_name,
                parent_id=parent_id,
                details=report,
            )
        )
    return saved, report


def artifact_filename(stem: str, extension: str) -> str:
    """A download's name from untrusted text (a file or column name): letters, digits, spaces,
    dots, dashes and brackets only, so it names one artifact of this session and nothing else
    (no folders, no ADK `user:` namespace)."""
    safe = ARTIFACT_UNSAFE.sub("_", stem).strip(" ._")[:MAX_ARTIFACT_STEM] or "download"
    return f"{safe}.{extension}"


def column_names(record: ItemRecord) -> list[str]:
    return [column["name"] for column in record.columns or []]


def resolve_column(columns: list[str], name: str, role: str = "column") -> str:
    """The column called `name` (exact, or differing only in case, spaces and underscores).

    A name as the model was shown it also matches: with control characters removed, or clipped
    (ending in "…") when it is unambiguous. Raises a ToolError listing the real columns, with
    the closest match first.
    """
    if name in columns:
        return name
    folded = {_fold(column): column for column in columns}
    if _fold(name) in folded:
        return folded[_fold(name)]
    if name.endswith("…"):
        clipped = [column for column in columns if _fold(column).startswith(_fold(name[:-1]))]
        if len(clipped) == 1:
            return clipped[0]
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    suggestion = f" Did you mean '{close[0]}'?" if close else ""
    raise ToolError(
        f"The {role} '{name}' does not exist.{suggestion} Columns: {', '.join(columns)}.",
        code="unknown_column",
    )


def _fold(text: str) -> str:
    return "".join(clean_text(text).lower().split()).replace("_", "")
