"""How many characters every call to a hosted model carries before the conversation starts.

The real app (in-process, over ASGI) talks through LiteLLM to the fake OpenAI-compatible
provider of the tests (tests/fake_llm.py, real HTTP on 127.0.0.1), which records each request.
One chat with one small uploaded CSV; the scripted model profiles it ("what is in my file?"),
opening its family ("explore") first where the app asks for that, then a second turn. Measured on
the wire, for three requests:

- the first request of a turn (nothing opened yet),
- the request after that family is open (its declarations sent),
- the first request of the next turn (the open family remembered).

The fixed part is the system message without the chat's dataset list (which grows with the
chat, not with the app) plus the JSON of the `tools` array; tokens are LiteLLM's count for
gpt-4o. Target (issue #17): the fixed part under 16,000 characters on every request.

For the figures before a change, run the same script in a checkout of the code before it
(`git worktree add --detach ../before <commit>`, copy this file there, `--json FILE`) and pass
that file here with `--before FILE`. bench/request_size_before.json holds the figures of the
code before tool families (commit 5547c26), measured so.

Run: `uv run python bench/request_size.py [--json OUT] [--before bench/request_size_before.json]`
(prints the table and writes it to bench/results/request_size.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fake_llm import Call, FakeLLM, Recorded, Reply, Text, ToolCalls

LIMIT = 16_000
APP = "data_science"
RESULTS = Path(__file__).parent / "results" / "request_size.md"
CATALOGUE_HEADING = "\nDatasets and models in this chat"
OPENER = "open_tools"
EVERYTHING = "open every family"
CASES = (
    "first request of a turn",
    "after a family is open",
    "first request of the next turn",
    "after every family was opened",
)
LISTING = re.compile(re.escape(CATALOGUE_HEADING) + r".*?\n(```\n|upload button\.\n)", re.S)


def declared(request: Recorded) -> set[str]:
    return {tool["function"]["name"] for tool in request.body.get("tools", [])}


def measure(request: Recorded) -> dict[str, int]:
    """The fixed part of one recorded request: instruction, declarations, total, tokens."""
    import litellm

    system = request.messages[0]
    if system["role"] != "system":
        raise RuntimeError(f"the first message is not the instruction: {system['role']}")
    text = system["content"] if isinstance(system["content"], str) else str(system["content"])
    instruction = LISTING.sub("", text)  # the chat's dataset list is not part of the app
    tools = json.dumps(request.body.get("tools", []), ensure_ascii=False)
    tokens = litellm.token_counter(model="gpt-4o", text=instruction + tools)
    return {
        "instruction": len(instruction),
        "declarations": len(tools),
        "tools": len(declared(request)),
        "total": len(instruction) + len(tools),
        "tokens": tokens,
    }


def every_family() -> list[str]:
    from data_science.tools import TOOL_FAMILIES  # type: ignore[attr-defined]

    return list(TOOL_FAMILIES)


def script(dataset: str) -> Any:
    """The scripted model: open the analysis family if it must, profile, answer."""

    def respond(request: Recorded) -> Reply:
        last = request.messages[-1]
        if last.get("content") == EVERYTHING and OPENER in declared(request):
            return ToolCalls([Call(OPENER, {"families": every_family()})])
        if last["role"] == "user":
            if "analyze_dataset" in declared(request) or OPENER not in declared(request):
                return ToolCalls([Call("analyze_dataset", {"dataset_id": dataset})])
            return ToolCalls([Call(OPENER, {"families": ["explore"]})])
        if "analyze_dataset" in declared(request) and not any(
            call["function"]["name"] == "analyze_dataset"
            for message in request.messages
            for call in message.get("tool_calls") or []
        ):
            return ToolCalls([Call("analyze_dataset", {"dataset_id": dataset})])
        return Text("Three columns, sixty rows.")

    return respond


async def run(folder: Path, fake: FakeLLM) -> dict[str, dict[str, int]]:
    from data_science.config import load_settings
    from data_science.server.app import create_app

    os.environ.update(
        LLM_MODEL="openai/gpt-4o",
        OPENAI_API_KEY="sk-bench",
        LLM_API_BASE=fake.openai_base,
        DATA_DIR=str(folder / "data"),
        LOG_LEVEL="WARNING",
    )
    app = create_app(load_settings())
    csv = folder / "birds.csv"
    csv.write_text(
        "species,mass,wing\n" + "".join(f"s{i % 3},{3000 + i},{180 + i}\n" for i in range(60))
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", timeout=600
    ) as http:
        session = (await http.post(f"/apps/{APP}/users/bench/sessions", json={})).json()["id"]
        with csv.open("rb") as handle:
            upload = await http.post(
                "/api/uploads",
                data={"user_id": "bench", "session_id": session},
                files={"file": (csv.name, handle, "text/csv")},
            )
        fake.responder = script(upload.json()["file_id"])
        for text in ("what is in my file?", "and now?", EVERYTHING):
            turn = {
                "app_name": APP,
                "user_id": "bench",
                "session_id": session,
                "new_message": {"role": "user", "parts": [{"text": text}]},
            }
            (await http.post("/run", json=turn)).raise_for_status()
    requests = fake.chat_requests()
    opened = next(r for r in requests if "analyze_dataset" in declared(r))
    next_turn = next(r for r in requests if r.messages[-1].get("content") == "and now?")
    everything = requests[-1]
    return {
        CASES[0]: measure(requests[0]),
        CASES[1]: measure(opened),
        CASES[2]: measure(next_turn),
        CASES[3]: measure(everything),
    }


def table(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]] | None) -> str:
    lines = [
        "| request | "
        + ("before: total (instruction + declarations, tools) | " if before else "")
        + "after: instruction | declarations (tools) | total | ~tokens | under 16,000 |",
        "|---|" + ("---|" if before else "") + "---|---|---|---|---|",
    ]
    for case, figures in after.items():
        earlier = ""
        if before:
            b = before[case]
            earlier = (
                f"{b['total']:,} ({b['instruction']:,} + {b['declarations']:,}, {b['tools']}), "
                f"~{b['tokens']:,} tokens | "
            )
        lines.append(
            f"| {case} | {earlier}{figures['instruction']:,} | {figures['declarations']:,} "
            f"({figures['tools']}) | {figures['total']:,} | {figures['tokens']:,} | "
            f"{'met' if figures['total'] < LIMIT else 'not met'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--before", type=Path, help="figures of the code before (its --json)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        figures = asyncio.run(run(Path(tmp), fake))
    before = json.loads(options.before.read_text()) if options.before else None
    text = table(figures, before)
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
