"""OpenTelemetry tracing, set up once per process.

Spans are always made (their ids travel inside every event); they are exported only where
an exporter is configured, so a bare install costs no network.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

_configured_for: str | None = None


def tracer(service_name: str) -> trace.Tracer:
    """The tracer of this process, installing the provider on first use."""
    global _configured_for
    if _configured_for is None:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
        _configured_for = service_name
    return trace.get_tracer(f"botcopier.{service_name}")


def traceparent(trace_id: int, span_id: int) -> str:
    """W3C trace-context header value for a sampled span.

    >>> traceparent(1, 2)
    '00-00000000000000000000000000000001-0000000000000002-01'
    """
    return f"00-{trace_id:032x}-{span_id:016x}-01"
