"""Graceful shutdown acks everything it read, and every event carries its own span's trace id."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from botcopier import telemetry
from tests.bridge_harness import RawEa, ThreadedBridge
from tests.helpers import consume_to_end
from tests.test_bridge import bridge_settings, decode_all, trade

pytestmark = pytest.mark.broker


def test_graceful_shutdown_acks_every_frame_it_read(fresh_settings):
    settings = bridge_settings(fresh_settings)
    bridge = ThreadedBridge(settings).__enter__()
    ea = RawEa(bridge.port)
    ea.hello("ea-1", "tok-1")
    frames = b"".join(
        RawEa.encode({"type": "trade", "seq": seq, "event_id": f"g{seq}", **trade(1, 5, seq)})
        for seq in range(1, 3001)
    )
    ea.sock.sendall(frames)
    # Shut down once the bridge is under way (it has acked something), so frames are still
    # in flight or unread at that moment; earlier, it might not have read any frame at all.
    last_ack = next(r["seq"] for r in iter(ea.reply, None) if r["type"] == "ack")
    bridge.__exit__(None, None, None)  # SIGTERM's path: stop reading, flush, ack, close
    while True:
        try:
            reply = ea.reply()
        except ConnectionError:
            break
        if reply["type"] == "ack":
            last_ack = reply["seq"]
    ea.close()
    stored = sorted(
        r["seq"] for r in decode_all(consume_to_end(settings, settings.topic("trade-events")))
    )
    # Whatever was read was published and acked; what was not read is the EA's to resend.
    assert last_ack > 0
    assert stored == list(range(1, last_ack + 1))


def test_each_event_carries_the_trace_id_of_its_span(fresh_settings):
    exporter = InMemorySpanExporter()
    telemetry.tracer("bridge")
    telemetry.export_spans(SimpleSpanProcessor(exporter))
    settings = bridge_settings(fresh_settings)
    with ThreadedBridge(settings) as bridge:
        ea = RawEa(bridge.port)
        ea.hello("ea-2", "tok-2")
        ea.send_trades(range(1, 6), account=2, magic=6, id_prefix="t")
        ea.replies_until_ack(5)
        ea.close()
    messages = consume_to_end(settings, settings.topic("trade-events"))
    spans = {format(s.context.trace_id, "032x"): s for s in exporter.get_finished_spans()}
    for message in messages:
        record = decode_all([message])[0]
        span = spans[record["trace_id"]]
        assert format(span.context.span_id, "016x") == record["span_id"]
        assert span.name == "bridge.trade" and span.attributes["seq"] == record["seq"]
        header = dict(message.headers())["traceparent"].decode()
        assert header == f"00-{record['trace_id']}-{record['span_id']}-01"
    assert len(messages) == 5
