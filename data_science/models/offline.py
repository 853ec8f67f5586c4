"""The embedded offline model: a real ADK `BaseLlm` that needs no key and no network.

It drives the same tools a hosted model would, in the same loop: on a new request it first
calls `list_data_files` to learn the session's datasets and columns, then calls the one tool
the request asks for with arguments taken from that catalogue, then explains the tool's result
in plain words. Requests it does not understand get a short description of what it can do.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from data_science.models.intents import HELP_TEXT, parse_request, plan_call
from data_science.models.replies import render_result
from data_science.plugins.attachments import ATTACHMENT_MARKER

OFFLINE_MODEL_NAME = "offline"
CATALOGUE_TOOL = "list_data_files"
ATTACHMENT_FOLLOW_UP = (
    'What would you like to know? For example: "describe the data", "plot a histogram of '
    '<column>" or "train a model to predict <column>".'
)


class OfflineModel(BaseLlm):
    """Rule-based model for the everyday requests of each tool family."""

    model: str = OFFLINE_MODEL_NAME

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        content = next_step(llm_request.contents)
        yield LlmResponse(content=content, turn_complete=True)


def next_step(contents: list[types.Content]) -> types.Content:
    """Decide the model's next message from the conversation so far."""
    request = _current_turn(contents)
    if not request.responses:
        return _first_step(request)
    last = request.responses[-1].function_response
    if last is None:
        return _text(HELP_TEXT)
    response: dict[str, Any] = dict(last.response or {})
    if last.name == CATALOGUE_TOOL and len(request.responses) == 1:
        plan = plan_call(parse_request(request.text), response)
        if plan.tool is None:
            return _text(plan.text or HELP_TEXT)
        return _call(plan.tool, plan.args)
    return _text(render_result(last.name or "", response))


def _first_step(request: Request) -> types.Content:
    if not request.text and request.attachments:
        notes = "\n".join(
            note.removeprefix(ATTACHMENT_MARKER).strip() for note in request.attachments
        )
        return _text(f"{notes}\n\n{ATTACHMENT_FOLLOW_UP}")
    intent = parse_request(request.text)
    if intent.family in {"help", "unknown"}:
        return _text(HELP_TEXT)
    if intent.family == "greeting":
        return _text(
            f"Hello! Upload a data file and tell me what you would like to know.\n\n{HELP_TEXT}"
        )
    return _call(CATALOGUE_TOOL, {})


@dataclass
class Request:
    """The person's latest message (its words and attachment notes) and the tool results since."""

    text: str = ""
    attachments: list[str] = field(default_factory=list)
    responses: list[types.Part] = field(default_factory=list)


def _current_turn(contents: list[types.Content]) -> Request:
    responses: list[types.Part] = []
    for content in reversed(contents):
        parts = content.parts or []
        if content.role != "user":
            continue
        texts = [part.text for part in parts if part.text]
        if texts:
            words = [text for text in texts if not text.startswith(ATTACHMENT_MARKER)]
            notes = [text for text in texts if text.startswith(ATTACHMENT_MARKER)]
            return Request(" ".join(words), notes, list(reversed(responses)))
        responses.extend(part for part in reversed(parts) if part.function_response)
    return Request(responses=list(reversed(responses)))


def _text(text: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=text)])


def _call(name: str, args: dict[str, Any]) -> types.Content:
    return types.Content(
        role="model", parts=[types.Part(function_call=types.FunctionCall(name=name, args=args))]
    )
