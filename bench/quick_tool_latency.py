"""How long a quick tool call takes while trainings and an AutoML run keep the server busy.

Starts the real app (`main.py`, on a free port, with its own DATA_DIR), gives seven chats the
same CSV, and starts two random-forest trainings and a 60 s AutoML run in three of them. While
they run, "describe the data" (`analyze_dataset`) is asked once a second through `POST /run`,
each time in one of the four other chats that is free (one turn at a time per chat). A question
is timed from the second it was due, so an answer that waits for a free chat or a free worker
counts all of its wait (open loop: a slow answer does not thin out the questions). The goal
(issue 20, item 7) is a p95 under 5 s.

For the figure before the change, pass `--before DIR`: a checkout of the code before it, e.g.
`git worktree add --detach ../before <merge-base>`. That checkout's `main.py` runs with this
environment's Python, under the same load, before this checkout's. Not a test: it prints
figures and passes or fails nothing.

Run: `uv run python bench/quick_tool_latency.py [--before DIR] [--rows 10000]` (prints the
table and writes it to bench/results/quick_tool_latency.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import markdown_table, met, write_labelled_csv, write_result
from tests.conftest import PROJECT_ROOT, LiveServer

USER = "bench"
LOADS = {
    "training 1": "train a random forest to predict label",
    "training 2": "train a random forest to predict label",
    "automl": "automl to predict label for 60 seconds",
}
PROBE = "describe the data"
PROBE_CHATS = 4
PROBE_INTERVAL_SECONDS = 1.0
P95_GOAL_SECONDS = 5.0
MAX_PROBING_SECONDS = 300
# Start-up (worker and agent warm-up) takes minutes on a machine shared with other work.
START_TIMEOUT_SECONDS = 300


@dataclass
class Figures:
    """What one run measured: the probe latencies and how each load call ended."""

    latencies: list[float] = field(default_factory=list)
    failed_probes: int = 0
    loads: dict[str, str] = field(default_factory=dict)


async def new_chat(http: httpx.AsyncClient, csv: Path) -> str:
    session = (await http.post(f"/apps/data_science/users/{USER}/sessions", json={})).json()
    with csv.open("rb") as handle:
        answer = await http.post(
            "/api/uploads",
            data={"user_id": USER, "session_id": session["id"]},
            files={"file": ("big.csv", handle)},
        )
    answer.raise_for_status()
    return str(session["id"])


async def turn(http: httpx.AsyncClient, session_id: str, text: str) -> dict[str, Any]:
    """One chat turn; the response of the tool it called (the last one that is not a listing)."""
    body = {
        "appName": "data_science",
        "userId": USER,
        "sessionId": session_id,
        "newMessage": {"role": "user", "parts": [{"text": text}]},
    }
    answer = await http.post("/run", json=body)
    answer.raise_for_status()
    results = [
        part["functionResponse"]
        for event in answer.json()
        for part in (event.get("content") or {}).get("parts") or []
        if part.get("functionResponse") and part["functionResponse"]["name"] != "list_data_files"
    ]
    return dict(results[-1]) if results else {"name": None, "response": {}}


def outcome(started: float, result: dict[str, Any]) -> str:
    response = result.get("response") or {}
    status = response.get("error") or response.get("status", "no tool call")
    if response.get("cut_short"):
        status += ", cut short"
    return f"{result.get('name')}: {status} after {time.monotonic() - started:.0f} s"


async def load_call(http: httpx.AsyncClient, session_id: str, text: str) -> str:
    started = time.monotonic()
    try:
        return outcome(started, await turn(http, session_id, text))
    except httpx.HTTPError as error:
        return f"failed: {error!r} after {time.monotonic() - started:.0f} s"


async def probe(
    http: httpx.AsyncClient, free: asyncio.Queue[str], due: float, figures: Figures
) -> None:
    """One question, timed from when it was due (waiting for a free chat included)."""
    await asyncio.sleep(max(0.0, due - time.monotonic()))
    chat = await free.get()
    try:
        result = await turn(http, chat, PROBE)
    except httpx.HTTPError:
        result = {}
    finally:
        free.put_nowait(chat)
    if (result.get("response") or {}).get("status") == "ok":
        figures.latencies.append(time.monotonic() - due)
    else:
        figures.failed_probes += 1


async def measure(root: Path, csv: Path, data_dir: Path) -> Figures:
    figures = Figures()
    server = LiveServer(data_dir, root=root).start(timeout=START_TIMEOUT_SECONDS)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=900) as http:
            chats = [await new_chat(http, csv) for _ in range(len(LOADS) + PROBE_CHATS)]
            free: asyncio.Queue[str] = asyncio.Queue()
            for chat in chats[len(LOADS) :]:
                free.put_nowait(chat)
            loads = {
                name: asyncio.ensure_future(load_call(http, chat, text))
                for (name, text), chat in zip(LOADS.items(), chats, strict=False)
            }
            await asyncio.sleep(2)  # the loads reach their workers first
            started, probes = time.monotonic(), []
            while not all(load.done() for load in loads.values()):
                due = started + len(probes) * PROBE_INTERVAL_SECONDS
                if due - started > MAX_PROBING_SECONDS:
                    break
                probes.append(asyncio.ensure_future(probe(http, free, due, figures)))
                await asyncio.sleep(max(0.0, due + PROBE_INTERVAL_SECONDS - time.monotonic()))
            await asyncio.gather(*probes)
            for name, load in loads.items():
                figures.loads[name] = await load
    finally:
        server.stop()
    return figures


def row(label: str, figures: Figures) -> list[str]:
    ordered = sorted(figures.latencies) or [float("nan")]
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    return [
        label,
        str(len(figures.latencies)),
        str(figures.failed_probes),
        f"{statistics.median(ordered):.2f}",
        f"{p95:.2f}",
        f"{ordered[-1]:.2f}",
        f"{P95_GOAL_SECONDS:g}",
        met(p95, P95_GOAL_SECONDS) if figures.latencies else "no",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the CSV")
    args = parser.parse_args()
    runs = [("after (this checkout)", PROJECT_ROOT)]
    if args.before:
        runs.insert(0, (f"before ({args.before})", args.before.resolve()))
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "big.csv"
        write_labelled_csv(csv, args.rows)
        for number, (label, root) in enumerate(runs):
            results.append((label, await measure(root, csv, Path(tmp) / f"data{number}")))
    print(f"load average at end: {os.getloadavg()}")
    text = markdown_table(
        f"'{PROBE}' through POST /run, asked every {PROBE_INTERVAL_SECONDS:g} s while "
        f"{', '.join(LOADS)} run ({args.rows:,} rows); seconds from the question to the answer",
        ["code", "answers", "failed", "p50 s", "p95 s", "max s", "goal p95 s", "met"],
        [row(label, figures) for label, figures in results],
    )
    for label, figures in results:
        text += f"\n{label}, how the loads ended:\n\n"
        text += "".join(f"- {name}: {ended}\n" for name, ended in figures.loads.items())
    write_result("quick_tool_latency", text)
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
