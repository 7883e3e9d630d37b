"""Avro single-object encoding: ``C3 01`` + 8-byte CRC-64-AVRO fingerprint + Avro body.

Any consumer holding ``schemas/`` can decode these bytes without a registry: the fingerprint
names the writer schema, and Avro resolution turns it into the reader's version.

Examples
--------
>>> from botcopier.schemas.catalogue import SchemaCatalogue
>>> catalogue = SchemaCatalogue.default()
>>> tick = {"event_id": "t-1", "event_time_ms": 1700000000000, "symbol": "EURUSD",
...         "bid": 1.1, "ask": 1.1002}
>>> data = SingleObjectSerializer(catalogue, "Tick").serialize(tick)
>>> data[:2].hex()
'c301'
>>> decoded = SingleObjectDeserializer(catalogue, "Tick").deserialize(data)
>>> decoded["symbol"], decoded["schema_version"], decoded["trace_id"]
('EURUSD', 1, None)
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastavro import schemaless_reader
from fastavro.read import SchemaResolutionError as FastavroResolutionError

from botcopier.schemas.catalogue import AvroSchema, SchemaCatalogue
from botcopier.schemas.exceptions import (
    CorruptPayloadError,
    NotSingleObjectError,
    RecordValidationError,
    SchemaMismatchError,
    SchemaResolutionError,
    UnknownFingerprintError,
)

MARKER = b"\xc3\x01"
FINGERPRINT_BYTES = 8
HEADER_BYTES = len(MARKER) + FINGERPRINT_BYTES


def encode_record(schema: AvroSchema, record: Mapping[str, Any]) -> bytes:
    """The bare Avro body of ``record``, validated field by field as it is written.

    Unknown fields are refused (Avro would silently drop them, so a typo would lose data),
    and so are NaN and infinite doubles.
    """
    try:
        return bytes(schema.encode(record))
    except ValueError as exc:
        raise RecordValidationError(f"{schema.name} record is invalid: {exc}") from exc


def decode_body(writer: AvroSchema, reader: AvroSchema, body: bytes) -> dict[str, Any]:
    """Decode an Avro body written with ``writer`` into ``reader``'s shape."""
    buffer = io.BytesIO(body)
    try:
        record = schemaless_reader(buffer, writer.parsed, reader.parsed)
    except FastavroResolutionError as exc:
        raise SchemaResolutionError(
            f"{writer.name} v{writer.version} data cannot be read as v{reader.version}: {exc}"
        ) from exc
    except Exception as exc:  # fastavro raises EOFError, ValueError, IndexError, ...
        raise CorruptPayloadError(
            f"corrupt {writer.name} v{writer.version} payload: {type(exc).__name__}: {exc}"
        ) from exc
    leftover = len(body) - buffer.tell()
    if leftover:
        raise CorruptPayloadError(
            f"corrupt {writer.name} v{writer.version} payload: {leftover} unexpected trailing bytes"
        )
    return record


class SingleObjectSerializer:
    """Encodes records of one schema (its current version) as single objects."""

    def __init__(self, catalogue: SchemaCatalogue, schema_name: str) -> None:
        self.schema = catalogue.current(schema_name)
        self._header = MARKER + self.schema.fingerprint

    def serialize(self, record: Mapping[str, Any], topic: str | None = None) -> bytes:
        """``topic`` is accepted so it matches the Confluent serializer; this framing
        does not depend on it."""
        return self._header + encode_record(self.schema, record)


@dataclass(frozen=True)
class DecodedRecord:
    schema_name: str
    writer_version: int
    record: dict[str, Any]


class SingleObjectDeserializer:
    """Decodes single objects into the current version of their schema.

    With ``schema_name`` set, anything of another schema is refused with
    `SchemaMismatchError`; without it, every schema in the catalogue is accepted.
    ``reader_version`` pins the shape records are decoded into to an older version of
    ``schema_name`` (a consumer not yet upgraded), instead of the current one.
    """

    def __init__(
        self,
        catalogue: SchemaCatalogue,
        schema_name: str | None = None,
        reader_version: int | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._expected = catalogue.current(schema_name).name if schema_name else None
        self._pinned_reader = None
        if reader_version is not None:
            if schema_name is None:
                raise ValueError("reader_version needs schema_name")
            self._pinned_reader = catalogue.version(schema_name, reader_version)

    def deserialize(self, data: bytes) -> dict[str, Any]:
        return self.deserialize_named(data).record

    def deserialize_named(self, data: bytes) -> DecodedRecord:
        if len(data) < HEADER_BYTES or data[:2] != MARKER:
            raise NotSingleObjectError(
                f"not an Avro single-object payload: expected marker c301 and "
                f"{HEADER_BYTES} header bytes, got {data[:HEADER_BYTES].hex() or 'nothing'}"
            )
        fingerprint = data[2:HEADER_BYTES]
        writer = self._catalogue.by_fingerprint(fingerprint)
        if writer is None:
            raise UnknownFingerprintError(fingerprint.hex())
        if self._expected and writer.name != self._expected:
            raise SchemaMismatchError(f"expected a {self._expected} record, got {writer.name}")
        reader = self._pinned_reader or self._catalogue.current(writer.name)
        record = decode_body(writer, reader, data[HEADER_BYTES:])
        return DecodedRecord(writer.name, writer.version, record)
