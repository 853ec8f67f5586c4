"""A tool call that a dead server never answered is closed with an error before the next turn.

A server killed while a tool ran (kill -9, an out-of-memory kill, a power cut) leaves the
model's `function_call` in the chat with no `function_response`. ADK leaves such a call out of
the model's next request, so the model never learns that the step failed, and the chat shows a
step that never ends. Before the next message of that chat is stored, this plugin appends an
error result under each unanswered call's own id ("interrupted": ask again), so the model and
the chat see a closed call, and writes the `tool` audit record the killed call never wrote.

Left open: calls of a turn running in this process right now (another turn of the same chat),
and long-running calls that legitimately wait for their answer (ADK's `long_running_tool_ids`).
"""

from __future__ import annotations

from collections.abc import Iterator

from google.adk.agents.invocation_context import InvocationContext
from google.adk.events.event import Event
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types

from data_science.config import Settings
from data_science.observability.audit import audit_log
from data_science.observability.logging import get_logger
from data_science.plugins.observability import RUNNING_TURNS
from data_science.runtime.threads import run_blocking
from data_science.storage.session_store import SessionStoreUnavailable
from data_science.tools.base import error_result, summarize_arguments

log = get_logger(__name__)
INTERRUPTED = "interrupted"
INTERRUPTED_MESSAGE = (
    "This step was interrupted by a restart of the server before it finished; nothing it was "
    "making was kept. Ask again (or call the tool again) to run it."
)


def unanswered_calls(events: list[Event]) -> Iterator[tuple[Event, list[types.FunctionCall]]]:
    """Each event with function calls that no later event answers, with those calls."""
    answered = {response.id for event in events for response in event.get_function_responses()}
    waiting = {call_id for event in events for call_id in event.long_running_tool_ids or ()}
    for event in events:
        calls = [
            call
            for call in event.get_function_calls()
            if call.id and call.id not in answered and call.id not in waiting
        ]
        if calls and not RUNNING_TURNS.is_running(event.invocation_id):
            yield event, calls


def closing_event(call_event: Event, calls: list[types.FunctionCall]) -> Event:
    """The error results for `calls`, as the agent that made them would have answered."""
    result = error_result(INTERRUPTED, INTERRUPTED_MESSAGE)
    parts = [
        types.Part(
            function_response=types.FunctionResponse(id=call.id, name=call.name, response=result)
        )
        for call in calls
    ]
    return Event(
        invocation_id=call_event.invocation_id,
        author=call_event.author,
        branch=call_event.branch,
        isolation_scope=call_event.isolation_scope,
        content=types.Content(role="user", parts=parts),
    )


class InterruptedCallsPlugin(BasePlugin):
    """Closes the unanswered tool calls of a chat before its next message is stored."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="interrupted_calls")
        self.settings = settings

    async def on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> types.Content | None:
        session = invocation_context.session
        for call_event, calls in list(unanswered_calls(session.events)):
            try:
                await invocation_context.session_service.append_event(
                    session, closing_event(call_event, calls)
                )
            except SessionStoreUnavailable:
                return None  # storing the message fails the same way, and answers 503
            log.warning("tool.interrupted", tools=[call.name for call in calls])
            for call in calls:
                await run_blocking(
                    audit_log(self.settings).record,
                    "tool",
                    user_id=invocation_context.user_id,
                    session_id=session.id,
                    tool=call.name,
                    arguments=summarize_arguments(call.args or {}),
                    outcome=INTERRUPTED,
                )
        return None
