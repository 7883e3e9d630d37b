"""Contract tests applied to every schema in the catalogue, plus the decoder's typed errors."""

import json

import pytest

from botcopier.samples import sample_records
from botcopier.schemas import (
    CorruptPayloadError,
    NotSingleObjectError,
    RecordValidationError,
    SchemaCatalogue,
    SchemaMismatchError,
    SingleObjectDeserializer,
    SingleObjectSerializer,
    UnknownFingerprintError,
    UnknownSchemaError,
    crc64_avro_fingerprint,
)
from botcopier.schemas.catalogue import schema_directory

CATALOGUE = SchemaCatalogue.default()
EXPECTED_SCHEMAS = {
    "TradeEvent",
    "MetricSnapshot",
    "Tick",
    "Bar",
    "BotMetrics",
    "DriftEvent",
    "RetrainRequest",
    "RetrainDecision",
    "ModelPublished",
    "Decision",
    "DeadLetter",
}
ENVELOPE = {"event_id": "string", "schema_version": "int", "event_time_ms": "long"}


def test_catalogue_holds_the_design_schemas():
    assert set(CATALOGUE.names()) == EXPECTED_SCHEMAS
    assert set(sample_records()) == EXPECTED_SCHEMAS


@pytest.mark.parametrize("name", sorted(EXPECTED_SCHEMAS))
def test_every_schema_carries_the_envelope_and_trace_context(name):
    schema = CATALOGUE.current(name)
    fields = {f["name"]: f for f in schema.definition["fields"]}
    for field, avro_type in ENVELOPE.items():
        assert fields[field]["type"] == avro_type
    # The producer's declared version and the schema's own version must agree.
    assert fields["schema_version"]["default"] == schema.version
    for trace_field in ("trace_id", "span_id"):
        assert fields[trace_field]["type"] == ["null", "string"]


@pytest.mark.parametrize("name", sorted(EXPECTED_SCHEMAS))
def test_every_schema_round_trips_in_single_object_encoding(name):
    record = sample_records()[name]
    data = SingleObjectSerializer(CATALOGUE, name).serialize(record)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == CATALOGUE.current(name).fingerprint
    decoded = SingleObjectDeserializer(CATALOGUE, name).deserialize(data)
    assert {k: decoded[k] for k in record} == record
    assert decoded["schema_version"] == CATALOGUE.current(name).version


def test_trade_event_carries_what_the_seed_observer_logs():
    fields = {f["name"] for f in CATALOGUE.current("TradeEvent").definition["fields"]}
    required = {
        "event_id",
        "event_time_ms",
        "account",
        "broker",
        "magic",
        "ticket",
        "symbol",
        "action",
        "order_type",
        "lots",
        "open_price",
        "close_price",
        "sl",
        "tp",
        "profit",
        "swap",
        "commission",
        "comment",
        "spread_points",
        "remaining_lots",
        "trace_id",
        "span_id",
        "schema_version",
    }
    assert required <= fields


def test_fingerprint_matches_the_avro_specification_vector():
    # The Avro spec's CRC-64-AVRO of the schema "null" is 0x63dd24e7cc258f8a, stored LE.
    assert crc64_avro_fingerprint("null") == (0x63DD24E7CC258F8A).to_bytes(8, "little")


def test_schema_files_on_disk_are_the_catalogue():
    on_disk = {p.stem for p in schema_directory().glob("*.avsc")}
    assert on_disk == EXPECTED_SCHEMAS
    for path in schema_directory().glob("*.avsc"):
        assert json.loads(path.read_text())["name"] == path.stem


def _trade_bytes():
    return SingleObjectSerializer(CATALOGUE, "TradeEvent").serialize(sample_records()["TradeEvent"])


def test_unknown_fingerprint_is_named():
    data = bytearray(_trade_bytes())
    data[2:10] = bytes(range(8))
    with pytest.raises(UnknownFingerprintError, match="0001020304050607") as info:
        SingleObjectDeserializer(CATALOGUE).deserialize(bytes(data))
    assert info.value.fingerprint_hex == "0001020304050607"


@pytest.mark.parametrize(
    ("mangle", "error", "message"),
    [
        (lambda d: d[:-7], CorruptPayloadError, "corrupt TradeEvent v1 payload"),
        (lambda d: d + b"\x00\x01", CorruptPayloadError, "2 unexpected trailing bytes"),
        (lambda d: b"\x00" + d[1:], NotSingleObjectError, "expected marker c301"),
        (lambda d: d[:5], NotSingleObjectError, "header bytes"),
        (lambda d: b"", NotSingleObjectError, "got nothing"),
    ],
    ids=["truncated", "trailing-bytes", "wrong-marker", "short-header", "empty"],
)
def test_corrupt_payloads_raise_typed_errors(mangle, error, message):
    with pytest.raises(error, match=message):
        SingleObjectDeserializer(CATALOGUE).deserialize(mangle(_trade_bytes()))


def test_reader_for_one_schema_refuses_another():
    tick = SingleObjectSerializer(CATALOGUE, "Tick").serialize(sample_records()["Tick"])
    with pytest.raises(SchemaMismatchError, match="expected a TradeEvent record, got Tick"):
        SingleObjectDeserializer(CATALOGUE, "TradeEvent").deserialize(tick)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lots": "a lot"}, "lots"),
        ({"action": "EXPLODE"}, "action"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_records_are_refused_naming_the_field(change, field):
    record = {**sample_records()["TradeEvent"], **change}
    with pytest.raises(RecordValidationError, match=field):
        SingleObjectSerializer(CATALOGUE, "TradeEvent").serialize(record)


def test_missing_required_field_is_refused():
    record = dict(sample_records()["TradeEvent"])
    del record["ticket"]
    with pytest.raises(RecordValidationError, match="ticket"):
        SingleObjectSerializer(CATALOGUE, "TradeEvent").serialize(record)


def test_unknown_schema_name_lists_the_known_ones():
    with pytest.raises(UnknownSchemaError, match="TradeEvent"):
        CATALOGUE.current("TradeEvents")
