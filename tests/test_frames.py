"""Canonical frames: the formatting rules, and that the bridge's parser reads them back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botcopier.bridge.frames import canonical_double, canonical_string, encode_event_frame
from botcopier.bridge.protocol import EVENT_KINDS, parse_line
from botcopier.samples import sample_records


def reference_double(value: float) -> str:
    """The rule as written in PROTOCOL.md, without the fast path."""
    text = f"{float(value):.8f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return "0.0" if text == "-0.0" else text


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**9), 10**9)))
def test_canonical_double_is_the_documented_rule(value):
    assert canonical_double(value) == reference_double(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2, "2.0"),
        (-0.0, "0.0"),
        (0.1 + 0.2, "0.3"),
        (1.08512, "1.08512"),
        (1e-9, "0.0"),
        (5e-9, "0.00000001"),
        (-12.5, "-12.5"),
        (1e16, "10000000000000000.0"),
    ],
)
def test_canonical_double_examples(value, text):
    assert canonical_double(value) == text


def test_strings_escape_quotes_backslashes_and_controls():
    assert (
        canonical_string('a"b\\c\nd\re\tf\x01g\x7fh€') == '"a\\"b\\\\c\\nd\\re\\tf\\u0001g\x7fh€"'
    )


RECORDS = {
    "trade": "TradeEvent",
    "metric": "MetricSnapshot",
    "tick": "Tick",
    "bar": "Bar",
    "decision": "Decision",
}


@pytest.mark.parametrize("frame_type", sorted(EVENT_KINDS))
def test_canonical_frames_parse_back_to_the_record(frame_type):
    record = {
        k: v
        for k, v in sample_records()[RECORDS[frame_type]].items()
        if k not in ("seq", "ea_id", "trace_id", "span_id")
    }
    line = encode_event_frame(frame_type, 42, record)
    assert line.endswith(b"\n") and b" " not in line.replace(b"Demo Broker Ltd", b"")
    frame = parse_line(line, max_frame_bytes=65536)
    assert frame.type == frame_type and frame.seq == 42
    body = json.loads(line)
    assert list(body)[:3] == ["type", "seq", "event_id"]
    for key, value in record.items():
        assert body[key] == value


def test_unknown_and_missing_fields_are_refused():
    tick = {"event_id": "t", "event_time_ms": 1, "symbol": "X", "bid": 1.0, "ask": 1.1}
    with pytest.raises(ValueError, match="unknown fields"):
        encode_event_frame("tick", 1, {**tick, "bidd": 1.0})
    del tick["ask"]
    with pytest.raises(ValueError, match="required field ask is missing"):
        encode_event_frame("tick", 1, tick)
