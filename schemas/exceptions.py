"""Errors raised while loading schemas or encoding and decoding records."""

from botcopier.exceptions import BotCopierError


class SchemaError(BotCopierError):
    """Base class for schema and serialization problems."""


class SchemaLoadError(SchemaError):
    """An .avsc file is missing, unreadable or not a valid Avro schema."""


class UnknownSchemaError(SchemaError):
    """A schema name that the catalogue does not hold."""


class RecordValidationError(SchemaError):
    """A record does not fit its schema, so it was not encoded."""


class DecodeError(SchemaError):
    """Bytes could not be turned back into a record."""


class NotSingleObjectError(DecodeError):
    """The bytes do not start with the Avro single-object marker C3 01."""


class UnknownFingerprintError(DecodeError):
    """The writer schema's fingerprint is not in the catalogue (a newer producer?)."""

    def __init__(self, fingerprint_hex: str) -> None:
        super().__init__(
            f"unknown writer schema fingerprint {fingerprint_hex}: no schema in the catalogue "
            "has it; the producer may use a newer schema than this consumer knows"
        )
        self.fingerprint_hex = fingerprint_hex


class CorruptPayloadError(DecodeError):
    """The header is fine but the Avro body is truncated, too long or malformed."""


class SchemaResolutionError(DecodeError):
    """Writer and reader versions are incompatible under Avro's resolution rules."""


class SchemaMismatchError(DecodeError):
    """The record decoded fine but is not of the schema the reader expected."""


class RegistryUnavailableError(SchemaError):
    """The configured schema registry could not be reached."""
