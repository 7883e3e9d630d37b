"""OpenTelemetry tracing, set up once per process.

Every service asks `tracer` for its tracer; the first call installs the process's one
`TracerProvider`, configured by the standard ``OTEL_*`` variables (`tracing_plan`): with an
OTLP endpoint set, spans go to it over OTLP/HTTP in batches; ``OTEL_SERVICE_NAME`` renames
the service; ``OTEL_SDK_DISABLED=true`` turns tracing off.

Every event gets a trace id and a span id, which travel inside the event and in the
``traceparent`` Kafka header (`botcopier.trace_context`). Spans are *recorded* only once
something collects them (a span processor added with `export_spans`: OTLP, or a test's
in-memory exporter). Until then `start_event_span` and `start_span` hand out ids without
building SDK spans: building SDK spans nobody reads cost the bridge a fifth of its
per-event time.

Examples
--------
>>> from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, SpanContext, TraceFlags
>>> from opentelemetry.trace import set_span_in_context
>>> parent = SpanContext(7, 8, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
>>> child = start_span(None, "demo", set_span_in_context(NonRecordingSpan(parent)))
>>> child.get_span_context().trace_id, child.get_span_context().span_id != 8
(7, True)
>>> start_span(None, "root").get_span_context().is_valid
True
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

log = logging.getLogger("botcopier.telemetry")

# The OpenTelemetry specification's variables (the SDK and the OTLP exporter read the rest of
# theirs, e.g. OTEL_EXPORTER_OTLP_HEADERS or OTEL_BSP_SCHEDULE_DELAY, themselves).
ENV_SDK_DISABLED = "OTEL_SDK_DISABLED"
ENV_SERVICE_NAME = "OTEL_SERVICE_NAME"
ENV_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
ENV_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_configured_for: str | None = None
_exporting = False


@dataclass(frozen=True)
class TracingPlan:
    """What the ``OTEL_*`` variables ask of this process's tracing."""

    service_name: str
    otlp: bool  # export spans over OTLP/HTTP
    disabled: bool  # OTEL_SDK_DISABLED: no SDK at all, ids only


def tracing_plan(service: str, environ: Mapping[str, str]) -> TracingPlan:
    """Read the standard variables for the service ``service``.

    Examples
    --------
    >>> tracing_plan("bridge", {})
    TracingPlan(service_name='botcopier-bridge', otlp=False, disabled=False)
    >>> env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_SERVICE_NAME": "edge"}
    >>> tracing_plan("bridge", env)
    TracingPlan(service_name='edge', otlp=True, disabled=False)
    >>> tracing_plan("agents", {**env, "OTEL_TRACES_EXPORTER": "none"}).otlp
    False
    >>> tracing_plan("agents", {**env, "OTEL_SDK_DISABLED": "TRUE"}).otlp
    False
    """
    disabled = environ.get(ENV_SDK_DISABLED, "").strip().lower() == "true"
    exporters = {
        name.strip().lower() for name in environ.get(ENV_TRACES_EXPORTER, "otlp").split(",")
    }
    endpoint = any(environ.get(name) for name in ENV_OTLP_ENDPOINTS)
    return TracingPlan(
        service_name=environ.get(ENV_SERVICE_NAME) or f"botcopier-{service}",
        otlp=endpoint and "otlp" in exporters and not disabled,
        disabled=disabled,
    )


def tracer(service: str, environ: Mapping[str, str] | None = None) -> trace.Tracer:
    """The tracer of ``service``, installing the process's provider on first use.

    Later calls, from any service sharing the process, reuse that provider (OpenTelemetry
    allows one per process): its resource names the first service.
    """
    global _configured_for
    if _configured_for is None:
        plan = tracing_plan(service, os.environ if environ is None else environ)
        _configured_for = plan.service_name
        if plan.disabled:
            # No provider: the API's no-op tracer, and `start_span` only hands out ids.
            return trace.get_tracer(f"botcopier.{service}")
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: plan.service_name}))
        trace.set_tracer_provider(provider)
        if plan.otlp:
            # Imported here: its protobuf and requests imports cost every process that
            # does not export.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            export_spans(BatchSpanProcessor(OTLPSpanExporter()))
            log.info("exporting spans over OTLP", extra={"service": plan.service_name})
    return trace.get_tracer(f"botcopier.{service}")


def export_spans(processor: SpanProcessor) -> None:
    """Record spans from now on and hand them to ``processor``."""
    global _exporting
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("call telemetry.tracer() first (and leave OTEL_SDK_DISABLED unset)")
    provider.add_span_processor(processor)
    _exporting = True


def exporting() -> bool:
    """Spans are being recorded (some processor collects them)."""
    return _exporting


def start_event_span(tracer: trace.Tracer, name: str) -> tuple[Span | None, int, int]:
    """(span or None, trace_id, span_id) for one event; the span only when exporting."""
    if _exporting:
        span = tracer.start_span(name, kind=SpanKind.PRODUCER)
        context = span.get_span_context()
        return span, context.trace_id, context.span_id
    # The same id space as the SDK's RandomIdGenerator; zero is invalid in W3C trace context.
    return None, random.getrandbits(128) or 1, random.getrandbits(64) or 1  # noqa: S311


def start_span(
    tracer: trace.Tracer | None,
    name: str,
    parent: Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    links: Sequence[trace.Link] = (),
) -> trace.Span:
    """A span, child of the span in ``parent`` (default: the current context).

    ``links``: spans this one relates to without descending from them (e.g. the producers of
    the messages of a batch); worth building only when `exporting`.

    Not ended: use it with ``trace.use_span(span, end_on_exit=True)``. When nothing records
    spans it is a `NonRecordingSpan` with a fresh span id in the parent's trace (a new trace
    without a parent), so downstream records still carry ids that chain, at the cost of
    two random numbers.
    """
    if _exporting and tracer is not None:
        return tracer.start_span(name, context=parent, kind=kind, links=links)
    upstream = trace.get_current_span(parent).get_span_context()
    if upstream.is_valid:
        trace_id, state = upstream.trace_id, upstream.trace_state
    else:
        trace_id, state = random.getrandbits(128) or 1, None  # noqa: S311
    span_id = random.getrandbits(64) or 1  # noqa: S311
    return NonRecordingSpan(SpanContext(trace_id, span_id, False, _SAMPLED, state))


def traceparent(trace_id: int, span_id: int) -> str:
    """W3C trace-context header value for a sampled span.

    >>> traceparent(1, 2)
    '00-00000000000000000000000000000001-0000000000000002-01'
    """
    return f"00-{trace_id:032x}-{span_id:016x}-01"
