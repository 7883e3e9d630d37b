"""The value codec: single-object by default, Confluent wire format with a registry.

No Confluent Schema Registry can run on our machines (it is not on Maven Central), so the
registry here is confluent-kafka's own in-process one (``mock://``); the serializers are the
real confluent-kafka ones.
"""

import uuid

import pytest

from botcopier.samples import sample_records
from botcopier.schemas import DecodeError, RecordValidationError, SchemaCatalogue
from botcopier.schemas.codec import ValueCodec

CATALOGUE = SchemaCatalogue.default()


def _registry_codec() -> ValueCodec:
    return ValueCodec(CATALOGUE, registry_url=f"mock://{uuid.uuid4().hex}")


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_confluent_wire_format_round_trips_every_schema(name):
    codec = _registry_codec()
    record = sample_records()[name]
    data = codec.encode(name, record, topic="botcopier.x")
    assert data[0] == 0  # Confluent magic byte, then a 4-byte schema id
    decoded = codec.decode(data, topic="botcopier.x", schema_name=name)
    assert {k: decoded.record[k] for k in record} == record


def test_codec_reads_both_framings_so_switching_on_a_registry_keeps_old_data_readable():
    plain = ValueCodec(CATALOGUE)
    with_registry = _registry_codec()
    record = sample_records()["Tick"]
    old = plain.encode("Tick", record, topic="t")
    new = with_registry.encode("Tick", record, topic="t")
    assert with_registry.decode(old, topic="t", schema_name="Tick").record["bid"] == record["bid"]
    assert with_registry.decode(new, topic="t", schema_name="Tick").record["bid"] == record["bid"]


def test_confluent_value_without_a_registry_is_a_clear_error():
    data = _registry_codec().encode("Tick", sample_records()["Tick"], topic="t")
    with pytest.raises(DecodeError, match="no kafka.schema_registry_url is configured"):
        ValueCodec(CATALOGUE).decode(data, topic="t", schema_name="Tick")


def test_unrecognised_framing_is_a_clear_error():
    with pytest.raises(DecodeError, match="unrecognised value framing 7b22"):
        ValueCodec(CATALOGUE).decode(b'{"json": true}', topic="t")


def test_registry_path_validates_like_the_single_object_path():
    bad = {**sample_records()["Tick"], "bid": "cheap"}
    with pytest.raises(RecordValidationError, match="bid"):
        _registry_codec().encode("Tick", bad, topic="t")


def test_corrupt_confluent_payload_is_a_decode_error():
    codec = _registry_codec()
    data = codec.encode("Tick", sample_records()["Tick"], topic="t")
    with pytest.raises(DecodeError):
        codec.decode(data[:-5], topic="t", schema_name="Tick")
