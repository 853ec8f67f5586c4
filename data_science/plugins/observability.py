"""Log context, timing and the active-sessions gauge for every agent turn.

An agent turn may run outside any HTTP request that names its user (`/run` and `/run_sse` carry
the ids in the body) and always in its own task, so the plugin binds the session id and hashed
user itself as soon as the turn starts: every log line of the turn, its tools and their worker
threads carries them. It also times each turn and keeps `dsagent_active_sessions` true.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from google.adk.agents.invocation_context import InvocationContext
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types

from data_science.config import Settings
from data_science.observability.logging import bind_request_context, record_operation
from data_science.observability.metrics import ACTIVE_SESSIONS


@dataclass(frozen=True)
class _Turn:
    session_id: str
    started: float
    task: asyncio.Task[object] | None


class RunningTurns:
    """The agent turns running in this process, by invocation id.

    A turn normally leaves through `after_run_callback` or `on_run_error_callback`; one whose
    task was cancelled (a client that went away, a shutdown) gets neither, so a turn whose task
    has finished is dropped whenever the count is read. The gauge therefore cannot drift.
    """

    def __init__(self) -> None:
        self._turns: dict[str, _Turn] = {}

    def start(self, invocation_id: str, session_id: str) -> None:
        self._turns[invocation_id] = _Turn(session_id, time.perf_counter(), _current_task())

    def finish(self, invocation_id: str) -> float | None:
        """Forget the turn; its duration in seconds, or None if it was not running."""
        turn = self._turns.pop(invocation_id, None)
        return None if turn is None else time.perf_counter() - turn.started

    def is_running(self, invocation_id: str | None) -> bool:
        """Whether that turn is running in this process now."""
        turn = self._turns.get(invocation_id or "")
        return turn is not None and not (turn.task is not None and turn.task.done())

    def active_sessions(self) -> int:
        """Sessions with at least one turn running now."""
        for invocation_id, turn in list(self._turns.items()):
            if turn.task is not None and turn.task.done():
                del self._turns[invocation_id]
        return len({turn.session_id for turn in self._turns.values()})


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


RUNNING_TURNS = RunningTurns()
ACTIVE_SESSIONS.set_function(RUNNING_TURNS.active_sessions)


class ObservabilityPlugin(BasePlugin):
    """Binds ids to the turn's log lines, times the turn, counts active sessions.

    Put it first among the app's plugins, so that the other plugins' log lines carry the ids.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="observability")
        self.settings = settings

    async def on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> types.Content | None:
        _bind(self.settings, invocation_context)
        return None

    async def before_run_callback(
        self, *, invocation_context: InvocationContext
    ) -> types.Content | None:
        _bind(self.settings, invocation_context)
        RUNNING_TURNS.start(invocation_context.invocation_id, invocation_context.session.id)
        return None

    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        _finish(invocation_context, "ok")

    async def on_run_error_callback(
        self, *, invocation_context: InvocationContext, error: Exception
    ) -> None:
        _finish(invocation_context, "error", error=type(error).__name__)


def _bind(settings: Settings, context: InvocationContext) -> None:
    bind_request_context(settings, user_id=context.user_id, session_id=context.session.id)


def _finish(context: InvocationContext, outcome: str, **fields: str) -> None:
    seconds = RUNNING_TURNS.finish(context.invocation_id)
    if seconds is not None:
        record_operation("agent.turn", seconds, outcome, **fields)
