"""W3C trace context across Kafka: read from a consumed message, stamp on a produced one.

A consumer continues the trace of what it consumed: `context_from` takes the ``traceparent``
(and ``tracestate``) Kafka headers through OpenTelemetry's W3C propagator, or, for records
written without headers (imports, older producers), the record's own ``trace_id`` and
``span_id`` fields. A producer stamps what it sends with the current span: `outgoing` gives
the record with that span's ids and the headers that carry them.

Headers come as confluent-kafka and aiokafka give them (a list of ``(name, bytes)`` pairs)
or as a mapping (Faust); names are matched case-insensitively, as W3C asks.

Examples
--------
>>> from opentelemetry import trace
>>> headers = [("traceparent", b"00-0000000000000000000000000000002a-0000000000000007-01")]
>>> parent = context_from(headers, {})
>>> upstream = trace.get_current_span(parent).get_span_context()
>>> upstream.trace_id, upstream.span_id, upstream.is_remote
(42, 7, True)
>>> from_fields = context_from(None, {"trace_id": "2a".zfill(32), "span_id": "7".zfill(16)})
>>> trace.get_current_span(from_fields).get_span_context().span_id
7
>>> with trace.use_span(trace.get_current_span(parent)):
...     record, out = outgoing({"event_id": "e1"})
>>> record["trace_id"][-2:], record["span_id"], [name for name, _ in out]
('2a', '0000000000000007', ['traceparent'])
>>> outgoing({"event_id": "e2", "trace_id": None})
({'event_id': 'e2', 'trace_id': None}, [])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

Headers = list[tuple[str, bytes]]
# What Kafka clients hand a consumer: pairs (confluent-kafka, aiokafka), a mapping (Faust).
ReceivedHeaders = Sequence[tuple[str, bytes | str | None]] | Mapping[str, Any] | None

_PROPAGATOR = TraceContextTextMapPropagator()


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)


class _KafkaHeaderGetter(Getter[ReceivedHeaders]):
    def get(self, carrier: ReceivedHeaders, key: str) -> list[str] | None:
        if not carrier:
            return None
        pairs = carrier.items() if isinstance(carrier, Mapping) else carrier
        found = [_text(v) for k, v in pairs if v is not None and k.lower() == key]
        return found or None

    def keys(self, carrier: ReceivedHeaders) -> list[str]:
        if not carrier:
            return []
        return [k for k in carrier] if isinstance(carrier, Mapping) else [k for k, _ in carrier]


class _KafkaHeaderSetter(Setter[Headers]):
    def set(self, carrier: Headers, key: str, value: str) -> None:
        carrier.append((key, value.encode("latin-1")))


_GETTER = _KafkaHeaderGetter()
_SETTER = _KafkaHeaderSetter()


def context_from(headers: ReceivedHeaders, record: Mapping[str, Any]) -> Context:
    """The context of the span that produced a message: its headers, else its record's ids.

    An empty context (so a new trace) when neither carries a valid one.
    """
    context = _PROPAGATOR.extract(headers, getter=_GETTER)
    if trace.get_current_span(context).get_span_context().is_valid:
        return context
    try:
        trace_id = int(record.get("trace_id") or "0", 16)
        span_id = int(record.get("span_id") or "0", 16)
    except ValueError:  # not hex: not a trace context we can continue
        return Context()
    upstream = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(1))
    if not upstream.is_valid:
        return Context()
    return trace.set_span_in_context(NonRecordingSpan(upstream), Context())


def outgoing(record: Mapping[str, Any]) -> tuple[dict[str, Any], Headers]:
    """``record`` stamped with the current span's ids, and the headers carrying its context.

    With no valid current span the record is returned as it was, with no headers.
    """
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return dict(record), []
    headers: Headers = []
    _PROPAGATOR.inject(headers, setter=_SETTER)
    stamped = {
        **record,
        "trace_id": f"{span_context.trace_id:032x}",
        "span_id": f"{span_context.span_id:016x}",
    }
    return stamped, headers


def links_to(received: Iterable[tuple[ReceivedHeaders, Mapping[str, Any]]]) -> list[trace.Link]:
    """Links to the spans that produced a batch's messages, given (headers, record) pairs.

    For a span over a whole batch, which has no one parent.

    >>> [link.context.span_id for link in links_to([(None, {"trace_id": "1" * 32, "span_id": "9"}),
    ...                                               (None, {})])]
    [9]
    """
    links = []
    for headers, record in received:
        upstream = trace.get_current_span(context_from(headers, record)).get_span_context()
        if upstream.is_valid:
            links.append(trace.Link(upstream))
    return links
