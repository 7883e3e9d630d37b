"""Avro schemas of every record on BotCopier's topics, and the serializers that use them.

The ``.avsc`` files in this folder are the contract between MT4, the bridge, the agents and
the trainers. Records travel in the Avro single-object encoding (decodable with nothing but
this folder) or, when a schema registry is configured, in the Confluent wire format.
"""

from botcopier.schemas.catalogue import AvroSchema, SchemaCatalogue, crc64_avro_fingerprint
from botcopier.schemas.exceptions import (
    CorruptPayloadError,
    DecodeError,
    NotSingleObjectError,
    RecordValidationError,
    SchemaError,
    SchemaLoadError,
    SchemaMismatchError,
    SchemaResolutionError,
    UnknownFingerprintError,
    UnknownSchemaError,
)
from botcopier.schemas.single_object import (
    DecodedRecord,
    SingleObjectDeserializer,
    SingleObjectSerializer,
)

__all__ = [
    "AvroSchema",
    "CorruptPayloadError",
    "DecodeError",
    "DecodedRecord",
    "NotSingleObjectError",
    "RecordValidationError",
    "SchemaCatalogue",
    "SchemaError",
    "SchemaLoadError",
    "SchemaMismatchError",
    "SchemaResolutionError",
    "SingleObjectDeserializer",
    "SingleObjectSerializer",
    "UnknownFingerprintError",
    "UnknownSchemaError",
    "crc64_avro_fingerprint",
]
