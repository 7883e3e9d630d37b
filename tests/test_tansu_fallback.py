"""Where Apache Kafka cannot run, `auto` falls back to Tansu, says so, and still works."""

import psutil
import pytest

from botcopier.infra.broker import BrokerUnavailableError, start_broker, status, stop
from botcopier.infra.broker import kafka as kafka_launcher
from botcopier.roundtrip import produce_one, read_at
from botcopier.samples import sample_trade_event
from botcopier.schemas.codec import ValueCodec
from botcopier.streams.admin import create_topics
from tests.helpers import broker_overrides, make_settings

pytestmark = pytest.mark.broker


def test_auto_falls_back_to_tansu_without_java(tmp_path, monkeypatch):
    monkeypatch.setattr(kafka_launcher, "find_java", lambda: None)
    settings = make_settings(tmp_path, **broker_overrides("auto"))
    lines: list[str] = []
    state = start_broker(settings, progress=lines.append)
    try:
        said = "\n".join(lines)
        assert "no Java runtime found" in said
        assert "FALLING BACK to Tansu" in said
        assert state.kind == "tansu" and not state.persistent
        described = status(settings).describe()
        assert "Tansu" in described and "memory-only" in described

        create_topics(settings)
        codec = ValueCodec.from_settings(settings)
        record = sample_trade_event(event_id="via-tansu")
        delivered = produce_one(
            settings, codec, settings.topic("trade-events"), "TradeEvent", record, key="1:2"
        )
        decoded = read_at(settings, codec, delivered, "TradeEvent").record
        assert {k: decoded[k] for k in record} == record
    finally:
        stop(settings, progress=lines.append)
    assert not status(settings).running
    assert not any(
        p.info["pid"] == state.pid and p.status() != psutil.STATUS_ZOMBIE
        for p in psutil.process_iter(["pid"])
    )


def test_explicit_kafka_without_java_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr(kafka_launcher, "find_java", lambda: None)
    settings = make_settings(tmp_path, **broker_overrides("kafka"))
    with pytest.raises(BrokerUnavailableError, match="no Java runtime found"):
        start_broker(settings, progress=lambda _line: None)
    assert not status(settings).running
