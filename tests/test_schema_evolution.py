"""Avro schema evolution: old data stays readable by new code, and back where Avro allows."""

import copy
import json

import pytest

from botcopier.samples import sample_records
from botcopier.schemas import (
    SchemaCatalogue,
    SchemaLoadError,
    SchemaResolutionError,
    SingleObjectDeserializer,
    SingleObjectSerializer,
)
from botcopier.schemas.catalogue import AvroSchema, schema_directory

V1 = json.loads((schema_directory() / "TradeEvent.avsc").read_text())


def _v2(new_field: dict) -> dict:
    v2 = copy.deepcopy(V1)
    v2["botcopier_version"] = 2
    fields = v2["fields"]
    next(f for f in fields if f["name"] == "schema_version")["default"] = 2
    fields.insert(len(fields) - 2, new_field)
    return v2


V2 = _v2({"name": "strategy_tag", "type": "string", "default": "untagged"})


def _catalogue(tmp_path, current: dict, history: list[dict]) -> SchemaCatalogue:
    (tmp_path / "history").mkdir(exist_ok=True)
    (tmp_path / "TradeEvent.avsc").write_text(json.dumps(current))
    for old in history:
        name = f"TradeEvent.v{old['botcopier_version']}.avsc"
        (tmp_path / "history" / name).write_text(json.dumps(old))
    return SchemaCatalogue.from_directory(tmp_path)


def test_v1_data_reads_with_v2_reader_using_the_default(tmp_path):
    old_producer = SchemaCatalogue([AvroSchema.from_definition(V1)])
    data = SingleObjectSerializer(old_producer, "TradeEvent").serialize(
        sample_records()["TradeEvent"]
    )
    new_consumer = _catalogue(tmp_path, V2, history=[V1])
    decoded = SingleObjectDeserializer(new_consumer, "TradeEvent").deserialize_named(data)
    assert decoded.writer_version == 1
    assert decoded.record["strategy_tag"] == "untagged"
    assert decoded.record["schema_version"] == 1  # what the writer said it was
    assert decoded.record["ticket"] == sample_records()["TradeEvent"]["ticket"]


def test_v2_data_reads_into_the_v1_shape(tmp_path):
    # Avro allows it: a v1 reader skips the field it does not know. It still needs the
    # writer's schema, which the upgraded schemas/ folder provides by fingerprint.
    catalogue = _catalogue(tmp_path, V2, history=[V1])
    record = {**sample_records()["TradeEvent"], "strategy_tag": "scalper"}
    data = SingleObjectSerializer(catalogue, "TradeEvent").serialize(record)
    decoded = SingleObjectDeserializer(catalogue, "TradeEvent", reader_version=1).deserialize(data)
    assert "strategy_tag" not in decoded
    assert decoded["schema_version"] == 2
    assert {k: decoded[k] for k in sample_records()["TradeEvent"]} == sample_records()["TradeEvent"]


def test_new_field_without_default_cannot_read_old_data(tmp_path):
    v2_bad = _v2({"name": "strategy_tag", "type": "string"})
    old_producer = SchemaCatalogue([AvroSchema.from_definition(V1)])
    data = SingleObjectSerializer(old_producer, "TradeEvent").serialize(
        sample_records()["TradeEvent"]
    )
    consumer = _catalogue(tmp_path, v2_bad, history=[V1])
    with pytest.raises(SchemaResolutionError, match="strategy_tag"):
        SingleObjectDeserializer(consumer, "TradeEvent").deserialize(data)


def test_history_version_must_be_older_than_current(tmp_path):
    with pytest.raises(SchemaLoadError, match="not older than current"):
        _catalogue(tmp_path, V1, history=[V2])
