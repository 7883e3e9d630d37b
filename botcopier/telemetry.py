"""OpenTelemetry tracing, set up once per process.

Every event gets a trace id and a span id, which travel inside the event and in the
``traceparent`` Kafka header. Spans are *recorded* only once something collects them (a span
processor added with `export_spans`, e.g. OTLP or a test's in-memory exporter): building
SDK spans nobody reads cost the bridge a fifth of its per-event time.
"""

from __future__ import annotations

import random

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider

_configured_for: str | None = None
_exporting = False


def tracer(service_name: str) -> trace.Tracer:
    """The tracer of this process, installing the provider on first use."""
    global _configured_for
    if _configured_for is None:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(provider)
        _configured_for = service_name
    return trace.get_tracer(f"botcopier.{service_name}")


def export_spans(processor: SpanProcessor) -> None:
    """Record spans from now on and hand them to ``processor``."""
    global _exporting
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("call telemetry.tracer() before export_spans()")
    provider.add_span_processor(processor)
    _exporting = True


def start_event_span(tracer: trace.Tracer, name: str) -> tuple[Span | None, int, int]:
    """(span or None, trace_id, span_id) for one event; the span only when exporting."""
    if _exporting:
        span = tracer.start_span(name)
        context = span.get_span_context()
        return span, context.trace_id, context.span_id
    # The same id space as the SDK's RandomIdGenerator; zero is invalid in W3C trace context.
    return None, random.getrandbits(128) or 1, random.getrandbits(64) or 1  # noqa: S311


def traceparent(trace_id: int, span_id: int) -> str:
    """W3C trace-context header value for a sampled span.

    >>> traceparent(1, 2)
    '00-00000000000000000000000000000001-0000000000000002-01'
    """
    return f"00-{trace_id:032x}-{span_id:016x}-01"
