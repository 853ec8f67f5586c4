"""The embedded offline model: a real ADK `BaseLlm` that needs no key and no network.

It drives the same tools a hosted model would, in the same loop: on a new request it first
calls `list_data_files` to learn the session's datasets and columns, then calls the tool the
request asks for with arguments taken from that catalogue (or asks a short question when
something is missing or ambiguous), then explains the tool's result in plain words. A request
of two steps ("fill missing age and then train a model") calls the second tool on what the first
made, in the same turn. Earlier turns of the session — ADK sends them all in
`LlmRequest.contents` — are read back into a `History`, so "now plot it" or "use 5 clusters
instead" refer to the previous step. A message whose every attachment the intake refused is
answered with the refusal, not run on other data.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from data_science.offline.intents import Call, Exchange, History, Plan, decide
from data_science.offline.intents.families import classify
from data_science.offline.intents.files import help_plan
from data_science.offline.intents.history import CATALOGUE_TOOL
from data_science.offline.intents.steps import fill_in
from data_science.offline.intents.text import read
from data_science.offline.replies import render_result
from data_science.prompts import ATTACHMENT_MARKER
from data_science.runtime.threads import run_blocking

OFFLINE_MODEL_NAME = "offline"
NO_CATALOGUE_NEEDED = "describe_model_families"
ATTACHMENT_FOLLOW_UP = (
    'What would you like to know? For example: "describe the data", "plot a histogram of '
    '<column>" or "train a model to predict <column>".'
)
# How the intake's note on a refused attachment reads (plugins/attachments.py's `refusal`).
REFUSED = " was refused: "
REFUSED_FOLLOW_UP = (
    "So I did not run your request on it. Fix the file (or export it again as CSV or Excel) and "
    "attach it again with your request."
)


class OfflineModel(BaseLlm):
    """Rule-based model for the everyday requests of each tool family."""

    model: str = OFFLINE_MODEL_NAME

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        # About a millisecond usually, but matching a 10,000-column table takes longer.
        content = await run_blocking(next_step, llm_request.contents)
        yield LlmResponse(content=content, turn_complete=True)


@dataclass
class Turn:
    """One message of the person, and what the model did about it."""

    text: str = ""
    attachments: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    reply: str = ""

    @property
    def refusals(self) -> list[str]:
        """The intake's notes on this message's attachments that it refused."""
        notes = [note.removeprefix(ATTACHMENT_MARKER).strip() for note in self.attachments]
        return [note for note in notes if REFUSED in note]

    def exchange(self) -> Exchange:
        """The turn as history; it asked a question when it ended in one without using a tool."""
        used_tools = any(call.name != CATALOGUE_TOOL for call in self.calls)
        first_line = self.reply.strip().split("\n", 1)[0]
        return Exchange(self.text, self.calls, asked="?" in first_line and not used_tools)


def next_step(contents: list[types.Content]) -> types.Content:
    """Decide the model's next message from the conversation so far."""
    turns = read_turns(contents)
    current = turns[-1] if turns else Turn()
    history = History([turn.exchange() for turn in turns[:-1]])
    if not current.calls:
        return _first_step(current)
    catalogue = current.calls[0]
    if catalogue.name != CATALOGUE_TOOL:  # a request that needed no catalogue: one call
        return _text(render_result(catalogue.name, catalogue.result))
    plan = decide(current.text, catalogue.result, history)
    if len(current.calls) == 1:
        if plan.tool is None:
            return _text(_noted(current, plan.text or help_plan().text or ""))
        return _call(plan.tool, plan.args)
    done = current.calls[1:]
    following = _next_of(plan, done)
    if following is not None and following.tool:
        return _call(following.tool, following.args)
    # The rows a step handed to the next one are not shown; the last step's result is.
    shown = [{**call.result, "preview": None} for call in done[:-1]] + [done[-1].result]
    replies = [render_result(call.name, result) for call, result in zip(done, shown, strict=True)]
    return _text(_noted(current, "\n\n".join(replies)))


def _next_of(plan: Plan, done: list[Call]) -> Plan | None:
    """The step of `plan` after the calls `done` so far (the same decision is made again from
    the same conversation, so it lines up), with what they made filled in; None when all are
    done or one failed."""
    step: Plan | None = plan
    for call in done:
        if step is None or step.tool != call.name:
            return None
        following = step.then
        step = fill_in(following, call) if following is not None else None
    return step


def _noted(turn: Turn, text: str) -> str:
    """`text`, after the intake's word on the attachments it refused in this message."""
    return "\n".join([*turn.refusals, "", text]) if turn.refusals else text


def _first_step(request: Turn) -> types.Content:
    if not request.text and request.attachments:
        notes = "\n".join(
            note.removeprefix(ATTACHMENT_MARKER).strip() for note in request.attachments
        )
        return _text(f"{notes}\n\n{ATTACHMENT_FOLLOW_UP}")
    if request.refusals and len(request.refusals) == len(request.attachments):
        # The request was about the file just attached, which is not there: say why.
        return _text("\n".join([*request.refusals, "", REFUSED_FOLLOW_UP]))
    family = classify(read(request.text))
    if family in {"help", "greeting"}:
        return _text(help_plan(greeting=family == "greeting").text or "")
    if family == NO_CATALOGUE_NEEDED:
        return _call(NO_CATALOGUE_NEEDED, {})
    return _call(CATALOGUE_TOOL, {})


def read_turns(contents: list[types.Content]) -> list[Turn]:
    """The conversation as turns: each message of the person with the calls it caused (and
    their results, matched by call id) and the model's last words."""
    turns: list[Turn] = []
    pending: dict[str, Call] = {}
    for content in contents:
        parts = content.parts or []
        texts = [part.text for part in parts if part.text and not part.thought]
        if content.role == "user" and texts:
            words = [text for text in texts if not text.startswith(ATTACHMENT_MARKER)]
            notes = [text for text in texts if text.startswith(ATTACHMENT_MARKER)]
            turns.append(Turn(" ".join(words), notes))
            continue
        if not turns:
            turns.append(Turn())
        turn = turns[-1]
        for part in parts:
            if part.function_call and part.function_call.name:
                call = Call(part.function_call.name, dict(part.function_call.args or {}))
                turn.calls.append(call)
                pending[part.function_call.id or call.name] = call
            elif part.function_response:
                response = part.function_response
                answered = pending.pop(response.id or response.name or "", None)
                if answered is not None:
                    answered.result = dict(response.response or {})
        if content.role == "model" and texts:
            turn.reply = texts[-1]
    return turns


def _text(text: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=text)])


def _call(name: str, args: dict[str, Any]) -> types.Content:
    return types.Content(
        role="model", parts=[types.Part(function_call=types.FunctionCall(name=name, args=args))]
    )
