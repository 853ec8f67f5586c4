"""ENABLE_TRACING: the real app exports ADK's spans over OTLP/HTTP, and nothing when it is off.

The collector is a real HTTP server on 127.0.0.1 that accepts OTLP/HTTP requests (protobuf)
and decodes them with OpenTelemetry's own message definitions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import LiveServer

APP = "data_science"


class Collector:
    """An OTLP/HTTP receiver: records every POST by path (/v1/traces, /v1/metrics, /v1/logs)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                collector.requests.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trace_ids(self) -> set[str]:
        """The trace id (32 hex digits) of every span received."""
        return {
            span.trace_id.hex()
            for path, body in self.requests
            if path == "/v1/traces"
            for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        }

    def spans(self) -> list[tuple[dict[str, str], str]]:
        """(resource attributes, span name) of every span received."""
        found = []
        for path, body in self.requests:
            if path != "/v1/traces":
                continue
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = {
                    item.key: item.value.string_value for item in resource_spans.resource.attributes
                }
                for scope_spans in resource_spans.scope_spans:
                    found += [(resource, span.name) for span in scope_spans.spans]
        return found


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiver = Collector()
    yield receiver
    receiver.server.shutdown()


def run_one_turn(tmp_path: Path, collector: Collector, tracing: str) -> list[dict[str, Any]]:
    """One chat turn on the real app; returns its JSON log lines."""
    server = LiveServer(
        tmp_path / "data",
        {
            "ENABLE_TRACING": tracing,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            # Export quickly, so that a leak (spans, or metrics and logs) would show in the test.
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
        },
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            session_id = http.post(f"/apps/{APP}/users/alice/sessions", json={}).json()["id"]
            turn = http.post(
                "/run",
                json={
                    "app_name": APP,
                    "user_id": "alice",
                    "session_id": session_id,
                    "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
                },
            )
            assert turn.status_code == 200
            # Spans are sent within OTEL_BSP_SCHEDULE_DELAY; wait for them when they should come.
            deadline = time.monotonic() + (20 if tracing == "true" else 0)
            while time.monotonic() < deadline and not any(
                name.startswith("execute_tool") for _, name in collector.spans()
            ):
                time.sleep(0.2)
            time.sleep(1.5)  # anything else (metrics every 200 ms, logs) has arrived by now
    finally:
        server.stop()
    lines = server.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_with_tracing_on_adk_spans_reach_the_otlp_collector(
    tmp_path: Path, collector: Collector
) -> None:
    logs = run_one_turn(tmp_path, collector, "true")
    spans = collector.spans()
    names = {name for _, name in spans}
    assert "invoke_agent data_scientist" in names
    assert "execute_tool list_data_files" in names
    assert any(name.startswith(("call_llm", "generate_content")) for name in names)
    assert "POST /run" in names  # FastAPI's request span, parent of the agent's
    assert all(resource["service.name"] == "data-science-agent" for resource, _ in spans)
    # Only traces: metrics are served at /metrics, logs go to stderr.
    assert {path for path, _ in collector.requests} == {"/v1/traces"}
    # The tool's log line names the trace it ran in.
    (tool_line,) = [line for line in logs if line.get("tool") == "list_data_files"][-1:]
    assert tool_line["trace_id"] in collector.trace_ids()
    assert len(tool_line["span_id"]) == 16


def test_with_tracing_off_nothing_is_sent_even_with_an_endpoint_configured(
    tmp_path: Path, collector: Collector
) -> None:
    logs = run_one_turn(tmp_path, collector, "false")
    assert collector.requests == []
    assert logs and not any("trace_id" in line for line in logs)
