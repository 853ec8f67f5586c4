"""The process's Prometheus metrics: one definition per measured thing, served at /metrics.

Names follow OpenTelemetry's semantic conventions where one exists (`http.server.*`, with dots
as underscores); the product's own carry a `dsagent_` prefix. The GenAI conventions' metrics
(`gen_ai_client_token_usage`, `gen_ai_client_operation_duration_seconds`, …) are ADK's own,
recorded through OpenTelemetry and served beside these (observability/tracing.py).
Labels never carry a user id, a session id, a file name or any other unbounded value.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: from a fast route (a few ms) to an AutoML run (minutes).
_DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)

HTTP_SERVER_REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests, by method, route template and status code.",
    ["http_request_method", "http_route", "http_response_status_code"],
    buckets=_DURATION_BUCKETS,
)

UPLOADS = Counter(
    "dsagent_uploads_total",
    "Uploaded files by outcome (accepted or rejected) and reason (the rejection code).",
    ["outcome", "reason"],
)
UPLOAD_BYTES = Counter(
    "dsagent_upload_bytes_total",
    "Bytes received in uploaded files, by outcome.",
    ["outcome"],
)

TOOL_CALLS = Counter(
    "dsagent_tool_calls_total",
    "Tool executions by tool name and outcome (ok or the error code).",
    ["tool", "outcome"],
)
TOOL_DURATION = Histogram(
    "dsagent_tool_duration_seconds",
    "Duration of tool executions by tool name.",
    ["tool"],
    buckets=_DURATION_BUCKETS,
)

AUTOML_DURATION = Histogram(
    "dsagent_automl_duration_seconds",
    "Wall time of AutoML runs (AutoGluon and FLAML), by engine and outcome.",
    ["engine", "outcome"],
    buckets=_DURATION_BUCKETS,
)

OPERATION_DURATION = Histogram(
    "dsagent_operation_duration_seconds",
    "Duration of operations wrapped in timed_operation, by operation name and outcome.",
    ["operation", "outcome"],
    buckets=_DURATION_BUCKETS,
)

LLM_COST = Counter(
    "dsagent_llm_cost_usd_total",
    "Estimated cost of language-model calls in US dollars (LiteLLM's price map), by model.",
    ["gen_ai_request_model"],
)

ACTIVE_SESSIONS = Gauge(
    "dsagent_active_sessions",
    "Sessions with an agent turn running right now.",
)
