"""What every tool shares: the result shape, errors, the workspace, and running work off the loop.

A tool is a small async function decorated with `@tool`. It returns a dict of its findings, or
raises `ToolError` with a sentence saying what is wrong and what would work; the decorator turns
both into the one result shape the model sees:

    {"status": "ok", ...findings}            or
    {"status": "error", "error": code, "message": sentence}
"""

from __future__ import annotations

import asyncio
import difflib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from google.adk.tools.tool_context import ToolContext

from data_science.config import get_settings
from data_science.errors import ToolError
from data_science.jobs import Job, jobs
from data_science.jsonsafe import to_jsonable
from data_science.observability import get_logger, hash_user_id, timed_operation
from data_science.tables import TableFile
from data_science.workers import JobCancelled
from data_science.workspace import ItemRecord, UnknownItem, Workspace

__all__ = [
    "ToolError",
    "column_names",
    "derive_table",
    "error_result",
    "long_job",
    "open_with_target",
    "resolve_column",
    "run_blocking",
    "save_model",
    "staged_file",
    "tool",
    "workspace_for",
]

log = get_logger(__name__)
P = ParamSpec("P")
TABLE_FILE = "data.parquet"
MODEL_FILE = "model.joblib"
R = TypeVar("R")


def error_result(code: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": code, "message": message}


def tool(
    function: Callable[P, Awaitable[dict[str, Any]]],
) -> Callable[P, Awaitable[dict[str, Any]]]:
    """Give a tool the shared result shape, error handling and timing.

    `functools.wraps` keeps the signature and docstring, which ADK reads to describe the tool
    to the model.
    """

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        context = kwargs.get("tool_context")
        user = hash_user_id(context.user_id) if isinstance(context, ToolContext) else None
        try:
            with timed_operation("tool", tool=function.__name__, user=user):
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

    return wrapper


def workspace_for(tool_context: ToolContext) -> Workspace:
    """The calling user's workspace for the current session: the only files a tool can reach."""
    return Workspace(get_settings(), tool_context.user_id, tool_context.session.id)


@contextmanager
def long_job(
    tool_context: ToolContext, tool_name: str, label: str, budget_seconds: float | None
) -> Iterator[Job]:
    """Show a long call on the chat page's progress bar and let the person cancel it.

    Pass `job.cancel` to `run_with_deadline`; a cancelled job ends the tool with a
    "cancelled" result.
    """
    with jobs.running(
        user_id=tool_context.user_id,
        session_id=tool_context.session.id,
        tool=tool_name,
        label=label,
        budget_seconds=budget_seconds,
    ) as job:
        yield job


@asynccontextmanager
async def staged_file(workspace: Workspace, stored_name: str) -> AsyncIterator[Path]:
    """A private path for a worker to write a new item into; removed unless adopted."""
    path = await run_blocking(workspace.staging_path, stored_name)
    try:
        yield path
    finally:
        await run_blocking(workspace.discard_staging, path)


async def open_with_target(
    tool_context: ToolContext, dataset_id: str, target: str
) -> tuple[Workspace, ItemRecord, TableFile, str]:
    """The caller's workspace, the dataset's record and table handle, and the real target name.

    The opening of every tool that learns a target column; a wrong name is answered with the
    dataset's columns.
    """
    workspace = workspace_for(tool_context)
    record = await run_blocking(workspace.get, dataset_id, "table")
    target = resolve_column(column_names(record), target, "target column")
    table = await run_blocking(workspace.table_file, dataset_id)
    return workspace, record, table, target


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


async def run_blocking(function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run CPU- or disk-heavy work in a worker thread so the event loop stays responsive."""
    return await asyncio.to_thread(function, *args, **kwargs)


def column_names(record: ItemRecord) -> list[str]:
    return [column["name"] for column in record.columns or []]


def resolve_column(columns: list[str], name: str, role: str = "column") -> str:
    """The column called `name` (exact, or differing only in case, spaces and underscores).

    Raises a ToolError listing the real columns, with the closest match first.
    """
    if name in columns:
        return name
    folded = {_fold(column): column for column in columns}
    if _fold(name) in folded:
        return folded[_fold(name)]
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    suggestion = f" Did you mean '{close[0]}'?" if close else ""
    raise ToolError(
        f"The {role} '{name}' does not exist.{suggestion} Columns: {', '.join(columns)}.",
        code="unknown_column",
    )


def _fold(text: str) -> str:
    return "".join(text.lower().split()).replace("_", "")
