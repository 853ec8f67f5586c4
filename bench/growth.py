"""Growth: time and the whole app's peak memory as a table grows, step by step.

Issue #17: for 10k, 100k, 1M and 10M rows, and a CSV of about 1 GB, upload, profile, group-by,
histogram and default train, so a reader sees how cost grows with size and where it stops; for
the 1 GB file the whole app's peak memory is compared with 3x the file's size. The app is
`main.py` in its own process with MAX_UPLOAD_BYTES raised to UPLOAD_LIMIT; each step after the
HTTP upload is one chat turn on the offline model. Memory is that of the server and every
process under it (workers, job processes, sandboxes), the peak during the step: the resident
sum sampled every 50 ms (psutil) and the proportional sum (shared pages once) each second.
The CSVs are written in chunks, so the bench never holds a table whole either. A failing step
is reported (the step, the error) and the size goes on with its next step; a timeout, a dead
server or a failed upload ends that size.
Run: `uv run python bench/growth.py [--rows 10000 ...] [--gigabytes 1]` (writes
bench/results/growth.md).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import (
    BenchServer,
    PeakMemory,
    chat,
    markdown_table,
    met,
    new_session,
    running_app,
    upload,
    write_result,
)

T = TypeVar("T")
UPLOAD_LIMIT = 4_000_000_000
SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
GIGABYTES = 1.0
PEAK_TARGET = 3  # the 1 GB file: whole-app peak at most this many times the file's size
STEP_SECONDS = 3600.0
CHUNK_ROWS = 250_000
REPLY_LINES = 12
# The five steps' questions as a user would ask them, and the tool each one must call.
STEPS = {
    "profile": ("what is in this file", "analyze_dataset"),
    "group-by": ("average amount by city", "group_by"),
    "histogram": ("histogram of amount", "plot"),
    "train": ("train a model to predict amount", "train"),
}
CITIES = np.array(["Paris", "Lyon", "Oslo", "Lima", "Kyiv"])
SCHEMA = pa.schema(
    [*((f"f{i}", pa.float64()) for i in range(4)), ("city", pa.string()), ("amount", pa.float64())]
)


@dataclass
class Size:
    """One table of the run: a row count, or a target file size (the 1 GB row)."""

    label: str
    rows: int | None = None
    target_bytes: int | None = None


@dataclass
class Step:
    name: str
    seconds: float | None = None
    peak: int | None = None
    peak_proportional: int | None = None
    ok: bool = True
    result: str = "ok"
    sampling: str = ""


@dataclass
class Outcome:
    """One size's figures: the file, the app's idle memory before the upload, its steps."""

    size: Size
    file_bytes: int = 0
    rows: int = 0
    idle: int = 0
    idle_proportional: int = 0
    steps: list[Step] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)


def write_csv(path: Path, rows: int | None = None, target_bytes: int | None = None) -> int:
    """Write the bench table in chunks of CHUNK_ROWS (never whole in memory): `rows` rows, or
    whole chunks until the file reaches `target_bytes`. Returns the rows written."""
    rng = np.random.default_rng(11)
    written = 0
    # Plain CSV as most files are: Arrow would quote the header and every text value.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("wb") as handle:
        handle.write((",".join(SCHEMA.names) + "\n").encode())
        with pa_csv.CSVWriter(handle, SCHEMA, write_options=options) as writer:
            while (rows is None or written < rows) and (
                target_bytes is None or handle.tell() < target_bytes
            ):
                count = CHUNK_ROWS if rows is None else min(CHUNK_ROWS, rows - written)
                writer.write_table(_chunk(rng, count))
                written += count
    return written


def _chunk(rng: np.random.Generator, rows: int) -> pa.Table:
    features = rng.normal(size=(rows, 4)).round(5)
    columns = {f"f{i}": features[:, i] for i in range(4)}
    columns["city"] = rng.choice(CITIES, rows)
    columns["amount"] = (features @ [2.0, -1.0, 0.5, 0.1] + rng.normal(size=rows)).round(4)
    return pa.table(columns, schema=SCHEMA)


def measured(memory: PeakMemory, name: str, action: Callable[[], T]) -> tuple[Step, T]:
    """Run one step, timing it and keeping the whole app's peak memory while it runs."""
    memory.reset()
    started = time.perf_counter()
    try:
        value = action()
    finally:
        step = Step(name, time.perf_counter() - started)
        step.peak = max(memory.peak_bytes, memory.now())
        step.peak_proportional = max(memory.peak_proportional, memory.proportional())
    return step, value


def sampling_note(result: dict[str, Any], reply: str) -> str:
    """What the step says about sampling: the tool result's "sample" and the reply's sentence
    about it, quoted (a result computed on a sample whose reply does not say so is flagged)."""
    sentences = [
        sentence.strip()
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", reply)
        if re.search(r"\bsampl", sentence, re.IGNORECASE)
        and not re.search(r"sample (standard deviation|variance)", sentence, re.IGNORECASE)
    ]
    quoted = " ".join(f'"{sentence}"' for sentence in sentences)
    sample = _sample(result)
    if sample is not None:
        stated = f"result: {_count(sample.get('rows'))} of {_count(sample.get('of'))} rows"
        return f"{stated}; reply: {quoted}" if quoted else f"{stated}; NOT stated in the reply"
    return f"reply: {quoted}" if quoted else ""


def _sample(value: object) -> dict[str, Any] | None:
    """The first `"sample": {"rows": n, "of": total}` anywhere in a tool result (the contract
    puts it at the top; a tool may nest it in a part of its result)."""
    if isinstance(value, dict):
        found = value.get("sample")
        if isinstance(found, dict) and {"rows", "of"} <= found.keys():
            return found
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            if (found := _sample(item)) is not None:
                return found
    return None


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else repr(value)


def ask(http: httpx.Client, session: str, memory: PeakMemory, name: str) -> tuple[Step, str]:
    """One chat step; its tool's status becomes the result (an error says which and why)."""
    text, tool = STEPS[name]
    step, answer = measured(memory, name, lambda: chat(http, session, text))
    result = answer.results.get(tool)
    if result is None:
        called = ", ".join(answer.results) or "none"
        said = next(iter(answer.reply.strip().splitlines()), "")
        step.ok, step.result = False, f"no {tool} call (tools called: {called}); reply: {said}"
    elif result.get("status") != "ok":
        step.ok = False
        step.result = f"{result.get('status')}: {result.get('error')}: {result.get('message')}"
    step.sampling = sampling_note(result or {}, answer.reply)
    return step, answer.reply


def upload_step(http: httpx.Client, session: str, memory: PeakMemory, csv: Path) -> Step:
    """The HTTP upload; its result says when the app stored the table as Parquet."""
    step, response = measured(memory, "upload", lambda: upload(http, session, csv))
    if "parquet" in json.dumps(response).lower():
        step.result = "ok, stored as Parquet"
    return step


def failed_step(name: str, started: float, memory: PeakMemory, result: str) -> Step:
    """A step that raised: how long it ran and the peak until then (the sampler's, since the
    step reset it), beside the error."""
    return Step(
        name,
        time.perf_counter() - started,
        max(memory.peak_bytes, memory.now()),
        memory.peak_proportional,
        ok=False,
        result=result,
    )


def run_steps(server: BenchServer, outcome: Outcome, csv: Path, timeout: float) -> None:
    """Upload, then the four chat steps, into `outcome`; stops early only when the app can
    no longer take the next step (failed upload, timeout, dead server)."""
    with httpx.Client(base_url=server.url, timeout=timeout) as http:
        session = new_session(http)
        with PeakMemory(server.pid) as memory:
            outcome.idle = memory.now()
            outcome.idle_proportional = memory.proportional()
            for name in ["upload", *STEPS]:
                started = time.perf_counter()
                try:
                    if name == "upload":
                        step = upload_step(http, session, memory, csv)
                    else:
                        step, outcome.replies[name] = ask(http, session, memory, name)
                except httpx.TimeoutException:
                    failed = f"timed out after {timeout:.0f} s"
                    outcome.steps.append(failed_step(name, started, memory, failed))
                    return
                except (httpx.HTTPError, RuntimeError) as error:
                    failed = f"failed: {error}"
                    outcome.steps.append(failed_step(name, started, memory, failed))
                    if name == "upload" or not server.running():
                        return
                    continue
                outcome.steps.append(step)


def one_size(size: Size, folder: Path, timeout: float) -> Outcome:
    outcome = Outcome(size)
    csv = folder / f"table_{size.label.replace(' ', '')}.csv"
    try:
        outcome.rows = write_csv(csv, size.rows, size.target_bytes)
        outcome.file_bytes = csv.stat().st_size
        env = {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}
        with running_app(folder / f"data_{csv.stem}", env) as server:
            run_steps(server, outcome, csv, timeout)
    except (OSError, RuntimeError, httpx.HTTPError) as error:
        outcome.steps.append(Step("start", ok=False, result=f"failed: {error}"))
    finally:
        csv.unlink(missing_ok=True)
    return outcome


def table_rows(outcomes: list[Outcome]) -> list[list[str]]:
    lines = []
    for outcome in outcomes:
        for step in outcome.steps:
            lines.append(
                [
                    f"{outcome.rows:,}"
                    + (f" ({outcome.size.label})" if outcome.size.target_bytes else ""),
                    f"{outcome.file_bytes / 1e6:,.1f} MB",
                    step.name,
                    "" if step.seconds is None else f"{step.seconds:,.1f} s",
                    _gigabytes(step.peak),
                    "" if step.peak is None else f"{(step.peak - outcome.idle) / 1e9:+.2f} GB",
                    _gigabytes(step.peak_proportional),
                    _cell(step.result),
                    _cell(step.sampling),
                ]
            )
    return lines


def _gigabytes(figure: int | None) -> str:
    return "" if figure is None else f"{figure / 1e9:.2f} GB"


def _cell(text: str, limit: int = 300) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def file_target_rows(outcome: Outcome) -> list[list[str]]:
    """The 1 GB file against issue #17's target: every step done, peak within 3x the file."""
    done = [step for step in outcome.steps if step.ok]
    goal = PEAK_TARGET * outcome.file_bytes
    failed = [step.name for step in outcome.steps if not step.ok]
    target = f"{PEAK_TARGET} x {outcome.file_bytes / 1e9:.2f} GB = {goal / 1e9:.2f} GB"
    lines = [
        [
            "steps done",
            f"{len(done)} of {len(STEPS) + 1}",
            f"{len(STEPS) + 1}",
            "yes" if len(done) == len(STEPS) + 1 else f"no ({', '.join(failed) or 'not run'})",
        ]
    ]
    for measure, peaks in (
        ("whole-app peak, resident sum (an upper bound)", [s.peak for s in outcome.steps]),
        ("whole-app peak, proportional sum", [s.peak_proportional for s in outcome.steps]),
    ):
        peak = max((figure or 0 for figure in peaks), default=0)
        lines.append([measure, f"{peak / 1e9:.2f} GB", target, met(peak, goal) if done else "no"])
    return lines


def idle_section(outcomes: list[Outcome]) -> str:
    """The app's memory before each upload, summed resident and proportional: how much the
    resident sum of the table over-counts the pages the processes share."""
    lines = [
        f"{outcome.size.label}: {outcome.idle / 1e9:.2f} GB resident, "
        f"{outcome.idle_proportional / 1e9:.2f} GB proportional"
        for outcome in outcomes
        if outcome.idle
    ]
    return (
        "The app before each upload (the resident sum counts a page shared by several processes, "
        "such as a library every worker loads, once per process; the proportional sum once in "
        "all): " + "; ".join(lines) + ".\n"
    )


def replies_section(outcome: Outcome) -> str:
    """What the offline model answered to each question on the largest table run (quoted,
    its first REPLY_LINES lines)."""
    lines = [f"What the offline model answered on {outcome.rows:,} rows:"]
    for name, reply in outcome.replies.items():
        kept = reply.strip().splitlines()
        quoted = kept[:REPLY_LINES] + (["…"] if len(kept) > REPLY_LINES else [])
        lines += ["", f"{name}: *{STEPS[name][0]}*", "", *(f"> {line}" for line in quoted)]
    return "\n".join(lines) + "\n"


def report(outcomes: list[Outcome]) -> str:
    bench_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    text = markdown_table(
        "Time and whole-app peak memory (server + every process under it) per step; "
        f"MAX_UPLOAD_BYTES raised to {UPLOAD_LIMIT / 1e9:.0f} GB. 'peak resident': the processes' "
        "resident memory summed, sampled every 50 ms; 'over idle': that peak minus the app's "
        "before the upload; 'peak proportional': shared pages counted once, sampled each second",
        [
            "rows",
            "CSV",
            "step",
            "time",
            "peak resident",
            "over idle",
            "peak proportional",
            "result",
            "sampling stated",
        ],
        table_rows(outcomes),
    )
    for outcome in outcomes:
        if outcome.size.target_bytes:
            text += "\n" + markdown_table(
                f"The {outcome.size.label} CSV ({outcome.file_bytes / 1e9:.2f} GB, "
                f"{outcome.rows:,} rows) against issue #17's target",
                ["measure", "figure", "target", "met"],
                file_target_rows(outcome),
            )
    text += "\n" + idle_section(outcomes)
    largest = max(outcomes, key=lambda outcome: outcome.file_bytes, default=None)
    if largest and largest.replies:
        text += "\n" + replies_section(largest)
    text += (
        f"\nThe bench process's own peak memory (it streams the CSVs): {bench_peak / 1e6:.0f} MB\n"
    )
    return text


def sizes_asked(arguments: argparse.Namespace) -> list[Size]:
    sizes = [Size(_short(rows), rows=rows) for rows in arguments.rows]
    if arguments.gigabytes > 0:
        label = f"{arguments.gigabytes:g} GB"
        sizes.append(Size(label, target_bytes=int(arguments.gigabytes * 1e9)))
    return sizes


def _short(rows: int) -> str:
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if rows >= unit and rows % unit == 0:
            return f"{rows // unit}{name}"
    return str(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="*", default=SIZES)
    parser.add_argument(
        "--gigabytes", type=float, default=GIGABYTES, help="the file-size row (0: none)"
    )
    parser.add_argument("--step-seconds", type=float, default=STEP_SECONDS)
    arguments = parser.parse_args()
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes_asked(arguments):
            print(f"== {size.label}", flush=True)
            outcomes.append(one_size(size, Path(tmp), arguments.step_seconds))
    text = report(outcomes)
    write_result("growth", text)
    print(text)


if __name__ == "__main__":
    main()
