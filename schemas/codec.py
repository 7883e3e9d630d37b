"""Picks the value encoding from the settings: single-object by default, Confluent with a registry.

`ValueCodec` is what producers and consumers hold; it hides which wire format is in use.

Examples
--------
>>> from botcopier.config import load_settings
>>> codec = ValueCodec.from_settings(load_settings(environ={}))
>>> bar = {"event_id": "b-1", "event_time_ms": 0, "symbol": "EURUSD", "timeframe_minutes": 60,
...        "open": 1.0, "high": 1.2, "low": 0.9, "close": 1.1}
>>> data = codec.encode("Bar", bar, topic="botcopier.market-data")
>>> codec.decode(data, topic="botcopier.market-data").schema_name
'Bar'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botcopier.config import Settings
from botcopier.schemas.catalogue import SchemaCatalogue
from botcopier.schemas.confluent import (
    CONFLUENT_MAGIC,
    ConfluentAvroDeserializer,
    ConfluentAvroSerializer,
    registry_client,
)
from botcopier.schemas.exceptions import DecodeError, SchemaMismatchError
from botcopier.schemas.single_object import (
    MARKER,
    DecodedRecord,
    SingleObjectDeserializer,
    SingleObjectSerializer,
)


class ValueCodec:
    """Encodes record values by schema name and decodes whatever arrives.

    Decoding recognises both framings by their first byte, so a consumer keeps reading
    topics that were written before a registry was switched on.
    """

    def __init__(self, catalogue: SchemaCatalogue, registry_url: str | None = None) -> None:
        self.catalogue = catalogue
        self._registry = registry_client(registry_url) if registry_url else None
        self._serializers: dict[str, SingleObjectSerializer | ConfluentAvroSerializer] = {}
        self._confluent_readers: dict[str, ConfluentAvroDeserializer] = {}
        self._single_reader = SingleObjectDeserializer(catalogue)

    @classmethod
    def from_settings(cls, settings: Settings) -> ValueCodec:
        return cls(SchemaCatalogue.default(), settings.kafka.schema_registry_url)

    @property
    def wire_format(self) -> str:
        return "confluent" if self._registry else "single-object"

    def encode(self, schema_name: str, record: Mapping[str, Any], topic: str) -> bytes:
        serializer = self._serializers.get(schema_name)
        if serializer is None:
            if self._registry:
                serializer = ConfluentAvroSerializer(self.catalogue, schema_name, self._registry)
            else:
                serializer = SingleObjectSerializer(self.catalogue, schema_name)
            self._serializers[schema_name] = serializer
        return serializer.serialize(record, topic)

    def decode(self, data: bytes, topic: str, schema_name: str | None = None) -> DecodedRecord:
        """Decode ``data``; Confluent-framed values need ``schema_name`` to pick the reader."""
        if data[:2] == MARKER:
            decoded = self._single_reader.deserialize_named(data)
            if schema_name and decoded.schema_name != schema_name:
                raise SchemaMismatchError(
                    f"expected a {schema_name} record, got {decoded.schema_name}"
                )
            return decoded
        if data[:1] == CONFLUENT_MAGIC:
            if self._registry is None:
                raise DecodeError(
                    "value is in the Confluent wire format but no kafka.schema_registry_url "
                    "is configured"
                )
            if schema_name is None:
                raise DecodeError("decoding a Confluent-framed value needs the schema name")
            reader = self._confluent_readers.get(schema_name)
            if reader is None:
                reader = ConfluentAvroDeserializer(self.catalogue, schema_name, self._registry)
                self._confluent_readers[schema_name] = reader
            record = reader.deserialize(data, topic)
            return DecodedRecord(schema_name, int(record.get("schema_version", 0)), record)
        raise DecodeError(
            f"unrecognised value framing {data[:2].hex() or 'empty'}: expected Avro single-object "
            "(c301) or Confluent (00)"
        )
