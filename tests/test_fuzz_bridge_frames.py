"""Fuzzing the bridge's frame parser in-process: a line becomes a valid event or a reason.

The path a line takes in the session (`parse_line`, the seq check, `encode_event`) runs
here without sockets or Kafka, on valid frames of every type mutated field by field and
byte by byte, random JSON and random bytes. Properties: nothing but `FrameError` escapes;
every rejection has a protocol code, a non-empty reason and an encodable error frame; every
accepted event decodes with its Avro schema and carries every required field, the EA id
and seq the bridge set, and the Kafka key of its kind.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botcopier.bridge.events import EncodedEvent, encode_event
from botcopier.bridge.exceptions import FrameError
from botcopier.bridge.protocol import (
    BRIDGE_SET_FIELDS,
    CONTROL_TYPES,
    EVENT_KINDS,
    Frame,
    error_frame,
    parse_hello,
    parse_line,
)
from botcopier.schemas import SchemaCatalogue, SingleObjectDeserializer
from botcopier.schemas.codec import ValueCodec
from tests.fuzz_strategies import FUZZ_EXAMPLES, byte_mutations, json_values

pytestmark = pytest.mark.fuzz
CATALOGUE = SchemaCatalogue.default()
CODEC = ValueCodec(CATALOGUE)
READER = SingleObjectDeserializer(CATALOGUE)
MAX_FRAME_BYTES = 2048
EA_ID = "ea-fuzz"
TRACE_ID, SPAN_ID = "ab" * 16, "cd" * 8
GOLDEN = Path(__file__).parent / "golden" / "observer_frames.ndjson"
TEMPLATES = [json.loads(line) for line in GOLDEN.read_text().splitlines()]
assert {t["type"] for t in TEMPLATES} == set(EVENT_KINDS)
TYPES = [*EVENT_KINDS, *CONTROL_TYPES, "ack", "", "TRADE", "error"]
CODES = {
    *("invalid_utf8", "invalid_json", "not_an_object", "oversize", "unknown_type"),
    *("invalid_seq", "invalid_event", "unknown_schema_version"),
}


def dumps(value) -> bytes:
    """JSON text of ``value``; unlike orjson, also integers beyond 64 bits."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def read_line(line: bytes) -> Frame | EncodedEvent | FrameError:
    """What the session makes of one line: a control frame, an event to publish, or why not."""
    try:
        frame = parse_line(line, MAX_FRAME_BYTES)
        if frame.type in CONTROL_TYPES:
            return frame
        seq = frame.seq
        if seq is None:
            raise FrameError("invalid_seq", "seq must be an integer >= 1")
        topic = f"fuzz.{EVENT_KINDS[frame.type].topic}"
        return encode_event(
            frame,
            ea_id=EA_ID,
            seq=seq,
            schema_version=1,
            codec=CODEC,
            topic=topic,
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
        )
    except FrameError as error:
        return error


def check(line: bytes) -> Frame | EncodedEvent | FrameError:
    result = read_line(line)
    if isinstance(result, FrameError):
        assert result.code in CODES, result.code
        assert isinstance(result.reason, str) and result.reason.strip()
        reply = orjson.loads(error_frame(result))
        assert reply["type"] == "error" and reply["reason"] == result.reason
    elif isinstance(result, EncodedEvent):
        body = json.loads(line)
        schema = CATALOGUE.current(result.kind.schema_name)
        decoded = READER.deserialize(result.value)
        required = [f["name"] for f in schema.definition["fields"] if "default" not in f]
        assert all(name in decoded for name in required)
        assert decoded["ea_id"] == EA_ID and decoded["seq"] == body["seq"] >= 1
        assert (decoded["trace_id"], decoded["span_id"]) == (TRACE_ID, SPAN_ID)
        assert BRIDGE_SET_FIELDS.isdisjoint(body)
        # An oracle independent of our own encoder: fastavro's strict validation.
        assert validate(result.record, schema.parsed, raise_errors=False, strict=True)
        assert result.key == result.kind.key(decoded).encode("utf-8")
    else:
        assert result.type in CONTROL_TYPES
        if result.type == "hello":  # the handshake parser: a Hello or a fatal FrameError
            try:
                parse_hello(result, current_schema_version=1)
            except FrameError as error:
                assert error.fatal and error.reason.strip()
    return result


@st.composite
def mutated_frames(draw) -> bytes:
    """A valid frame of some type with fields removed, retyped, added, spoofed or renamed."""
    frame = dict(draw(st.sampled_from(TEMPLATES)))
    fields = sorted(frame)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        choice = draw(st.integers(min_value=0, max_value=5))
        if choice == 0 and frame:
            frame.pop(draw(st.sampled_from(sorted(frame))))
        elif choice == 1:
            frame[draw(st.sampled_from(fields))] = draw(json_values)
        elif choice == 2:
            frame[draw(st.text(max_size=8))] = draw(json_values)
        elif choice == 3:
            frame["type"] = draw(st.sampled_from(TYPES))
        elif choice == 4:
            frame[draw(st.sampled_from(sorted(BRIDGE_SET_FIELDS)))] = draw(st.text(max_size=8))
        else:
            frame[draw(st.sampled_from(["seq", "schema_version"]))] = draw(
                st.integers(min_value=-2, max_value=3) | json_values
            )
    return dumps(frame)


canonical_lines = st.sampled_from([dumps(t) for t in TEMPLATES])
lines = st.one_of(
    mutated_frames(),
    canonical_lines.flatmap(byte_mutations),
    st.binary(max_size=300),
    st.builds(dumps, json_values),
    st.builds(lambda n: b'{"type":"tick","pad":"' + b"x" * n + b'"}', st.integers(0, 4096)),
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(line=lines)
def test_fuzzed_lines_become_valid_events_or_rejections_with_a_reason(line: bytes) -> None:
    check(line)


def test_every_unmutated_golden_frame_is_accepted() -> None:
    for template in TEMPLATES:
        assert isinstance(check(dumps(template)), EncodedEvent), template["type"]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"\xff\xfe", "invalid_utf8"),
        (b"[1]", "not_an_object"),
        (b'{"type":"tick","seq":1,"event_time_ms":1e999}', "invalid_json"),
        (b'{"type":"tick","seq":1,"bid":NaN}', "invalid_json"),
        (b'{"type":"tick","seq":true}', "invalid_seq"),
        (b"{" + b" " * MAX_FRAME_BYTES + b"}", "oversize"),
        (b'{"type":"tick","seq":1,"ea_id":"spoofed"}', "invalid_event"),
    ],
)
def test_known_bad_lines_are_refused_with_their_code(line: bytes, code: str) -> None:
    result = check(line)
    assert isinstance(result, FrameError) and result.code == code
