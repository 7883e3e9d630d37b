"""An event frame as the Kafka key and Avro value the bridge publishes, or the reason why not.

`encode_event` is the last check between a parsed frame (`protocol.parse_line`) and Kafka:
bridge-owned fields, the schema version, then every field against the Avro schema. Pure,
no I/O, so the session uses it per frame and the fuzz tests call it millions of times.

Examples
--------
>>> from botcopier.bridge.protocol import parse_line
>>> from botcopier.schemas.catalogue import SchemaCatalogue
>>> from botcopier.schemas.codec import ValueCodec
>>> codec = ValueCodec(SchemaCatalogue.default())
>>> line = (b'{"type":"tick","seq":3,"event_id":"e-3","event_time_ms":1700000000000,'
...         b'"symbol":"EURUSD","bid":1.1,"ask":1.1002}')
>>> event = encode_event(parse_line(line, 65536), ea_id="ea-1", seq=3, schema_version=1,
...     codec=codec, topic="botcopier.market-data", trace_id="0" * 31 + "1", span_id="0" * 15 + "1")
>>> event.key, event.value[:2].hex(), event.record["ea_id"]
(b'EURUSD', 'c301', 'ea-1')
>>> encode_event(parse_line(b'{"type":"tick","seq":4,"bid":"x"}', 65536), ea_id="ea-1", seq=4,
...     schema_version=1, codec=codec, topic="t", trace_id="1" * 32, span_id="1" * 16)
Traceback (most recent call last):
...
botcopier.bridge.exceptions.FrameError: invalid_event: Tick record is invalid: event_id: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botcopier.bridge.exceptions import FrameError
from botcopier.bridge.protocol import EVENT_KINDS, EventKind, Frame, event_record
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import RecordValidationError


@dataclass(frozen=True)
class EncodedEvent:
    """What the bridge publishes for one accepted event frame."""

    kind: EventKind
    record: dict[str, Any]
    key: bytes
    value: bytes


def encode_event(
    frame: Frame,
    *,
    ea_id: str,
    seq: int,
    schema_version: int,
    codec: ValueCodec,
    topic: str,
    trace_id: str,
    span_id: str,
) -> EncodedEvent:
    """The Kafka key and value of an event frame; `FrameError` (``invalid_event``, …) if not.

    ``frame.type`` must be an event type (`EVENT_KINDS`); ``seq`` is the frame's checked seq.
    """
    kind = EVENT_KINDS[frame.type]
    record = event_record(frame, ea_id, seq, schema_version)
    record["trace_id"] = trace_id
    record["span_id"] = span_id
    try:
        value = codec.encode(kind.schema_name, record, topic=topic)
        key = kind.key(record).encode("utf-8")
    except (RecordValidationError, KeyError) as exc:
        reason = str(exc).strip("'\"") or f"{kind.schema_name} record is invalid"
        raise FrameError("invalid_event", reason, seq) from exc
    return EncodedEvent(kind, record, key, value)
