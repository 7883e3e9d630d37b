"""Parsing and building the frames of the bridge wire protocol (see PROTOCOL.md).

Pure functions, no I/O: the server and the EA client both use them.

Examples
--------
>>> frame = parse_line(b'{"type":"ping","t":7}\\n', max_frame_bytes=1024)
>>> frame.type, frame.body["t"]
('ping', 7)
>>> encode_frame({"type": "ack", "seq": 12})
b'{"type":"ack","seq":12}\\n'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from botcopier.bridge.exceptions import FrameError

PROTOCOL_VERSION = 1
HEARTBEAT_S = 15
EA_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class EventKind:
    """How one event frame type maps onto Avro and Kafka."""

    frame_type: str
    schema_name: str
    topic: str
    key_fields: tuple[str, ...]

    @property
    def span_name(self) -> str:
        return f"bridge.{self.frame_type}"

    def key(self, record: dict[str, Any]) -> str:
        return ":".join(str(record[field]) for field in self.key_fields)


EVENT_KINDS: dict[str, EventKind] = {
    kind.frame_type: kind
    for kind in (
        EventKind("trade", "TradeEvent", "trade-events", ("account", "magic")),
        EventKind("metric", "MetricSnapshot", "ea-metrics", ("account", "magic")),
        EventKind("tick", "Tick", "market-data", ("symbol",)),
        EventKind("bar", "Bar", "market-data", ("symbol",)),
        EventKind("decision", "Decision", "decisions", ("account", "magic")),
    )
}
CONTROL_TYPES = frozenset({"hello", "ping"})
# Fields the bridge sets itself: an EA sending them would be spoofing the link or the trace.
BRIDGE_SET_FIELDS = frozenset({"ea_id", "trace_id", "span_id"})


@dataclass(frozen=True)
class Frame:
    type: str
    body: dict[str, Any]
    raw: bytes

    @property
    def seq(self) -> int | None:
        return readable_seq(self.body)


def readable_seq(body: dict[str, Any]) -> int | None:
    seq = body.get("seq")
    if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1:
        return seq
    return None


def parse_line(line: bytes, max_frame_bytes: int) -> Frame:
    """One line (with or without its newline) as a Frame, or a FrameError saying why not."""
    if len(line) > max_frame_bytes:
        raise FrameError("oversize", f"frame of {len(line)} bytes exceeds {max_frame_bytes}")
    text_bytes = line.rstrip(b"\n").rstrip(b"\r")
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError("invalid_utf8", f"frame is not valid UTF-8: {exc.reason}") from exc
    try:
        # orjson: a quarter of the stdlib's parse time, and strict RFC 8259 JSON, so NaN,
        # Infinity and numbers beyond 64 bits are refused here.
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FrameError("invalid_json", f"frame is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise FrameError("not_an_object", f"frame is a JSON {type(body).__name__}, not an object")
    frame_type = body.get("type")
    if not isinstance(frame_type, str) or (
        frame_type not in EVENT_KINDS and frame_type not in CONTROL_TYPES
    ):
        raise FrameError(
            "unknown_type",
            f"unknown frame type {frame_type!r}; expected one of "
            f"{', '.join(sorted([*EVENT_KINDS, *CONTROL_TYPES]))}",
            seq=readable_seq(body),
        )
    return Frame(frame_type, body, bytes(line))


def encode_frame(frame: dict[str, Any]) -> bytes:
    return orjson.dumps(frame) + b"\n"


def error_frame(error: FrameError) -> bytes:
    return encode_frame(
        {
            "type": "error",
            "code": error.code,
            "reason": error.reason,
            "seq": error.seq,
            "fatal": error.fatal,
        }
    )


@dataclass(frozen=True)
class Hello:
    ea_id: str
    account: int
    token: str
    schema_version: int
    resume_from: int


def _int_field(body: dict[str, Any], name: str, minimum: int) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise FrameError(
            "invalid_hello", f"hello.{name} must be an integer >= {minimum}", fatal=True
        )
    return value


def parse_hello(frame: Frame, current_schema_version: int) -> Hello:
    if frame.type != "hello":
        raise FrameError(
            "hello_required", f"the first frame must be hello, not {frame.type}", fatal=True
        )
    body = frame.body
    protocol = _int_field(body, "protocol", 1)
    if protocol != PROTOCOL_VERSION:
        raise FrameError(
            "unsupported_protocol",
            f"protocol {protocol} is not supported; this bridge speaks {PROTOCOL_VERSION}",
            fatal=True,
        )
    ea_id = body.get("ea_id")
    if not isinstance(ea_id, str) or not EA_ID_PATTERN.match(ea_id):
        raise FrameError(
            "invalid_hello",
            "hello.ea_id must be 1-64 characters of A-Z a-z 0-9 . _ : -",
            fatal=True,
        )
    token = body.get("token")
    if not isinstance(token, str):
        raise FrameError("invalid_hello", "hello.token must be a string", fatal=True)
    schema_version = _int_field(body, "schema_version", 1)
    if schema_version > current_schema_version:
        raise FrameError(
            "unknown_schema_version",
            f"EA writes schema version {schema_version}; this bridge knows up to "
            f"{current_schema_version}: upgrade the bridge",
            fatal=True,
        )
    return Hello(
        ea_id=ea_id,
        account=_int_field(body, "account", 0),
        token=token,
        schema_version=schema_version,
        resume_from=_int_field(body, "resume_from", 1),
    )


def without_token(line: bytes) -> bytes:
    """A hello line as it may be stored (dead letters): its ``token`` replaced by ``***``.

    A refused hello may carry a real token (a valid one with a bad field, an old one, a
    typo of one). A line that is not a JSON object has no token field and stays as it is.

    >>> without_token(b'{"type":"hello","token":"s3cret","ea_id":"ea-1"}\\n')
    b'{"type":"hello","token":"***","ea_id":"ea-1"}\\n'
    """
    try:
        body = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(body, dict) or "token" not in body:
        return line
    body["token"] = "***"  # noqa: S105 - the mask, not a password
    return encode_frame(body)


def event_record(frame: Frame, ea_id: str, seq: int, schema_version: int) -> dict[str, Any]:
    """The Avro record of an event frame, before schema validation.

    Raises `FrameError` for what the schema cannot see: bridge-owned fields sent by the EA,
    or a schema version newer than the bridge's.
    """
    body = frame.body
    if not BRIDGE_SET_FIELDS.isdisjoint(body):
        spoofed = sorted(BRIDGE_SET_FIELDS & body.keys())
        raise FrameError(
            "invalid_event", f"fields set by the bridge must not be sent: {', '.join(spoofed)}", seq
        )
    claimed = body.get("schema_version", schema_version)
    if not isinstance(claimed, int) or isinstance(claimed, bool) or claimed < 1:
        raise FrameError("invalid_event", "schema_version must be an integer >= 1", seq)
    if claimed > schema_version:
        raise FrameError(
            "unknown_schema_version",
            f"{frame.type} frame has schema version {claimed}; this bridge knows up to "
            f"{schema_version}",
            seq,
        )
    record = dict(body)
    del record["type"], record["seq"]
    record["schema_version"] = claimed
    record["ea_id"] = ea_id
    record["seq"] = seq
    return record
