"""What model calls cost, and the limits on them: calls per turn and spend per session.

Before each model call, the plugin stops a turn that has made LLM_MAX_CALLS_PER_TURN calls
(a tool loop) and a session whose estimated spend has reached LLM_SESSION_BUDGET_USD; either
way the person gets a plain reply saying why and what to do, and no request is sent.

After each call, the accounting that `ResilientLiteLlm` attached to the call's last response
(`custom_metadata["llm_call"]`) is added to the session's state under "llm_usage"
({"calls", "input_tokens", "output_tokens", "cost_usd"}), to the process metrics, and to the
audit log (model, tokens, cost, outcome; never prompt text).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from google.adk.agents.callback_context import CallbackContext
from google.adk.agents.invocation_context import InvocationContext
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types

from data_science.config import Settings
from data_science.llm.keys import CALL_METADATA_KEY
from data_science.observability.audit import audit_log
from data_science.observability.metrics import (
    LLM_COST,
)
from data_science.runtime.threads import run_blocking

USAGE_STATE_KEY = "llm_usage"
# Turns whose calls are being counted; finished turns are dropped in after_run_callback, and
# this bound only matters if a run ends without it (a crash), so the map cannot grow forever.
MAX_TRACKED_TURNS = 10_000


def empty_usage() -> dict[str, Any]:
    return {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}


def session_usage(state: Any) -> dict[str, Any]:
    """The session's totals so far (zeros before the first hosted call)."""
    stored = state.get(USAGE_STATE_KEY)
    return {**empty_usage(), **stored} if isinstance(stored, dict) else empty_usage()


def reply(text: str) -> LlmResponse:
    """A model reply written by the app (no model was called)."""
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]))


class LlmUsagePlugin(BasePlugin):
    """Per-turn call cap, per-session budget, and the accounting of every model call."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="llm_usage")
        self.settings = settings
        self._calls_per_turn: OrderedDict[str, int] = OrderedDict()

    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        limit = self.settings.LLM_MAX_CALLS_PER_TURN
        turn = callback_context.invocation_id
        calls = self._calls_per_turn.get(turn, 0) + 1
        self._calls_per_turn[turn] = calls
        while len(self._calls_per_turn) > MAX_TRACKED_TURNS:
            self._calls_per_turn.popitem(last=False)
        if calls > limit:
            return reply(
                f"I stopped working on this request after {limit} model calls, so that it "
                "cannot go round in circles. Tell me the next step you want, or split the "
                "request into smaller ones. (The limit is LLM_MAX_CALLS_PER_TURN.)"
            )
        budget = self.settings.LLM_SESSION_BUDGET_USD
        if budget is not None:
            spent = float(session_usage(callback_context.state)["cost_usd"])
            if spent >= budget:
                return reply(
                    f"This chat has used its language-model budget: about ${spent:.4f} spent "
                    f"of ${budget:.4f}. Start a new chat, or raise LLM_SESSION_BUDGET_USD and "
                    "restart the app to continue here."
                )
        return None

    async def after_model_callback(
        self, *, callback_context: CallbackContext, llm_response: LlmResponse
    ) -> LlmResponse | None:
        call = (llm_response.custom_metadata or {}).get(CALL_METADATA_KEY)
        if not isinstance(call, dict):
            return None
        totals = session_usage(callback_context.state)
        totals["calls"] += 1
        totals["input_tokens"] += call["input_tokens"]
        totals["output_tokens"] += call["output_tokens"]
        totals["cost_usd"] = round(totals["cost_usd"] + call["cost_usd"], 8)
        callback_context.state[USAGE_STATE_KEY] = totals

        # Tokens and durations are ADK's GenAI metrics; the cost is this product's.
        LLM_COST.labels(gen_ai_request_model=call["model"]).inc(call["cost_usd"])
        await run_blocking(
            audit_log(self.settings).record,
            "llm.call",
            user_id=callback_context.user_id,
            session_id=callback_context.session.id,
            **call,
        )
        return None

    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        self._calls_per_turn.pop(invocation_context.invocation_id, None)
