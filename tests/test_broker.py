"""The real broker started by the project: status, topics, round trips, restart, clean stop."""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import psutil
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from botcopier.infra.broker import BrokerError, start_broker, status, stop
from botcopier.roundtrip import produce_one, read_at
from botcopier.samples import sample_records, sample_trade_event
from botcopier.schemas import SchemaCatalogue
from botcopier.schemas.catalogue import schema_directory
from botcopier.schemas.codec import ValueCodec
from botcopier.streams.admin import create_topics
from botcopier.streams.topics import TOPICS, topic_for_schema
from tests.helpers import ENV_BOOTSTRAP, ENV_KIND, broker_overrides, make_settings

pytestmark = pytest.mark.broker
CATALOGUE = SchemaCatalogue.default()
OWN_KAFKA = not os.environ.get(ENV_BOOTSTRAP) and os.environ.get(ENV_KIND, "kafka") == "kafka"


@pytest.mark.skipif(not OWN_KAFKA, reason="the session broker is not our own Apache Kafka")
def test_status_reports_apache_kafka(kafka_broker):
    current = status(kafka_broker.settings)
    assert current.running and current.reachable
    assert current.state.kind == "kafka"
    assert "Apache Kafka 3.9.1 (KRaft)" in current.describe()
    assert psutil.Process(current.state.pid).name() == "java"


@pytest.mark.skipif(not OWN_KAFKA, reason="the session broker is not our own Apache Kafka")
def test_starting_again_reuses_the_running_broker(kafka_broker):
    before = status(kafka_broker.settings).state
    lines = []
    again = start_broker(kafka_broker.settings, progress=lines.append)
    assert again.pid == before.pid
    assert lines and lines[0].startswith("already running")


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_every_schema_round_trips_through_kafka(kafka_broker, name):
    settings = kafka_broker.settings
    codec = ValueCodec.from_settings(settings)
    topic = topic_for_schema(name).full_name(settings.kafka.topic_prefix)
    record = sample_records()[name]
    delivered = produce_one(settings, codec, topic, name, record, key=f"key-{name}")
    decoded = read_at(settings, codec, delivered, name)
    assert decoded.schema_name == name
    assert {k: decoded.record[k] for k in record} == record


def test_create_topics_is_idempotent_and_applies_the_catalogue(kafka_broker):
    settings = kafka_broker.settings
    again = create_topics(settings)
    assert [s.created for s in again] == [False] * len(TOPICS)
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers()})
    metadata = admin.list_topics(timeout=10).topics
    for spec in TOPICS:
        assert len(metadata[spec.full_name(settings.kafka.topic_prefix)].partitions) == (
            spec.partitions
        )
    models = ConfigResource(ConfigResource.Type.TOPIC, settings.topic("models"))
    config = admin.describe_configs([models])[models].result(timeout=10)
    assert config["cleanup.policy"].value == "compact"


DECODER = textwrap.dedent(
    """
    # A consumer that holds nothing but the schemas/ folder (and fastavro).
    import io, json, pathlib, sys
    import fastavro
    from fastavro.schema import fingerprint, to_parsing_canonical_form

    folder, payload = pathlib.Path(sys.argv[1]), bytes.fromhex(sys.stdin.read())
    schemas = {}
    for path in folder.glob("*.avsc"):
        definition = json.loads(path.read_text())
        fp = fingerprint(to_parsing_canonical_form(definition), "CRC-64-AVRO")
        schemas[bytes.fromhex(fp)] = fastavro.parse_schema(definition)
    assert payload[:2] == b"\\xc3\\x01", "not single-object"
    record = fastavro.schemaless_reader(io.BytesIO(payload[10:]), schemas[payload[2:10]], None)
    assert "botcopier" not in sys.modules
    print(json.dumps(record))
    """
)


def test_single_object_message_decodes_with_only_the_schemas_folder(kafka_broker, tmp_path):
    settings = kafka_broker.settings
    codec = ValueCodec.from_settings(settings)
    record = sample_trade_event(event_id="standalone-1")
    delivered = produce_one(
        settings, codec, settings.topic("trade-events"), "TradeEvent", record, key="123456:777"
    )
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers(), "group.id": "standalone-reader"}
    )
    consumer.assign([TopicPartition(delivered.topic, delivered.partition, delivered.offset)])
    try:
        msg = None
        for _ in range(60):
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                break
    finally:
        consumer.close()
    assert msg is not None and msg.offset() == delivered.offset
    folder = tmp_path / "schemas"
    folder.mkdir()
    for path in schema_directory().glob("*.avsc"):
        shutil.copy(path, folder)
    result = subprocess.run(
        [sys.executable, "-I", "-c", DECODER, str(folder)],
        input=msg.value().hex(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    decoded = json.loads(result.stdout)
    assert {k: decoded[k] for k in record} == record


def test_port_in_use_is_refused_with_a_clear_error(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = make_settings(
            tmp_path, **{**broker_overrides("kafka"), "BROKER__PORT": str(port)}
        )
        with pytest.raises(BrokerError, match=f"127.0.0.1:{port} is already in use"):
            start_broker(settings, progress=lambda _line: None)


def _processes_using(path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in arg for arg in process.info["cmdline"] or ()):
            found.append(process)
    return found


@pytest.mark.skipif(
    os.environ.get(ENV_KIND, "kafka") != "kafka", reason="Tansu keeps its log in memory only"
)
def test_restart_keeps_the_log_and_stop_leaves_no_jvm(tmp_path):
    settings = make_settings(tmp_path, **broker_overrides("kafka"))
    lines: list[str] = []
    first = start_broker(settings, progress=lines.append)
    try:
        create_topics(settings)
        codec = ValueCodec.from_settings(settings)
        record = sample_trade_event(event_id="survives-restart")
        delivered = produce_one(
            settings, codec, settings.topic("trade-events"), "TradeEvent", record, key="1:2"
        )
    finally:
        assert stop(settings, progress=lines.append)
    assert not psutil.pid_exists(first.pid) or (
        psutil.Process(first.pid).status() == psutil.STATUS_ZOMBIE
    )
    assert _processes_using(settings.broker_dir()) == []
    assert not status(settings).running

    second = start_broker(settings, progress=lines.append)
    try:
        assert second.pid != first.pid
        decoded = read_at(settings, codec, delivered, "TradeEvent")
        assert decoded.record["event_id"] == "survives-restart"
        assert create_topics(settings)[0].created is False
    finally:
        stop(settings, progress=lines.append)
    assert _processes_using(settings.broker_dir()) == []
    assert not stop(settings, progress=lines.append)  # stopping twice is harmless
