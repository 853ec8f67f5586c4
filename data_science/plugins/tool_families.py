"""Send a hosted model only the tool declarations of the families it opened.

Every tool's declaration on every call was tens of thousands of characters, paid again on each
model call of each turn, and more tools than providers advise for reliable tool choice. So the
instruction lists the tool families in one line each (prompts.py), a hosted model gets one more
tool, `open_tools` (tools/router.py), and before every model call this plugin trims the
request's declarations to `open_tools` and the families the chat used, most recent first, as
many as fit in LLM_TOOLS_MAX_CHARS (the most recent always), with each open family's guidance
appended to the instruction. The declarations it keeps are compacted: JSON-schema titles (a
restatement of each parameter's name) are left out and docstring line breaks become spaces.

Only the declarations change: ADK still knows every tool (`LlmRequest.tools_dict`), so a call to
a tool whose family is closed runs like any other and opens its family for the next call. The
history, attachments and the other plugins see the same request as before; the offline model,
which is not given `open_tools`, is left alone (it reads no declarations).
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.adk.agents.callback_context import CallbackContext
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from data_science.config import Settings
from data_science.observability.logging import get_logger
from data_science.prompts import FAMILIES
from data_science.tools.router import (
    OPENER,
    agent_tool_names,
    family_of,
    offered_families,
    remember,
    used_families,
)

log = get_logger(__name__)
LITERAL_KEYS = frozenset({"default", "enum", "const", "examples"})  # values, not schemas
SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions"})  # name -> schema
LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")


def untitled(schema: Any) -> Any:
    """A JSON schema without its `title` keywords (property names stay, whatever they are)."""
    if isinstance(schema, list):
        return [untitled(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in SCHEMA_MAPS and isinstance(value, dict):
            compact[key] = {name: untitled(entry) for name, entry in value.items()}
        else:
            compact[key] = value if key in LITERAL_KEYS else untitled(value)
    return compact


def compact(declaration: types.FunctionDeclaration) -> types.FunctionDeclaration:
    """The declaration as sent: no schema titles, paragraphs on one line each."""
    update: dict[str, Any] = {"description": LINE_BREAK.sub(" ", declaration.description or "")}
    if declaration.parameters_json_schema is not None:
        update["parameters_json_schema"] = untitled(declaration.parameters_json_schema)
    return declaration.model_copy(update=update)


def size(declaration: types.FunctionDeclaration) -> int:
    return len(json.dumps(declaration.model_dump(mode="json", exclude_none=True)))


class ToolFamiliesPlugin(BasePlugin):
    """Trims each hosted-model request to the open tool families; a used tool opens its own."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="tool_families")
        self.settings = settings

    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        if OPENER not in llm_request.tools_dict:
            return None  # the offline model: every tool, as before
        families = offered_families(llm_request.tools_dict.keys())
        declarations = {
            declaration.name: compact(declaration)
            for tool in llm_request.config.tools or []
            if isinstance(tool, types.Tool)
            for declaration in tool.function_declarations or []
            if declaration.name
        }
        used = [name for name in used_families(callback_context.state) if name in families]
        opened = self._fitting(used, families, declarations)
        kept = {OPENER, *(name for family in opened for name in families[family])}
        llm_request.config.tools = [
            types.Tool(function_declarations=[d for n, d in declarations.items() if n in kept])
        ]
        llm_request.append_instructions([self._guidance(opened)])
        return None

    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        """A tool called is a family used: it stays (or becomes) open for the next calls."""
        if (
            OPENER in agent_tool_names(tool_context)
            and (family := family_of(tool.name)) is not None
        ):
            remember(tool_context.state, [family])
        return None

    def _fitting(
        self,
        used: list[str],
        families: dict[str, list[str]],
        declarations: dict[str, types.FunctionDeclaration],
    ) -> list[str]:
        """The families sent: the most recently used first, while they fit in the budget."""
        room = self.settings.LLM_TOOLS_MAX_CHARS
        opened: list[str] = []
        for family in reversed(used):
            cost = len(FAMILIES[family].guidance) + sum(
                size(declarations[name]) for name in families[family] if name in declarations
            )
            if cost <= room or not opened:
                opened.append(family)
                room -= cost
        if len(opened) < len(used):
            log.debug("tool_families.closed", closed=sorted(set(used) - set(opened)))
        return opened

    def _guidance(self, opened: list[str]) -> str:
        if not opened:
            return "No tool family is open yet: call `open_tools` with the families you need."
        lines = [f"Tool families open now (their tools are declared): {', '.join(opened)}."]
        lines += [
            f"- {name}: {FAMILIES[name].guidance}" for name in opened if FAMILIES[name].guidance
        ]
        return "\n".join(lines)
