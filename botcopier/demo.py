"""The end-to-end demo: what `botcopier demo` (and the README's first command) runs.

Today it starts the local broker, creates the topics and round-trips a sample TradeEvent
through Kafka in the Avro single-object encoding. Each later part of BotCopier extends it.
"""

from __future__ import annotations

from botcopier.config import Settings
from botcopier.infra.broker import start_broker, stop
from botcopier.infra.broker import status as broker_status
from botcopier.roundtrip import produce_one, read_at
from botcopier.samples import sample_trade_event
from botcopier.schemas.codec import ValueCodec
from botcopier.streams.admin import create_topics
from botcopier.streams.topics import topic


def _say(line: str) -> None:
    print(line, flush=True)


def run_demo(settings: Settings, keep_running: bool = False) -> int:
    was_running = broker_status(settings).running
    _say("== 1/3 broker")
    state = start_broker(settings, progress=_say)
    try:
        _say("== 2/3 topics")
        create_topics(settings, progress=lambda line: _say(f"  {line}"))

        _say("== 3/3 round-trip a TradeEvent")
        codec = ValueCodec.from_settings(settings)
        trade_topic = topic("trade-events").full_name(settings.kafka.topic_prefix)
        record = sample_trade_event()
        key = f"{record['account']}:{record['magic']}"
        delivered = produce_one(settings, codec, trade_topic, "TradeEvent", record, key)
        _say(
            f"  produced {len(delivered.value)} bytes ({codec.wire_format}, header "
            f"{delivered.value[:10].hex()}) key={key} -> "
            f"{delivered.topic}[{delivered.partition}]@{delivered.offset}"
        )
        decoded = read_at(settings, codec, delivered, "TradeEvent")
        event = decoded.record
        _say(
            f"  consumed and decoded {decoded.schema_name} v{decoded.writer_version}: "
            f"{event['action']} {event['order_type']} {event['lots']} {event['symbol']} "
            f"@ {event['open_price']} ticket={event['ticket']} magic={event['magic']} "
            f"event_id={event['event_id']}"
        )
        same = all(event[k] == v for k, v in record.items())
        _say(f"  decoded record equals the one sent: {same}")
        _say(f"\nbroker: {state.display_name} on {state.bootstrap}")
        return 0 if same else 1
    finally:
        if keep_running or was_running:
            _say("broker left running: `botcopier broker stop` stops it")
        else:
            stop(settings, progress=_say)
