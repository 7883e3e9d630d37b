"""Avro binary encoding compiled once per schema, validating every value as it writes it.

One pass does what fastavro's validate-then-write did in two, at about a third of the cost
on the bridge's hot path. Errors name the field. Output is byte-for-byte fastavro's
(`tests/test_encoder.py` checks it on every schema).

Beyond plain Avro, records refuse fields their schema does not have (Avro would drop them
silently, so a typo would lose data), doubles must be finite, and a bool is not a number.

Examples
--------
>>> encode = compile_encoder({"type": "record", "name": "P", "fields": [
...     {"name": "qty", "type": "long"}, {"name": "note", "type": ["null", "string"]}]})
>>> bytes(encode({"qty": 3, "note": "hi"})).hex()
'0602046869'
>>> encode({"qty": "3", "note": None})
Traceback (most recent call last):
...
ValueError: qty: expected long, got str '3'
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

# Writes one value into the buffer, or raises ValueError naming ``path``.
Writer = Callable[[bytearray, Any, str], None]

_pack_double = struct.Struct("<d").pack
_pack_float = struct.Struct("<f").pack
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def _fail(path: str, expected: str, value: Any) -> None:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise ValueError(f"{path}: expected {expected}, got {type(value).__name__} {shown}")


def _varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _integer(name: str, bounds: tuple[int, int]) -> Writer:
    low, high = bounds

    def write(out: bytearray, value: Any, path: str) -> None:
        if type(value) is not int or not low <= value <= high:
            _fail(path, name, value)
        n = (value << 1) ^ (value >> 63)
        while n > 0x7F:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)

    return write


def _floating(name: str, pack: Callable[[float], bytes]) -> Writer:
    def write(out: bytearray, value: Any, path: str) -> None:
        kind = type(value)
        if kind is float:
            if math.isnan(value) or math.isinf(value):
                _fail(path, f"a finite {name}", value)
        elif kind is not int:
            _fail(path, name, value)
        out += pack(value)

    return write


def _null(out: bytearray, value: Any, path: str) -> None:
    if value is not None:
        _fail(path, "null", value)


def _boolean(out: bytearray, value: Any, path: str) -> None:
    if type(value) is not bool:
        _fail(path, "boolean", value)
    out.append(1 if value else 0)


def _string(out: bytearray, value: Any, path: str) -> None:
    if type(value) is not str:
        _fail(path, "string", value)
    data = value.encode("utf-8")
    _varint(out, len(data) << 1)
    out += data


def _bytes(out: bytearray, value: Any, path: str) -> None:
    if type(value) is not bytes:
        _fail(path, "bytes", value)
    _varint(out, len(value) << 1)
    out += value


_PRIMITIVES: dict[str, Writer] = {
    "null": _null,
    "boolean": _boolean,
    "int": _integer("int", _INT32),
    "long": _integer("long", _INT64),
    "float": _floating("float", _pack_float),
    "double": _floating("double", _pack_double),
    "string": _string,
    "bytes": _bytes,
}


def _compile(schema: Any, named: dict[str, Writer]) -> Writer:
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        return lambda out, value, path: named[schema](out, value, path)
    if isinstance(schema, list):
        if len(schema) == 2 and schema[0] == "null":
            return _nullable(_compile(schema[1], named))
        return _union([_compile(branch, named) for branch in schema], schema)
    kind = schema["type"]
    writers = {"record": _record, "enum": _enum, "array": _array, "map": _map, "fixed": _fixed}
    if kind not in writers:
        return _compile(kind, named)
    write = writers[kind](schema, named)
    if "name" in schema:
        named[schema["name"]] = write
    return write


def _nullable(inner: Writer) -> Writer:
    # Every optional field is ["null", X]: branch 0 is null, branch 1 (zigzag 2) the value.
    def write(out: bytearray, value: Any, path: str) -> None:
        if value is None:
            out.append(0)
        else:
            out.append(2)
            inner(out, value, path)

    return write


def _union(branches: list[Writer], schema: list) -> Writer:
    names = "|".join(b if isinstance(b, str) else b.get("name", b["type"]) for b in schema)

    def write(out: bytearray, value: Any, path: str) -> None:
        for index, branch in enumerate(branches):
            attempt = bytearray()
            try:
                branch(attempt, value, path)
            except ValueError:
                continue
            _varint(out, index << 1)
            out += attempt
            return
        _fail(path, names, value)

    return write


def _record(schema: Mapping[str, Any], named: dict[str, Writer]) -> Writer:
    missing = object()
    fields = [
        (field["name"], field.get("default", missing), _compile(field["type"], named))
        for field in schema["fields"]
    ]
    known = frozenset(name for name, _default, _write in fields)

    def write(out: bytearray, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            _fail(path or "record", "record", value)
        prefix = f"{path}." if path else ""
        for name, default, field_write in fields:
            item = value.get(name, default)
            if item is missing:
                raise ValueError(f"{prefix}{name}: required field is missing")
            field_write(out, item, prefix + name)
        if len(value) > len(fields) or not known.issuperset(value):
            extra = sorted(set(value) - known)
            raise ValueError(f"{prefix}{extra[0]}: not a field of the schema")

    return write


def _enum(schema: Mapping[str, Any], _named: dict[str, Writer]) -> Writer:
    index = {symbol: position << 1 for position, symbol in enumerate(schema["symbols"])}
    expected = f"one of {'|'.join(schema['symbols'])}"

    def write(out: bytearray, value: Any, path: str) -> None:
        position = index.get(value) if type(value) is str else None
        if position is None:
            _fail(path, expected, value)
        _varint(out, position)

    return write


def _array(schema: Mapping[str, Any], named: dict[str, Writer]) -> Writer:
    items = _compile(schema["items"], named)

    def write(out: bytearray, value: Any, path: str) -> None:
        if type(value) is not list:
            _fail(path, "array", value)
        if value:
            _varint(out, len(value) << 1)
            for position, item in enumerate(value):
                items(out, item, f"{path}[{position}]")
        out.append(0)

    return write


def _map(schema: Mapping[str, Any], named: dict[str, Writer]) -> Writer:
    values = _compile(schema["values"], named)

    def write(out: bytearray, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            _fail(path, "map", value)
        if value:
            _varint(out, len(value) << 1)
            for key, item in value.items():
                if type(key) is not str:
                    _fail(f"{path} key", "string", key)
                _string(out, key, path)
                values(out, item, f"{path}[{key!r}]")
        out.append(0)

    return write


def _fixed(schema: Mapping[str, Any], _named: dict[str, Writer]) -> Writer:
    size = schema["size"]

    def write(out: bytearray, value: Any, path: str) -> None:
        if type(value) is not bytes or len(value) != size:
            _fail(path, f"{size} bytes", value)
        out += value

    return write


def compile_encoder(schema: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bytearray]:
    """A function from record to its Avro body; ValueError names the first bad field."""
    write = _compile(schema, {})

    def encode(record: Mapping[str, Any]) -> bytearray:
        out = bytearray()
        write(out, record, "")
        return out

    return encode
