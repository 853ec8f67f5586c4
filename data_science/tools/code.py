"""Python in a sandbox, for hosted models, when no other tool fits: `run_python`.

The code runs in bubblewrap (`runtime/sandbox.py`) as a job the person can follow and cancel.
What it saves comes back as untrusted files and passes the checks an upload passes before the
workspace adopts it: a table must be real Parquet that the upload parser reads, a chart a PNG
that the image intake decodes and re-encodes; names become display text. Either everything it
saved is adopted or nothing is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.config import Settings
from data_science.intake.images import reencode_image
from data_science.intake.validators import UploadRejected, check_content_matches, display_name
from data_science.observability.logging import get_logger
from data_science.runtime.sandbox import (
    FLOOD_BYTES,
    Limits,
    Result,
    SandboxUnavailable,
    run_sandboxed_async,
    sandbox_problem,
)
from data_science.runtime.sandbox_results import Output
from data_science.runtime.workers import run_cpu
from data_science.storage.tables import TableReadError, copy_as_parquet, summarize_file
from data_science.storage.workspace import ItemRecord, Workspace
from data_science.tools.base import (
    TABLE_FILE,
    ToolError,
    artifact_filename,
    run_blocking,
    running_job,
    settings_for,
    tool,
    workspace_for,
)

log = get_logger(__name__)
MAX_CODE_CHARACTERS = 100_000
STDERR_LINES = 12
MESSAGE_STDOUT_CHARACTERS = 1_000
MAX_NAME_CHARACTERS = 120
CHILD_SETUP_FAILED = 2  # sandbox_child.SETUP_FAILED: after it started, loading the datasets


@tool
async def run_python(
    code: str, tool_context: ToolContext, dataset_ids: list[str] | None = None
) -> dict[str, Any]:
    """Run Python code in a sandbox, for what no other tool does; returns what it printed.

    Use it only when no tool fits: a custom computation, reshaping, statistic or model. The
    code runs in a fresh isolated process with pandas, numpy, scipy, statsmodels,
    scikit-learn and matplotlib, and no network, no files and no secrets of the server. It
    sees `datasets`, a dict of pandas DataFrames by dataset id (copies of this chat's tables:
    those in `dataset_ids`, or, when omitted, all of them that fit CODE_INPUT_MAX_BYTES), and
    `df` when exactly one is loaded. `print` what you need to see (the output is clipped).
    `save_dataset(frame, name)` stores a DataFrame as a new dataset, whose `dataset_id` is
    returned for the other tools; `save_chart(title)` saves the current matplotlib figure as
    a chart shown in the chat. The call is stopped after CODE_TIMEOUT_SECONDS. When the code
    fails, the error's message holds the last lines of its traceback.
    """
    settings = settings_for(tool_context)
    await _check_offered(settings)
    if not code.strip() or len(code) > MAX_CODE_CHARACTERS:
        raise ToolError(
            f"`code` must be Python source of 1 to {MAX_CODE_CHARACTERS:,} characters.",
            "invalid_code",
        )
    workspace = workspace_for(tool_context)
    chosen, left_out = await run_blocking(
        _choose_inputs, workspace, dataset_ids, settings.CODE_INPUT_MAX_BYTES
    )
    async with _scratch(workspace) as scratch:
        inputs = await _prepare_inputs(workspace, chosen, scratch)
        result = await _run_as_job(tool_context, settings, code, inputs, scratch)
        _raise_for_failure(result, settings)
        datasets, charts = await _adopt(tool_context, workspace, result.outputs, chosen, scratch)
    findings: dict[str, Any] = {
        "stdout": result.stdout.splitlines(),
        "datasets_loaded": [record.id for record in chosen],
        "datasets": datasets,
        "charts": charts,
        "seconds": round(result.seconds, 2),
    }
    if result.stdout_truncated:
        findings["stdout_truncated"] = (
            f"the output was longer than {settings.CODE_STDOUT_MAX_BYTES:,} bytes "
            "(CODE_STDOUT_MAX_BYTES) and was cut: print less"
        )
    if left_out:
        findings["datasets_left_out"] = [record.id for record in left_out]
        findings["note"] = (
            "Not every dataset fit CODE_INPUT_MAX_BYTES; the newest were loaded. Pass "
            "`dataset_ids` to choose."
        )
    return findings


async def _check_offered(settings: Settings) -> None:
    """The same conditions under which the agent offers the tool, checked again at the call."""
    if settings.SUMMARY_MODE_ONLY:
        raise ToolError(
            "Code execution is off in summary mode (SUMMARY_MODE_ONLY): code could print cell "
            "values. Use the other tools.",
            "summary_mode",
        )
    if not settings.ENABLE_CODE_EXECUTION:
        raise ToolError(
            "Code execution is switched off here (ENABLE_CODE_EXECUTION=false); use the other "
            "tools.",
            "code_execution_disabled",
        )
    if await run_blocking(sandbox_problem) is not None:
        raise ToolError(
            "Code execution is not available on this server (its sandbox cannot run here; "
            "verify_production.py tells the operator why). Use the other tools.",
            "code_execution_unavailable",
        )


def _choose_inputs(
    workspace: Workspace, dataset_ids: list[str] | None, limit: int
) -> tuple[list[ItemRecord], list[ItemRecord]]:
    """The datasets to load and those left out: the ones named (all or an error), or the
    newest of the session that fit `limit` together."""
    if dataset_ids is not None:
        chosen = [workspace.get(dataset_id, "table") for dataset_id in dict.fromkeys(dataset_ids)]
        total = sum(record.size_bytes for record in chosen)
        if total > limit:
            raise ToolError(
                f"These datasets hold {total:,} bytes, more than the {limit:,} one call may load "
                "(CODE_INPUT_MAX_BYTES). Pass fewer `dataset_ids`.",
                "inputs_too_large",
            )
        return chosen, []
    chosen, left_out, used = [], [], 0
    for record in reversed(workspace.items("table")):
        if used + record.size_bytes <= limit:
            chosen.append(record)
            used += record.size_bytes
        else:
            left_out.append(record)
    return chosen[::-1], left_out[::-1]


@contextlib.asynccontextmanager
async def _scratch(workspace: Workspace) -> AsyncIterator[Path]:
    """A private staging directory for the call's inputs and outputs; removed afterwards."""
    directory = await run_blocking(workspace.staging_dir)
    try:
        yield directory
    finally:
        await run_blocking(workspace.discard_staging, directory)


async def _prepare_inputs(
    workspace: Workspace, records: list[ItemRecord], scratch: Path
) -> dict[str, Path]:
    """Each dataset as a Parquet file: stored Parquet as it is, other formats converted."""
    inputs: dict[str, Path] = {}
    for record in records:
        if record.extension == "parquet":
            inputs[record.id] = await run_blocking(workspace.data_path, record)
            continue
        table = await run_blocking(workspace.table_file, record.id)
        target = scratch / f"{record.id}.parquet"
        await run_cpu(copy_as_parquet, table, target, lane="quick")
        inputs[record.id] = target
    return inputs


async def _run_as_job(
    tool_context: ToolContext, settings: Settings, code: str, inputs: dict[str, Path], scratch: Path
) -> Result:
    """The sandboxed run, as a job the chat page shows with its time limit and can cancel."""
    limits = Limits(
        timeout_seconds=settings.CODE_TIMEOUT_SECONDS,
        memory_bytes=settings.CODE_MEMORY_BYTES,
        output_bytes=settings.CODE_OUTPUT_MAX_BYTES,
        stdout_bytes=settings.CODE_STDOUT_MAX_BYTES,
    )
    async with running_job(
        tool_context, "run_python", "Running Python code", settings.CODE_TIMEOUT_SECONDS
    ) as job:
        try:
            return await run_sandboxed_async(code, inputs, limits, scratch, job.cancel)
        except SandboxUnavailable as error:
            log.error("sandbox.unavailable", reason=str(error))
            raise ToolError(
                "The code sandbox could not start; nothing ran. Use the other tools.",
                "sandbox_failed",
            ) from None
        except asyncio.CancelledError:  # the turn was cancelled: the sandbox must stop too
            job.cancel.set()
            raise


def _raise_for_failure(result: Result, settings: Settings) -> None:
    """A ToolError saying how the run ended, unless it ended well and its outputs are readable."""
    if result.outcome == "timeout":
        raise ToolError(
            f"The code did not finish within {settings.CODE_TIMEOUT_SECONDS} s "
            "(CODE_TIMEOUT_SECONDS) and was stopped; nothing was saved. Make it cheaper (a "
            "sample of rows, fewer iterations) or split the work into several calls.",
            "timeout",
        )
    if result.outcome == "flooded":
        raise ToolError(
            f"The code printed more than {FLOOD_BYTES // 2**20} MB and was stopped; nothing was "
            "saved. Print summaries (`df.head()`, `df.describe()`), not whole tables.",
            "output_flood",
        )
    if result.outcome == "setup_failed":
        log.error("sandbox.setup_failed", stderr=result.stderr[-2000:])
        raise ToolError(
            "The code sandbox could not start; nothing ran. Use the other tools.",
            "sandbox_failed",
        )
    if result.outcome == "failed":
        raise ToolError(_failure_message(result), "code_failed")
    if result.problem is not None:
        raise ToolError(
            f"What the code saved was refused ({result.problem}); nothing was saved.",
            "outputs_refused",
        )


def _failure_message(result: Result) -> str:
    code = result.exit_code or 0
    if code > 128:
        name = signal.Signals(code - 128).name if code - 128 in signal.valid_signals() else ""
        why = (
            f"The code was stopped by {name or f'signal {code - 128}'} (its CPU time, memory or "
            "process limit, or it killed itself)"
        )
    elif code == CHILD_SETUP_FAILED:
        why = "The datasets could not be loaded (CODE_MEMORY_BYTES may be too small for them)"
    else:
        why = "The code failed"
    lines = [line for line in result.stderr.splitlines() if line.strip()][-STDERR_LINES:]
    message = f"{why}; nothing was saved."
    if lines:
        message += " Last lines of its error output: " + " | ".join(lines)
    if result.stdout.strip():
        message += f" It printed before that: {result.stdout[:MESSAGE_STDOUT_CHARACTERS]}"
    return message


async def _adopt(
    tool_context: ToolContext,
    workspace: Workspace,
    outputs: list[Output],
    parents: list[ItemRecord],
    scratch: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Check every saved file as an upload is checked, then keep them all, or none."""
    refused = [f"{out.kind} {out.name[:60]!r}: {out.refused}" for out in outputs if out.refused]
    if refused:
        raise ToolError(
            f"What the code saved was refused ({'; '.join(refused)}); nothing was saved. Save "
            "with save_dataset and save_chart and leave their files alone.",
            "outputs_refused",
        )
    checked = [await _check_output(workspace, output, scratch) for output in outputs]
    parent_id = parents[0].id if len(parents) == 1 else None
    source = ", ".join(record.id for record in parents) or "no dataset"
    datasets, charts = [], []
    for output, (path, summary) in zip(outputs, checked, strict=True):
        name = display_name(output.name)[:MAX_NAME_CHARACTERS]
        if output.kind == "dataset":
            record = await run_blocking(
                functools.partial(
                    workspace.adopt_file,
                    path,
                    kind="table",
                    name=name,
                    stored_name=TABLE_FILE,
                    summary=summary,
                    parent_id=parent_id,
                    description=f"made by run_python from {source}",
                )
            )
            columns = [column["name"] for column in record.columns or []]
            datasets.append(
                {"dataset_id": record.id, "name": name, "rows": record.rows, "columns": columns}
            )
        else:
            filename = artifact_filename(name, "png")
            png = await run_blocking(path.read_bytes)
            version = await tool_context.save_artifact(
                filename, types.Part.from_bytes(data=png, mime_type="image/png")
            )
            charts.append({"chart": filename, "version": version, "title": name})
    return datasets, charts


async def _check_output(
    workspace: Workspace, output: Output, scratch: Path
) -> tuple[Path, dict[str, Any]]:
    """A saved file through the upload checks: the path to adopt and the table's summary."""
    if output.path is None:  # refusals were answered before
        raise ToolError("A saved file is missing.", "outputs_refused")
    settings = workspace.settings
    try:
        if output.kind == "dataset":
            await run_blocking(check_content_matches, output.path, "parquet")
            summary = await run_cpu(
                summarize_file, output.path, "parquet", settings.MAX_TABLE_COLUMNS, lane="quick"
            )
            return output.path, summary
        clean = scratch / f"clean-{output.path.name}"
        await run_cpu(
            reencode_image, output.path, clean, "png", settings.MAX_IMAGE_PIXELS, lane="quick"
        )
        return clean, {}
    except (UploadRejected, TableReadError) as error:
        # The intake's first sentence says what is wrong; its advice is for people uploading.
        message = (
            error.message.partition(". ")[0] if isinstance(error, UploadRejected) else str(error)
        )
        raise ToolError(
            f"The {output.kind} {output.name[:60]!r} the code saved was refused ({message}); "
            "nothing was saved.",
            "outputs_refused",
        ) from None
