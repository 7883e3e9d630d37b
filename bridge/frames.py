"""Canonical event frames: the one definition of how an EA writes a frame, byte for byte.

The MQL4 Observer (``mql4/Include/BotCopier/Frames.mqh`` with ``Json.mqh``) and the Python EA
client build frames by these rules, so both produce identical bytes for the same event
(``tests/test_mql4_frames.py`` checks it against a golden file). The bridge accepts any valid
JSON; the canonical form only matters for that equivalence. The rules (PROTOCOL.md,
"Canonical frames"):

1. ``{"type":…,"seq":…`` then every record field in Avro schema order, except the fields the
   bridge sets (``ea_id``, ``seq``, ``trace_id``, ``span_id``); absent fields take their
   schema default. No spaces; the line ends with ``\\n``.
2. Strings: ``"`` and ``\\`` escaped, newline/CR/tab as ``\\n``/``\\r``/``\\t``, other
   characters below 0x20 as ``\\u00xx``; everything else as UTF-8.
3. Integers in decimal. Doubles as ``DoubleToString(v, 8)`` with trailing zeros stripped but
   one decimal kept (``2.0``, ``1.08512``); ``-0.0`` is ``0.0``. ``null``, ``true``, ``false``.

Examples
--------
>>> encode_event_frame("tick", 7, {"event_id": "1-ea-7", "event_time_ms": 1700000000000,
...     "symbol": "EURUSD", "bid": 1.1, "ask": 1.10012})
b'{"type":"tick","seq":7,"event_id":"1-ea-7","schema_version":1,"event_time_ms":1700000000000,"broker":"","symbol":"EURUSD","bid":1.1,"ask":1.10012,"volume":0}\\n'
>>> canonical_double(2), canonical_double(-0.0), canonical_double(0.1 + 0.2)
('2.0', '0.0', '0.3')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from botcopier.bridge.protocol import BRIDGE_SET_FIELDS, EVENT_KINDS
from botcopier.schemas.catalogue import SchemaCatalogue

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES.update({chr(c): f"\\u{c:04x}" for c in range(0x20) if chr(c) not in _ESCAPES})
_NEEDS_ESCAPE = str.maketrans(_ESCAPES)
# What the EA never sends: the bridge fills these in.
_SKIPPED = BRIDGE_SET_FIELDS | {"seq"}
_MISSING = object()


def canonical_string(value: str) -> str:
    return '"' + value.translate(_NEEDS_ESCAPE) + '"'


def canonical_double(value: float) -> str:
    """MQL4's ``DoubleToString(v, 8)``, trailing zeros stripped, one decimal kept."""
    value = float(value)
    if -1e7 < value < 1e7:
        # Shortest round-trip text with at most 8 decimals is already the 8-decimal
        # rounding (far below 1e7 an ulp is much smaller than 1e-8): skip the slow path.
        text = repr(value)
        point = text.find(".")
        if point > 0 and len(text) - point <= 9 and "e" not in text and text != "-0.0":
            return text
    text = f"{value:.8f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return "0.0" if text == "-0.0" else text


def _formatter(avro_type: Any) -> Callable[[Any], str]:
    if isinstance(avro_type, list):
        inner = _formatter(avro_type[1])
        return lambda value: "null" if value is None else inner(value)
    if isinstance(avro_type, dict):
        if avro_type["type"] == "enum":
            return canonical_string
        if avro_type["type"] == "map":
            inner = _formatter(avro_type["values"])
            return lambda value: (
                "{" + ",".join(f"{canonical_string(k)}:{inner(v)}" for k, v in value.items()) + "}"
            )
        raise ValueError(f"no canonical frame form for {avro_type['type']} fields")
    return {
        "string": canonical_string,
        "int": lambda value: str(int(value)),
        "long": lambda value: str(int(value)),
        "double": canonical_double,
        "float": canonical_double,
        "boolean": lambda value: "true" if value else "false",
    }[avro_type]


@cache
def _layout(frame_type: str) -> tuple[tuple[str, Any, Callable[[Any], str]], ...]:
    schema = SchemaCatalogue.default().current(EVENT_KINDS[frame_type].schema_name)
    return tuple(
        (field["name"], field.get("default", _MISSING), _formatter(field["type"]))
        for field in schema.definition["fields"]
        if field["name"] not in _SKIPPED
    )


@cache
def _names(frame_type: str) -> frozenset[str]:
    return frozenset(name for name, _default, _format in _layout(frame_type))


def frame_fields(frame_type: str) -> list[str]:
    """The record fields an EA writes for ``frame_type``, in canonical order."""
    return [name for name, _default, _format in _layout(frame_type)]


def complete_record(frame_type: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Every field an EA writes, in canonical order, absent ones at their schema default."""
    return {
        name: record.get(name, default)
        for name, default, _format in _layout(frame_type)
        if record.get(name, default) is not _MISSING
    }


def encode_event_frame(frame_type: str, seq: int, record: Mapping[str, Any]) -> bytes:
    """The canonical line for one event; refuses unknown or missing required fields."""
    layout = _layout(frame_type)
    unknown = record.keys() - _names(frame_type)
    if unknown:
        raise ValueError(f"{frame_type} frame: unknown fields {sorted(unknown)}")
    parts = [f'{{"type":{canonical_string(frame_type)},"seq":{int(seq)}']
    for name, default, format_value in layout:
        value = record.get(name, default)
        if value is _MISSING:
            raise ValueError(f"{frame_type} frame: required field {name} is missing")
        parts.append(f',"{name}":{format_value(value)}')
    parts.append("}\n")
    return "".join(parts).encode("utf-8")
