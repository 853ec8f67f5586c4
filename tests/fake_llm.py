"""Fake hosted language models on 127.0.0.1, speaking the real wire protocols.

`FakeLLM` is a real HTTP server in a background thread. It answers OpenAI's
`POST /v1/chat/completions` (streamed as server-sent events or not, as the request asks),
Gemini's `POST /v1beta/models/{model}:generateContent` / `:streamGenerateContent` and Ollama's
`POST /api/chat` (JSON or NDJSON lines), and lists its one model at `GET /v1/models`. Each test
scripts the replies it wants, in order: text, tool calls (several at once, malformed arguments,
unknown names), an HTTP error with headers (429 with Retry-After, 500) or a reply slower than
the client's timeout. Every request is recorded with its headers and JSON body, so a test can
assert exactly what went over the wire.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_VERSION = "gpt-4o-2024-08-06"


@dataclass
class Call:
    """One tool call. `arguments` may be a dict (sent as JSON) or a raw string (sent as is)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str = ""

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass
class Text:
    """A plain answer."""

    text: str
    usage: tuple[int, int] | None = None  # (prompt, completion); default: estimated from sizes


@dataclass
class ToolCalls:
    """An answer that calls one or more tools (in parallel when several)."""

    calls: list[Call]
    text: str = ""
    usage: tuple[int, int] | None = None


@dataclass
class Status:
    """An HTTP error answer, e.g. 429 with a Retry-After header or a 500."""

    code: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"


@dataclass
class Slow:
    """Wait `seconds` before sending `then` (a client with a shorter timeout gives up)."""

    seconds: float
    then: Reply


Reply = Text | ToolCalls | Status | Slow
Responder = Callable[["Recorded"], Reply]


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    received_at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def tool_results(self) -> dict[str, str]:
        """tool_call_id -> content of every `tool` message in this (OpenAI) request."""
        return {m["tool_call_id"]: _content_text(m) for m in self.messages if m["role"] == "tool"}

    def assistant_tool_call_ids(self) -> list[str]:
        return [
            call["id"]
            for m in self.messages
            if m["role"] == "assistant"
            for call in m.get("tool_calls") or []
        ]


def _content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def default_responder(_: Recorded) -> Reply:
    return Text("(the fake model has nothing scripted)")


class FakeLLM:
    """A scripted chat-completions (and Gemini) server; use as a context manager."""

    def __init__(self, responder: Responder = default_responder) -> None:
        self.replies: deque[Reply] = deque()
        self.responder = responder
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._counter = 0

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def openai_base(self) -> str:
        """What LLM_API_BASE should be for an OpenAI-compatible client."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def gemini_base(self) -> str:
        """What LLM_API_BASE should be for LiteLLM's Gemini provider."""
        return f"http://127.0.0.1:{self.port}/v1beta"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        """Queue replies, answered in order; afterwards the responder answers."""
        with self._lock:
            self.replies.extend(replies)

    def chat_requests(self) -> list[Recorded]:
        """The model calls received so far (OpenAI or Gemini), in order."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return self.responder(recorded)

    def _next_id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"call_{self._counter:04d}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read the recorded requests instead."""

            def do_GET(self) -> None:
                fake._record(self, b"")
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "gpt-4o"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                recorded = fake._record(self, raw)
                reply = fake._next_reply(recorded)
                while isinstance(reply, Slow):
                    if fake._closing.wait(reply.seconds):
                        return
                    reply = reply.then
                # The client may have given up first (a timeout test): nothing left to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(recorded, reply)

            def _answer(self, recorded: Recorded, reply: Reply) -> None:
                if isinstance(reply, Status):
                    error = {"error": {"message": reply.message, "type": "server_error"}}
                    if "generateContent" in recorded.path or "GenerateContent" in recorded.path:
                        error = {"error": {"code": reply.code, "message": reply.message}}
                    self._json(reply.code, error, reply.headers)
                    return
                assert not isinstance(reply, Slow)
                if recorded.path == "/api/chat":
                    if recorded.body.get("stream"):
                        self._ndjson(list(fake._ollama_chunks(recorded, reply)))
                    else:
                        self._json(200, fake._ollama_response(recorded, reply))
                elif ":streamGenerateContent" in recorded.path:
                    self._sse(list(fake._gemini_chunks(recorded, reply)), gemini=True)
                elif ":generateContent" in recorded.path:
                    self._json(200, fake._gemini_response(recorded, reply))
                elif recorded.body.get("stream"):
                    self._sse(list(fake._openai_chunks(recorded, reply)), gemini=False)
                else:
                    self._json(200, fake._openai_response(recorded, reply))

            def _json(
                self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _ndjson(self, lines: list[dict[str, Any]]) -> None:
                data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, events: list[dict[str, Any]], *, gemini: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for event in events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                if not gemini:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler

    def _record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> Recorded:
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode(errors="replace")}
        recorded = Recorded(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            raw=raw,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(recorded)
        return recorded

    # OpenAI chat completions ------------------------------------------------------------------

    def _usage(self, recorded: Recorded, reply: Text | ToolCalls) -> dict[str, int]:
        if reply.usage is not None:
            prompt, completion = reply.usage
        else:
            produced = len(reply.text) + sum(len(call.arguments_text()) for call in _calls(reply))
            prompt, completion = max(1, len(recorded.raw) // 4), max(1, produced // 4)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _with_ids(self, reply: Text | ToolCalls) -> list[Call]:
        calls = _calls(reply)
        for call in calls:
            call.id = call.id or self._next_id()
        return calls

    def _openai_response(self, recorded: Recorded, reply: Text | ToolCalls) -> dict[str, Any]:
        calls = self._with_ids(reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_text()},
                }
                for call in calls
            ]
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_VERSION,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": self._usage(recorded, reply),
        }

    def _openai_chunks(
        self, recorded: Recorded, reply: Text | ToolCalls
    ) -> Iterator[dict[str, Any]]:
        calls = self._with_ids(reply)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": MODEL_VERSION,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        yield chunk({"role": "assistant", "content": ""})
        for start in range(0, len(reply.text), 7):  # text arrives in small pieces
            yield chunk({"content": reply.text[start : start + 7]})
        for index, call in enumerate(calls):
            opening = {"index": index, "id": call.id, "type": "function"}
            yield chunk(
                {"tool_calls": [{**opening, "function": {"name": call.name, "arguments": ""}}]}
            )
            text = call.arguments_text()
            for start in range(
                0, len(text), 11
            ):  # arguments arrive in pieces, as OpenAI sends them
                piece = {"index": index, "function": {"arguments": text[start : start + 11]}}
                yield chunk({"tool_calls": [piece]})
        yield chunk({}, "tool_calls" if calls else "stop")
        if (recorded.body.get("stream_options") or {}).get("include_usage"):
            yield {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": MODEL_VERSION,
                "choices": [],
                "usage": self._usage(recorded, reply),
            }

    # Gemini generateContent ----------------------------------------------------------------

    def _gemini_response(self, recorded: Recorded, reply: Text | ToolCalls) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if reply.text:
            parts.append({"text": reply.text})
        for call in _calls(reply):
            arguments = call.arguments if isinstance(call.arguments, dict) else {}
            parts.append({"functionCall": {"name": call.name, "args": arguments}})
        usage = self._usage(recorded, reply)
        return {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": usage["prompt_tokens"],
                "candidatesTokenCount": usage["completion_tokens"],
                "totalTokenCount": usage["total_tokens"],
            },
            "modelVersion": "gemini-2.5-flash",
        }

    def _gemini_chunks(
        self, recorded: Recorded, reply: Text | ToolCalls
    ) -> Iterator[dict[str, Any]]:
        whole = self._gemini_response(recorded, reply)
        parts = whole["candidates"][0]["content"]["parts"]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
            if last:
                candidate["finishReason"] = "STOP"
            chunk: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": whole["modelVersion"],
            }
            if last:
                chunk["usageMetadata"] = whole["usageMetadata"]
            yield chunk

    # Ollama /api/chat ------------------------------------------------------------------------

    def _ollama_message(self, reply: Text | ToolCalls) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if calls := _calls(reply):
            message["tool_calls"] = [
                {
                    "function": {
                        "name": call.name,
                        "arguments": call.arguments if isinstance(call.arguments, dict) else {},
                    }
                }
                for call in calls
            ]
        return message

    def _ollama_response(self, recorded: Recorded, reply: Text | ToolCalls) -> dict[str, Any]:
        usage = self._usage(recorded, reply)
        return {
            "model": recorded.body.get("model", "llama3.1"),
            "created_at": datetime.now(UTC).isoformat(),
            "message": self._ollama_message(reply),
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": usage["prompt_tokens"],
            "eval_count": usage["completion_tokens"],
        }

    def _ollama_chunks(
        self, recorded: Recorded, reply: Text | ToolCalls
    ) -> Iterator[dict[str, Any]]:
        model = recorded.body.get("model", "llama3.1")
        for start in range(0, len(reply.text), 7):
            message = {"role": "assistant", "content": reply.text[start : start + 7]}
            yield {"model": model, "created_at": "", "message": message, "done": False}
        if _calls(reply):
            message = {**self._ollama_message(reply), "content": ""}
            yield {"model": model, "created_at": "", "message": message, "done": False}
        final = self._ollama_response(recorded, reply)
        yield {**final, "message": {"role": "assistant", "content": ""}}


def _calls(reply: Text | ToolCalls) -> list[Call]:
    return reply.calls if isinstance(reply, ToolCalls) else []
