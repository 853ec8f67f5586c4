"""Tool families: a hosted model is sent only the declarations of the families it opened.

The real app in-process, the real LiteLLM client and real HTTP to the fake provider on 127.0.0.1
(tests/fake_llm.py); the assertions are on the requests the provider received. The fixed part
of a request (its system message and its `tools` array) stays under issue #17's 16,000
characters whatever is open, every family is reached with one extra call, and a tool of a
family not opened yet still runs (and opens its family). The offline model keeps every tool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data_science.agent import build_agent
from data_science.config import Settings
from data_science.prompts import FAMILIES
from data_science.tools import ALL_TOOLS, HOSTED_ONLY_TOOLS, TOOL_FAMILIES
from tests.fake_llm import Call, FakeLLM, Recorded, Reply, Text, ToolCalls
from tests.test_llm_hosted import fake, function_responses, hosted_chat, penguin_like_csv

__all__ = ["fake"]  # the fixture, used by name

FIXED_LIMIT = 16_000  # issue #17: instruction + declarations, in characters
NAMES = {family: [f.__name__ for f in tools] for family, tools in TOOL_FAMILIES.items()}


def declared(request: Recorded) -> set[str]:
    return {tool["function"]["name"] for tool in request.body.get("tools", [])}


def fixed_chars(request: Recorded) -> int:
    """The system message (no dataset in these chats: all of it is fixed) and the tools."""
    system = request.messages[0]
    assert system["role"] == "system"
    return len(system["content"]) + len(json.dumps(request.body.get("tools", [])))


def opens(families: list[str]) -> Any:
    """A model that opens `families` on a user message, then answers."""

    def respond(request: Recorded) -> Reply:
        if request.messages[-1]["role"] == "user":
            return ToolCalls([Call("open_tools", {"families": families})])
        return Text("Open.")

    return respond


def test_every_tool_is_in_one_family_with_a_catalogue_line_and_the_offline_model_gets_all(
    settings: Settings,
) -> None:
    members = [f for tools in TOOL_FAMILIES.values() for f in tools]
    assert len(members) == len(set(members))
    assert set(TOOL_FAMILIES) == set(FAMILIES)
    assert [f for f in members if f not in HOSTED_ONLY_TOOLS] == ALL_TOOLS
    offline = {getattr(f, "__name__", "") for f in build_agent(settings).tools}
    assert offline == {f.__name__ for f in ALL_TOOLS}  # every tool, and no `open_tools`


async def test_every_family_is_reached_with_one_extra_call_and_the_request_stays_small(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        for family, tools in NAMES.items():
            fake.responder = opens([family])
            before = len(fake.chat_requests())
            await chat.say(f"I need the {family} tools")
            first, after = fake.chat_requests()[before:]
            assert first.messages[-1]["role"] == "user"
            assert "open_tools" in declared(first)
            assert set(tools) <= declared(after), family  # one call later, all of them
            assert FAMILIES[family].guidance in after.messages[0]["content"]
            assert f"`{tools[0]}`" in first.messages[0]["content"]  # its catalogue line
        # Everything at once: the most recent families that fit are declared, still small.
        fake.responder = opens(list(NAMES))
        await chat.say("open every family")
        last = fake.chat_requests()[-1]
        assert set(NAMES["code"]) <= declared(last)  # the last named is the most recent
        every = {name for tools in NAMES.values() for name in tools}
        assert declared(last) - {"open_tools"} < every  # not all of them: some stay closed
    requests = fake.chat_requests()
    sizes = [fixed_chars(request) for request in requests]
    assert max(sizes) < FIXED_LIMIT, sizes
    # The first request of a turn carries the families the chat opened before (remembered).
    turn_starts = [r for r in requests if r.messages[-1]["role"] == "user"]
    assert set(NAMES["help"]) <= declared(turn_starts[1])


async def test_in_summary_mode_with_every_family_open_the_request_stays_under_the_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, SUMMARY_MODE_ONLY="true"
    ) as chat:
        for order in (list(NAMES), list(reversed(NAMES))):
            fake.responder = opens([name for name in order if name != "code"])
            await chat.say("open every family")
    requests = fake.chat_requests()
    assert "Summary mode is on" in requests[-1].messages[0]["content"]
    assert max(fixed_chars(request) for request in requests) < FIXED_LIMIT


async def test_a_tool_of_a_family_not_opened_runs_and_opens_its_family(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    path = penguin_like_csv(tmp_path)
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        dataset = await chat.upload(path)
        fake.script(
            ToolCalls([Call("value_counts", {"dataset_id": dataset, "column": "species"}, "vc")]),
            Text("Twenty of each."),
        )
        events = await chat.say("how many of each species?")
        stored = await chat.stored()
    first, second = fake.chat_requests()
    assert "value_counts" not in declared(first)
    result = function_responses(events)["vc"]
    counts = pd.read_csv(path)["species"].value_counts()
    assert result["status"] == "ok"
    assert {row["value"]: row["count"] for row in result["values"]} == counts.to_dict()
    assert set(NAMES["explore"]) <= declared(second)
    assert stored["state"]["tool_families"] == ["explore"]


async def test_opening_a_family_that_does_not_exist_is_a_clear_error_and_the_turn_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        fake.script(
            ToolCalls([Call("open_tools", {"families": ["magic"]}, id="bad")]),
            Text("There is no such family."),
        )
        events = await chat.say("open the magic tools")
    result = function_responses(events)["bad"]
    assert result["status"] == "error" and result["error"] == "unknown_family"
    assert "'magic'" in result["message"] and "explore" in result["message"]
    assert declared(fake.chat_requests()[-1]) == {"open_tools"}
