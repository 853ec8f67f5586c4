"""A session's ADK events read as the chat the notebook export reproduces.

Each message the person typed starts a request; each tool call the agent made while answering it
becomes a step once its answer is found (matched by the call's id), with the arguments the model
passed and the result the tool gave. Calls that failed, were interrupted or never answered are
left out: they computed nothing the notebook could repeat. Calls that describe the chat rather
than work on its data (listing its files, showing code, the export itself) are left out too:
a model may list the files before every step, and the notebook would repeat that listing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.adk.events.event import Event

from data_science.reproduce.code import Step
from data_science.reproduce.notebook import ChatRequest, RecordedStep

NOT_STEPS = frozenset({"list_data_files", "export_notebook", "show_code"})


def chat_requests(events: Iterable[Event]) -> list[ChatRequest]:
    """The person's requests in order, each with the successful steps that answered it."""
    requests: list[ChatRequest] = []
    text: str | None = None
    steps: list[RecordedStep] = []
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for event in events:
        if event.partial or event.content is None:
            continue
        parts = event.content.parts or []
        typed = [part.text for part in parts if part.text and not part.thought]
        if event.author == "user" and typed:
            if text is not None or steps:
                requests.append(ChatRequest(text or "", tuple(steps)))
            text, steps = "\n".join(typed), []
        for part in parts:
            call, answer = part.function_call, part.function_response
            if call is not None and call.id and call.name:
                calls[call.id] = (call.name, dict(call.args or {}))
            answered = answer.id if answer is not None else None
            if answer is not None and answered is not None and answered in calls:
                name, args = calls.pop(answered)
                result = dict(answer.response or {})
                if result.get("status") == "ok" and name not in NOT_STEPS:
                    steps.append(RecordedStep(answered, Step(name, args, result)))
    if text is not None or steps:
        requests.append(ChatRequest(text or "", tuple(steps)))
    return requests
