"""The Confluent Schema Registry wire format (magic 0 + 4-byte schema id + Avro body).

Used instead of the single-object encoding when ``kafka.schema_registry_url`` is set, through
confluent-kafka's own Avro serializers so other Confluent-ecosystem consumers can read the
topics. The schema definitions still come from this package's catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from confluent_kafka.error import SerializationError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

try:  # confluent-kafka talks to the registry through httpx2 when installed, else httpx
    from httpx2 import HTTPError as RegistryTransportError
except ImportError:  # pragma: no cover - depends on which one is installed
    from httpx import HTTPError as RegistryTransportError

from botcopier.schemas.catalogue import SchemaCatalogue
from botcopier.schemas.exceptions import (
    CorruptPayloadError,
    DecodeError,
    RecordValidationError,
    RegistryUnavailableError,
)
from botcopier.schemas.single_object import encode_record

CONFLUENT_MAGIC = b"\x00"


def registry_client(url: str) -> SchemaRegistryClient:
    """A client for ``url``; ``mock://…`` gives confluent-kafka's in-process registry."""
    return SchemaRegistryClient.new_client({"url": url})


class ConfluentAvroSerializer:
    """Encodes records of one schema, registering it under ``<topic>-value`` on first use."""

    def __init__(
        self, catalogue: SchemaCatalogue, schema_name: str, client: SchemaRegistryClient
    ) -> None:
        self.schema = catalogue.current(schema_name)
        self._serializer = AvroSerializer(
            client,
            json.dumps(self.schema.definition),
            conf={"auto.register.schemas": True},
        )

    def serialize(self, record: Mapping[str, Any], topic: str) -> bytes:
        # Validating here gives the same error type and message as the single-object path.
        encode_record(self.schema, record)
        try:
            return self._serializer(dict(record), SerializationContext(topic, MessageField.VALUE))
        except (SerializationError, SchemaRegistryError) as exc:
            raise RecordValidationError(
                f"schema registry refused {self.schema.name}: {exc}"
            ) from exc
        except RegistryTransportError as exc:
            raise RegistryUnavailableError(f"schema registry unreachable: {exc}") from exc


class ConfluentAvroDeserializer:
    """Decodes Confluent-framed records into the current version of ``schema_name``."""

    def __init__(
        self, catalogue: SchemaCatalogue, schema_name: str, client: SchemaRegistryClient
    ) -> None:
        self.schema = catalogue.current(schema_name)
        self._deserializer = AvroDeserializer(client, json.dumps(self.schema.definition))

    def deserialize(self, data: bytes, topic: str) -> dict[str, Any]:
        if not data.startswith(CONFLUENT_MAGIC) or len(data) < 5:
            raise DecodeError(
                f"not a Confluent-framed payload: expected magic byte 00 and a schema id, "
                f"got {data[:5].hex() or 'nothing'}"
            )
        try:
            return self._deserializer(data, SerializationContext(topic, MessageField.VALUE))
        except (SerializationError, SchemaRegistryError) as exc:
            raise DecodeError(f"cannot decode {self.schema.name} from the registry: {exc}") from exc
        except RegistryTransportError as exc:
            raise RegistryUnavailableError(f"schema registry unreachable: {exc}") from exc
        except Exception as exc:  # fastavro's own errors for a malformed body
            raise CorruptPayloadError(
                f"corrupt Confluent-framed {self.schema.name} payload: {type(exc).__name__}: {exc}"
            ) from exc
