"""Hosted models through LiteLLM, made to fail gracefully.

`ResilientLiteLlm` is ADK's `LiteLlm` (so ADK treats it exactly like one: tool-call ids are
kept, capabilities are LiteLLM's) with one place for what the provider's answer needs around it:

- 429, 5xx, timeouts and lost connections are retried with exponential backoff and jitter,
  honouring the provider's Retry-After (seconds or an HTTP date), capped; LiteLLM and the
  provider SDKs are told not to retry themselves, so the attempts on the wire are ours alone.
- every answer has a deadline (LLM_TIMEOUT_SECONDS; for a stream, the wait for its next piece).
- when the model cannot answer, the person gets a plain sentence as the model's reply, never a
  crashed turn or a stack trace, and the session stays usable.
- a tool call whose arguments are not a JSON object is kept, with its id, and marked
  (`INVALID_ARGUMENTS_KEY`), so it can be answered with an error result the model can act on;
  ADK would otherwise drop the call and end the turn.
- the last response of every call carries `custom_metadata["llm_call"]`: model, outcome,
  attempts, duration, tokens and the estimated cost (LiteLLM's price map). The usage plugin
  turns that into session totals, metrics and an audit record.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import litellm
from google.adk.models.lite_llm import LiteLlm, LiteLLMClient, _parse_tool_call_arguments
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types
from litellm.exceptions import (
    APIConnectionError,
    AuthenticationError,
    ContextWindowExceededError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Timeout,
)
from pydantic import PrivateAttr

from data_science.config import Settings
from data_science.llm.keys import CALL_METADATA_KEY, INVALID_ARGUMENTS_KEY
from data_science.observability.logging import get_logger

log = get_logger(__name__)

# LiteLLM prints a "Give Feedback / Get Help" banner on every provider error; the log has it.
litellm.suppress_debug_info = True

RAW_ARGUMENTS_SHOWN = 300  # characters of a malformed argument string kept for the model

UNAVAILABLE_MESSAGE = "The language model is not answering right now; please try again in a moment."
KEY_REFUSED_MESSAGE = (
    "The language model refused the API key. Check the key for this provider "
    "(OPENAI_API_KEY, GOOGLE_API_KEY or the provider's own variable) and restart the app."
)
CONTEXT_TOO_LONG_MESSAGE = (
    "This conversation has grown too long for the language model. Start a new session, "
    "or lower LLM_HISTORY_MAX_CHARS."
)
MODEL_NOT_FOUND_MESSAGE = (
    "The provider does not know the configured language model. Check LLM_MODEL (and "
    "LLM_API_BASE) and restart the app."
)
REQUEST_REFUSED_MESSAGE = (
    "The language model could not answer this request. Please rephrase it or try again; "
    "the server log has the details."
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts after the first, backoff, cap and per-answer deadline."""

    max_retries: int
    base_seconds: float
    max_delay_seconds: float
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.LLM_MAX_RETRIES,
            base_seconds=settings.LLM_RETRY_BASE_SECONDS,
            max_delay_seconds=settings.LLM_RETRY_MAX_SECONDS,
            timeout_seconds=settings.LLM_TIMEOUT_SECONDS,
        )

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds before retry number `retry` (0-based): backoff with jitter, or the
        provider's Retry-After when longer; never more than `max_delay_seconds`."""
        backoff = self.base_seconds * 2.0**retry
        jittered = backoff / 2 + random.uniform(0, backoff / 2)  # noqa: S311 - not for secrets
        wanted = max(jittered, retry_after or 0.0)
        return min(wanted, self.max_delay_seconds)


@dataclass(frozen=True)
class Failure:
    """What went wrong with a model call, for the retry decision, the record and the person."""

    outcome: str
    retryable: bool
    message: str


def provider_error(error: BaseException) -> BaseException:
    """The provider's own error inside LiteLLM's wrapper for failures met while streaming
    (which would otherwise hide a 429 and its Retry-After behind a generic 503)."""
    inner = getattr(error, "original_exception", None)
    return provider_error(inner) if isinstance(inner, BaseException) else error


def classify(error: BaseException) -> Failure:
    """Sort a provider error into retryable or not, with the sentence the person sees."""
    if isinstance(error, (TimeoutError, Timeout)):
        return Failure("timeout", True, UNAVAILABLE_MESSAGE)
    if isinstance(error, RateLimitError):
        return Failure("rate_limited", True, UNAVAILABLE_MESSAGE)
    if isinstance(error, ContextWindowExceededError):
        return Failure("context_too_long", False, CONTEXT_TOO_LONG_MESSAGE)
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return Failure("key_refused", False, KEY_REFUSED_MESSAGE)
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and (status >= 500 or status in (408, 409, 429)):
        return Failure("server_error", True, UNAVAILABLE_MESSAGE)
    if isinstance(error, APIConnectionError) and not isinstance(status, int):
        return Failure("unreachable", True, UNAVAILABLE_MESSAGE)
    if isinstance(error, NotFoundError):
        return Failure("model_not_found", False, MODEL_NOT_FOUND_MESSAGE)
    return Failure("refused", False, REQUEST_REFUSED_MESSAGE)


def retry_after_seconds(error: BaseException, now: datetime | None = None) -> float | None:
    """The provider's Retry-After (or retry-after-ms) in seconds, if the error carries one."""
    headers: Any = getattr(error, "litellm_response_headers", None)
    if not headers:
        response = getattr(error, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    lowered = {str(name).lower(): str(value) for name, value in dict(headers).items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def checked_arguments(arguments: Any) -> Any:
    """The arguments unchanged when ADK can read them as a JSON object; else a marked object.

    Uses ADK's own parser, so exactly the calls ADK would discard are marked.
    """
    try:
        parsed = _parse_tool_call_arguments(arguments)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return arguments
    shown = arguments if isinstance(arguments, str) else repr(arguments)
    return json.dumps({INVALID_ARGUMENTS_KEY: shown[:RAW_ARGUMENTS_SHOWN]})


class ArgumentCheckingClient(LiteLLMClient):
    """LiteLLM's client, marking tool calls whose arguments are not a JSON object.

    In a stream, chunks that carry tool calls are held back until the stream says it is done
    (the arguments arrive in pieces), then released with the arguments checked. Text chunks
    pass at once.
    """

    async def acompletion(self, model: Any, messages: Any, tools: Any, **kwargs: Any) -> Any:
        response = await super().acompletion(model, messages, tools, **kwargs)
        if kwargs.get("stream"):
            return _checked_stream(response)
        for choice in response.choices or []:
            for call in getattr(choice.message, "tool_calls", None) or []:
                call.function.arguments = checked_arguments(call.function.arguments)
        return response


async def _checked_stream(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    held: list[Any] = []
    async for chunk in stream:
        choices = chunk.get("choices") or []
        has_calls = any((c.get("delta") or {}).get("tool_calls") for c in choices)
        finished = any(c.get("finish_reason") for c in choices)
        if has_calls or (finished and held):
            held.append(chunk)
        else:
            yield chunk
        if finished and held:
            for released in _with_checked_calls(held):
                yield released
            held = []
    for released in _with_checked_calls(held):
        yield released


def _with_checked_calls(chunks: list[Any]) -> list[Any]:
    """Rewrite the argument pieces of each call: all in its first piece, checked."""
    pieces: dict[int, list[Any]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                if call.function is not None:
                    pieces.setdefault(call.index or 0, []).append(call.function)
    for functions in pieces.values():
        whole = "".join(function.arguments or "" for function in functions)
        checked = checked_arguments(whole)
        if checked != whole:
            for function in functions:
                function.arguments = ""
            functions[0].arguments = checked
    return chunks


class ResilientLiteLlm(LiteLlm):
    """ADK's LiteLlm with retries, a deadline, a plain failure reply and per-call accounting."""

    _policy: RetryPolicy = PrivateAttr()

    def __init__(self, model: str, *, policy: RetryPolicy, **kwargs: Any) -> None:
        # max_retries=0: the OpenAI SDK inside LiteLLM would otherwise retry on its own.
        super().__init__(
            model=model,
            llm_client=ArgumentCheckingClient(),
            timeout=policy.timeout_seconds,
            max_retries=0,
            **kwargs,
        )
        self._policy = policy

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """LiteLlm's answer, retried on transient failures; a plain reply when all fail."""
        started = time.perf_counter()
        usage = _Usage()
        retry = 0
        while True:
            held: LlmResponse | None = None
            answered = False
            try:
                async for response in _with_deadline(
                    super().generate_content_async(llm_request, stream),
                    self._policy.timeout_seconds,
                ):
                    answered = True
                    if response.partial:
                        yield response
                        continue
                    usage.add(response)
                    if held is not None:
                        yield held
                    held = response
            except Exception as raised:  # any provider failure becomes a reply, never a crash
                error = provider_error(raised)
                failure = classify(error)
                if failure.retryable and not answered and retry < self._policy.max_retries:
                    delay = self._policy.delay(retry, retry_after_seconds(error))
                    log.warning(
                        "llm.retry",
                        model=self.model,
                        outcome=failure.outcome,
                        retry=retry + 1,
                        delay_seconds=round(delay, 3),
                        error=type(error).__name__,
                    )
                    retry += 1
                    await asyncio.sleep(delay)
                    continue
                log.warning(
                    "llm.failed",
                    model=self.model,
                    outcome=failure.outcome,
                    attempts=retry + 1,
                    error=type(error).__name__,
                    detail=str(error)[:500],
                )
                if held is not None:
                    yield held
                held = LlmResponse(
                    content=types.Content(role="model", parts=[types.Part(text=failure.message)])
                )
                outcome = failure.outcome
            else:
                outcome = "ok"
            if held is None:
                return
            held.custom_metadata = {
                **(held.custom_metadata or {}),
                CALL_METADATA_KEY: usage.record(
                    self.model, outcome, retry + 1, time.perf_counter() - started
                ),
            }
            yield held
            return


@dataclass
class _Usage:
    """Tokens reported by the provider over one call's responses."""

    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, response: LlmResponse) -> None:
        metadata = response.usage_metadata
        if metadata is not None:
            self.input_tokens += metadata.prompt_token_count or 0
            self.output_tokens += metadata.candidates_token_count or 0

    def record(self, model: str, outcome: str, attempts: int, seconds: float) -> dict[str, Any]:
        return {
            "model": model,
            "outcome": outcome,
            "attempts": attempts,
            "duration_seconds": round(seconds, 4),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": estimated_cost(model, self.input_tokens, self.output_tokens),
        }


def estimated_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    """US dollars by LiteLLM's price map; 0.0 for models it has no price for (local ones)."""
    if not input_tokens and not output_tokens:
        return 0.0
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=input_tokens, completion_tokens=output_tokens
        )
    except Exception:  # an unknown model (Ollama, a private deployment) has no price
        return 0.0
    return float(prompt_cost) + float(completion_cost)


async def _with_deadline(
    responses: AsyncGenerator[LlmResponse, None], seconds: float
) -> AsyncIterator[LlmResponse]:
    """Each next response within `seconds` (plus a second of grace for LiteLLM's own timeout
    to fire first); a stall raises TimeoutError, which is retried like any timeout."""
    try:
        while True:
            try:
                response = await asyncio.wait_for(anext(responses), seconds + 1)
            except StopAsyncIteration:
                return
            yield response
    finally:
        await responses.aclose()
