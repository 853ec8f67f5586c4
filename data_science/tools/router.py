"""Tool families for hosted models: which families a chat has used, and the tool that opens one.

A hosted model is not sent every tool's declaration on every call (that alone was tens of
thousands of characters): its instruction lists the families in one line each, and it opens the
ones a request needs with `open_tools`. The chat remembers them, most recently used last, in its
session state under `STATE_KEY`, for the following calls and turns; calling any tool of a family
uses (and opens) that family too. Which of the used families are actually sent on a call (the
most recent that fit in LLM_TOOLS_MAX_CHARS) is decided by plugins/tool_families.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, MutableMapping
from typing import Any

from google.adk.tools.tool_context import ToolContext

from data_science.errors import ToolError
from data_science.tools.base import tool

STATE_KEY = "tool_families"  # session state: the families used in this chat, most recent last
OPENER = "open_tools"


def offered_families(tool_names: Collection[str]) -> dict[str, list[str]]:
    """family -> the names of its tools among `tool_names` (the tools an agent has)."""
    from data_science.tools import TOOL_FAMILIES

    offered = {
        family: [function.__name__ for function in tools if function.__name__ in tool_names]
        for family, tools in TOOL_FAMILIES.items()
    }
    return {family: names for family, names in offered.items() if names}


def agent_tool_names(tool_context: ToolContext) -> set[str]:
    """The names of the tools the calling agent has."""
    agent = tool_context.get_invocation_context().agent
    return {getattr(function, "__name__", "") for function in getattr(agent, "tools", [])}


def family_of(tool_name: str) -> str | None:
    from data_science.tools import TOOL_FAMILIES

    return next(
        (
            family
            for family, tools in TOOL_FAMILIES.items()
            if any(function.__name__ == tool_name for function in tools)
        ),
        None,
    )


def used_families(state: MutableMapping[str, Any] | Any) -> list[str]:
    """The families this chat has used, most recent last (whatever the state holds)."""
    value = state.get(STATE_KEY)
    return [str(name) for name in value] if isinstance(value, list) else []


def remember(state: MutableMapping[str, Any] | Any, families: Iterable[str]) -> None:
    """Mark `families` as the most recently used, in the order given; write only a change."""
    chosen = list(dict.fromkeys(families))
    used = [name for name in used_families(state) if name not in chosen] + chosen
    if used != used_families(state):
        state[STATE_KEY] = used


@tool
async def open_tools(families: list[str], tool_context: ToolContext) -> dict[str, Any]:
    """Open tool families: their tools' declarations are sent to you from the next call on.

    `families`: one or more family names from the list in your instruction; open every family
    the request needs in this one call. Families stay open in the following turns (the least
    recently used close when too many are open); calling a tool of a closed family opens it.
    """
    offered = offered_families(agent_tool_names(tool_context))
    unknown = [name for name in families if name not in offered]
    if not families or unknown:
        raise ToolError(
            f"There is no tool family {', '.join(map(repr, unknown)) or 'given'}. "
            f"Name one or more of: {', '.join(offered)}.",
            "unknown_family",
        )
    remember(tool_context.state, families)
    return {
        "opened": list(dict.fromkeys(families)),
        "tools": [name for family in dict.fromkeys(families) for name in offered[family]],
        "note": "Their declarations reach you with the next call: call the tools now.",
    }
