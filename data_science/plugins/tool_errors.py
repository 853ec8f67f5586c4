"""A tool call the model gets wrong is answered with an error result, never a crashed turn.

What ADK 2.13 does on its own, and what this plugin adds so that every case reaches the model
as the one tool-result shape `{"status": "error", "error": code, "message": sentence}`:

- unknown tool: ADK answers with its own `{"error": ...}`; here, `unknown_tool` naming the
  tools that exist (and an audit record: a model reaching for tools it was not given is
  worth knowing about).
- arguments that are not a JSON object: ADK discards the call and ends the turn with
  MALFORMED_FUNCTION_CALL; `ResilientLiteLlm` keeps such calls, marked, and here they are
  answered with `invalid_arguments`, under the call's own id.
- arguments that do not fit the tool's signature: ADK's argument validation (an opt-in ADK
  feature, switched on here) checks and converts the types, and ADK reports missing required
  arguments; names the tool does not have (which ADK would silently drop) are refused here.
  All of them come back as `invalid_arguments`.
- a tool that raises: every tool's `@tool` wrapper already turns that into `internal_error`
  and audits it; anything that still escapes (a tool without the wrapper) is answered here.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from google.adk.features import FeatureName, override_feature_enabled
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.function_tool import FunctionTool
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings
from data_science.llm.keys import INVALID_ARGUMENTS_KEY
from data_science.observability.audit import audit_log
from data_science.observability.logging import get_logger
from data_science.runtime.threads import run_blocking
from data_science.tools import ALL_TOOLS
from data_science.tools.base import error_result, summarize_arguments

log = get_logger(__name__)
CONTEXT_PARAMETER = "tool_context"


def parameters(tool: BaseTool) -> list[str] | None:
    """The argument names a function tool accepts (None for other kinds of tool)."""
    if not isinstance(tool, FunctionTool):
        return None
    return [name for name in inspect.signature(tool.func).parameters if name != CONTEXT_PARAMETER]


class ToolErrorsPlugin(BasePlugin):
    """Turns malformed calls, unknown tools and escaped exceptions into error results."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="tool_errors")
        self.settings = settings
        # ADK checks argument types against the signature only when this feature is on.
        override_feature_enabled(FeatureName.FUNCTION_TOOL_ARG_VALIDATION, True)

    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        if INVALID_ARGUMENTS_KEY in tool_args:
            result = error_result(
                "invalid_arguments",
                f"The arguments of this call to {tool.name} were not a JSON object "
                f"({tool_args[INVALID_ARGUMENTS_KEY]!r}). Call it again with a JSON object "
                "of its parameters.",
            )
            await self._audit(tool.name, {}, tool_context, "invalid_arguments")
            return result
        accepted = parameters(tool)
        unknown = sorted(set(tool_args) - set(accepted)) if accepted is not None else []
        if accepted is not None and unknown:
            await self._audit(tool.name, tool_args, tool_context, "invalid_arguments")
            return error_result(
                "invalid_arguments",
                f"{tool.name} has no parameter {', '.join(map(repr, unknown))}. "
                f"Its parameters are: {', '.join(accepted) or 'none'}.",
            )
        return None

    async def after_tool_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        result: dict[str, Any],
    ) -> dict[str, Any] | None:
        # ADK's own refusals (wrong types, missing arguments) are {"error": sentence}.
        if "status" not in result and isinstance(result.get("error"), str):
            await self._audit(tool.name, tool_args, tool_context, "invalid_arguments")
            return error_result("invalid_arguments", result["error"])
        return None

    async def on_tool_error_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        error: Exception,
    ) -> dict[str, Any] | None:
        if isinstance(error, asyncio.CancelledError):
            return None  # a cancelled call stays cancelled; ADK ignores any answer here
        # ADK stands a bare BaseTool in for a name it could not find.
        if type(tool) is BaseTool:
            await self._audit(tool.name, tool_args, tool_context, "unknown_tool")
            known = ", ".join(function.__name__ for function in ALL_TOOLS)
            return error_result(
                "unknown_tool",
                f"There is no tool called {tool.name!r}. Call one of these: {known}.",
            )
        log.error("tool.escaped_error", tool=tool.name, exc_info=error)
        await self._audit(tool.name, tool_args, tool_context, "internal_error")
        return error_result(
            "internal_error",
            f"{tool.name} failed unexpectedly ({type(error).__name__}). "
            "Try different arguments or another tool.",
        )

    async def _audit(
        self, name: str, arguments: dict[str, Any], context: ToolContext, outcome: str
    ) -> None:
        await run_blocking(
            audit_log(self.settings).record,
            "tool",
            user_id=context.user_id,
            session_id=context.session.id,
            tool=name,
            arguments=summarize_arguments(arguments),
            outcome=outcome,
        )
