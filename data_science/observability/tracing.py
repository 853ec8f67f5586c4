"""OpenTelemetry set-up: ENABLE_TRACING sends spans to an OTLP/HTTP collector; off, nothing.

With it on, ADK's agent, model and tool spans and FastAPI's request spans are exported.

Where spans go follows the standard variables, read by the exporter itself:
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`; default
http://localhost:4318), OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_BSP_SCHEDULE_DELAY.

ADK's ApiServer sets OpenTelemetry up too: if any OTEL_EXPORTER_OTLP_*ENDPOINT variable is set
it installs OTLP exporters for traces, metrics and logs, whatever this product's flag says.
Providers are set once per process, so installing ours first makes ENABLE_TRACING the one
switch: traces are exported only when it is on, OpenTelemetry logs never are (logs go to
stderr), and OpenTelemetry metrics — ADK's GenAI metrics (`gen_ai.client.token.usage`,
`gen_ai.client.operation.duration`, `gen_ai.execute_tool.duration`, …) — are served at
/metrics in Prometheus format beside the product's own.
"""

from __future__ import annotations

import logging

from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from data_science.config import Settings

SERVICE = "data-science-agent"
# The loggers OpenTelemetry warns on when ADK tries to replace providers set here on purpose.
PROVIDER_LOGGERS = (
    "opentelemetry.trace",
    "opentelemetry.metrics._internal",
    "opentelemetry._logs._internal",
)


class _DropProviderOverrideWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Overriding of current")


def configure_tracing(settings: Settings) -> None:
    """Install this process's OpenTelemetry providers (the first call wins; later ones keep it).

    Call before building ADK's FastAPI app, which would otherwise install its own.
    """
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    resource = Resource.create({SERVICE_NAME: SERVICE})
    tracer_provider = TracerProvider(resource=resource)
    if settings.ENABLE_TRACING:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    # The reader registers with prometheus_client's registry, which /metrics serves.
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    )
    _logs.set_logger_provider(LoggerProvider(resource=resource))
    for name in PROVIDER_LOGGERS:
        logging.getLogger(name).addFilter(_DropProviderOverrideWarnings())
