"""Keep what is sent to the model bounded, however long a session runs.

Before every model call the request's conversation is fitted to two limits, on a copy (the
stored session keeps everything):

1. each tool result is at most LLM_TOOL_RESULT_MAX_CHARS characters of JSON: long lists and
   strings are cut with a note saying how much was left out;
2. the whole history is at most LLM_HISTORY_MAX_CHARS characters: first the outputs of earlier
   tool calls are summarised (their short fields such as ids and status kept), oldest first,
   and if that is not enough the oldest whole turns are dropped. The system instruction and the
   current turn stay intact, and a tool call never loses its result: only whole turns go.
"""

from __future__ import annotations

import json
from typing import Any

from google.adk.agents.callback_context import CallbackContext
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types

from data_science.config import Settings

TRUNCATED_NOTE = (
    "Shortened to fit the model's context: lists and texts were cut. Ask for fewer rows or "
    "columns to see more."
)
SUMMARISED_NOTE = (
    "Output of an earlier step, summarised to save context; call the tool again if you need "
    "its details."
)
DROPPED_NOTE = "[Earlier turns of this chat were left out to stay within the context budget.]"
# (items kept per list, characters kept per string), from mild to severe.
TRIM_LEVELS = ((50, 1000), (20, 300), (10, 120), (5, 60), (2, 30))
KEPT_KEYS = frozenset({"status", "error", "message"})
SHORT_VALUE_CHARS = 200


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def shorten(value: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """`value` if its JSON fits in `max_chars`; else a trimmed copy that does, with a note."""
    if json_size(value) <= max_chars:
        return value
    room = max_chars - len(TRUNCATED_NOTE) - 20
    for items, chars in TRIM_LEVELS:
        trimmed = _trim_dict(value, items, chars)
        if json_size(trimmed) <= room:
            return {**trimmed, "_truncated": TRUNCATED_NOTE}
    preview = json.dumps(value, ensure_ascii=False, default=str)[: max(0, room - 40)]
    kept = {key: value[key] for key in KEPT_KEYS & value.keys() if _is_short(value[key])}
    return {**kept, "preview": preview, "_truncated": TRUNCATED_NOTE}


def _trim(value: Any, items: int, chars: int) -> Any:
    if isinstance(value, dict):
        return _trim_dict(value, items, chars)
    if isinstance(value, (list, tuple)):
        kept = [_trim(item, items, chars) for item in value[:items]]
        if len(value) > items:
            kept.append(f"... {len(value) - items} more items left out")
        return kept
    if isinstance(value, str) and len(value) > chars:
        return f"{value[:chars]}... ({len(value) - chars} more characters)"
    return value


def _trim_dict(value: dict[str, Any], items: int, chars: int) -> dict[str, Any]:
    """Trim each entry; keep status, error, message and ids, and at most 2 x items others."""
    always = [key for key in value if key in KEPT_KEYS or str(key).endswith("id")]
    others = [key for key in value if key not in always][: items * 2]
    keep = set(always) | set(others)
    trimmed = {key: _trim(entry, items, chars) for key, entry in value.items() if key in keep}
    if len(value) > len(keep):
        trimmed["_more_keys"] = len(value) - len(keep)
    return trimmed


def _is_short(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple)) and json_size(value) <= SHORT_VALUE_CHARS


def summarise(response: dict[str, Any]) -> dict[str, Any]:
    """The short scalar fields of a tool result (ids, status, names, counts) and a note."""
    kept = {key: value for key, value in response.items() if _is_short(value)}
    omitted = [key for key in response if key not in kept]
    if not omitted:
        return response
    return {**kept, "_omitted": omitted, "_note": SUMMARISED_NOTE}


def _map_responses(content: types.Content, change: Any) -> types.Content:
    """A copy of `content` with each function response passed through `change` (new Parts:
    the request shares nested objects with the stored session, which must not change)."""
    parts = []
    altered = False
    for part in content.parts or []:
        response = part.function_response
        if response is not None and isinstance(response.response, dict):
            new = change(response.response)
            if new is not response.response:
                altered = True
                part = part.model_copy(
                    update={"function_response": response.model_copy(update={"response": new})}
                )
        parts.append(part)
    return content.model_copy(update={"parts": parts}) if altered else content


def _size(content: types.Content) -> int:
    return len(content.model_dump_json(exclude_none=True))


def _has_response(content: types.Content) -> bool:
    return any(part.function_response for part in content.parts or [])


def _starts_turn(content: types.Content) -> bool:
    """A message the person wrote (not a tool result, which also has the user role)."""
    return content.role == "user" and not _has_response(content)


def fit_history(
    contents: list[types.Content], *, max_chars: int, result_max_chars: int
) -> list[types.Content]:
    """The conversation bounded as the module docstring describes."""
    fitted = [_map_responses(c, lambda r: shorten(r, result_max_chars)) for c in contents]
    sizes = [_size(content) for content in fitted]
    if sum(sizes) <= max_chars:
        return fitted
    with_results = [index for index, content in enumerate(fitted) if _has_response(content)]
    for index in with_results[:-1]:  # the latest results are what the model is working on
        fitted[index] = _map_responses(fitted[index], summarise)
        sizes[index] = _size(fitted[index])
        if sum(sizes) <= max_chars:
            return fitted
    starts = [index for index, content in enumerate(fitted) if _starts_turn(content)]
    first = next(
        (start for start in starts if start > 0 and sum(sizes[start:]) <= max_chars),
        starts[-1] if starts else 0,
    )
    if first == 0:
        return fitted
    kept = fitted[first:]
    note = types.Part(text=DROPPED_NOTE)
    kept[0] = kept[0].model_copy(update={"parts": [note, *(kept[0].parts or [])]})
    return kept


class ContextBudgetPlugin(BasePlugin):
    """Fits every model request's conversation to the configured character budgets."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="context_budget")
        self.settings = settings

    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        llm_request.contents = fit_history(
            llm_request.contents,
            max_chars=self.settings.LLM_HISTORY_MAX_CHARS,
            result_max_chars=self.settings.LLM_TOOL_RESULT_MAX_CHARS,
        )
        return None
