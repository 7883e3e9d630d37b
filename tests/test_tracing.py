"""One trade's trace across the services, and W3C trace context through Kafka headers.

The end-to-end test runs the real processes (bridge, Faust agents worker, retrainer) with
OTLP pointed at an in-test receiver, as an operator would point them at a collector.
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from botcopier import telemetry
from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.trace_context import context_from, outgoing
from tests.bridge_harness import RawEa, bridge_process
from tests.helpers import consume_topic, free_port
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.test_agents import NO_DRIFT, close_event
from tests.test_bridge import TOKENS

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_a_consumer_span_continues_the_header_context_with_its_tracestate():
    headers = [("traceparent", f"00-{TRACE}-{PARENT}-01".encode()), ("tracestate", b"mt4=ea-1")]
    # The record's own ids lose to the header: the header is what the producer's span set.
    parent = context_from(headers, {"trace_id": "1" * 32, "span_id": "2" * 16})
    span = telemetry.start_span(telemetry.tracer("test"), "consume", parent)
    with trace.use_span(span, end_on_exit=True):
        record, sent = outgoing({"event_id": "e1", "trace_id": None, "span_id": None})
    own = span.get_span_context()
    assert record["trace_id"] == TRACE and record["span_id"] == f"{own.span_id:016x}"
    assert record["span_id"] != PARENT
    assert dict(sent) == {
        "traceparent": f"00-{TRACE}-{record['span_id']}-01".encode(),
        "tracestate": b"mt4=ea-1",
    }


def test_records_without_headers_continue_from_their_fields_and_nonsense_starts_afresh():
    from_fields = context_from([], {"trace_id": TRACE, "span_id": PARENT})
    upstream = trace.get_current_span(from_fields).get_span_context()
    assert (f"{upstream.trace_id:032x}", f"{upstream.span_id:016x}") == (TRACE, PARENT)
    for record in ({}, {"trace_id": "zz", "span_id": PARENT}, {"trace_id": "0" * 32}):
        assert not trace.get_current_span(context_from(None, record)).get_span_context().is_valid
    # A header that is not W3C falls back to the fields.
    garbled = context_from([("traceparent", b"garbage")], {"trace_id": TRACE, "span_id": PARENT})
    assert trace.get_current_span(garbled).get_span_context().span_id == int(PARENT, 16)


def _service(name: str, argv: list[str], env: dict[str, str], log_dir) -> ServiceProcess:
    return ServiceProcess(name, argv, env, log_dir / f"{name}.log")


def _messages_by_event_id(settings: Settings, topic: str, until: int) -> dict[str, tuple]:
    """event_id -> (record, headers) of a topic's messages."""
    codec = ValueCodec.from_settings(settings)
    out = {}
    for message in consume_topic(settings, settings.topic(topic), until):
        record = codec.decode(message.value(), topic=settings.topic(topic)).record
        out[record["event_id"]] = (record, dict(message.headers() or []))
    return out


def _chain_complete(spans: list[ReceivedSpan]) -> bool:
    names = {s.name for s in spans}
    return {"bridge.trade", "agents.trade", "agents.bot_metrics", "retrainer.train"} <= names


@pytest.mark.broker
def test_one_trades_trace_spans_bridge_agents_and_retrainer_processes(fresh_settings, tmp_path):
    settings = fresh_settings
    account, magic = 77, 4242
    closes = [close_event(account, magic, n, 1_735_689_600_000 + n * 3_600_000, -5.0) for n in
              range(3)]  # fmt: skip
    (tmp_path / "state").mkdir()
    with OtlpReceiver() as receiver:
        env = {
            "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / "state"),
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # Export within a fraction of a second: the Faust worker is killed, not stopped.
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        bridge_env = {
            **env,
            "BOTCOPIER_BRIDGE__METRICS_PORT": "0",
            **{f"BOTCOPIER_BRIDGE__TOKENS__{ea}": token for ea, token in TOKENS.items()},
        }
        # Three losing closes take the win rate under min_win_rate: one retrain request.
        agents_env = {
            **env,
            "BOTCOPIER_AGENTS__MIN_TRADES": "3",
            **{f"BOTCOPIER_AGENTS__{k.upper()}": v for k, v in NO_DRIFT.items()},
        }
        web_port = free_port()
        agents = _service(
            "agents", botcopier_command("agents", "--web-port", str(web_port)), agents_env, tmp_path
        )
        retrainer = _service(
            "retrainer",
            botcopier_command("retrainer", "--max-requests", "1", "--metrics-port", "0"),
            env,
            tmp_path,
        )
        try:
            # The worker's new group reads trade-events from the start: no need to wait for it.
            agents.start(port=web_port, timeout_s=60)
            retrainer.start()
            port = free_port()
            with bridge_process(bridge_env, tmp_path / "bridge.log", port):
                ea = RawEa(port)
                ea.hello("ea-1", TOKENS["ea-1"], account=account)
                for seq, close in enumerate(closes, 1):
                    ea.send({"type": "trade", "seq": seq, **close})
                ea.replies_until_ack(len(closes))
                ea.close()
                decisions = _messages_by_event_id(settings, "retrain-decisions", until=1)
                assert retrainer.process.wait(60) == 0, retrainer.log_tail()
                spans = receiver.wait_for(_chain_complete)
        finally:
            agents.kill()
            retrainer.kill()

    assert _chain_complete(spans), (agents.log_tail(), retrainer.log_tail())
    [(decision, decision_headers)] = decisions.values()
    requests = _messages_by_event_id(settings, "retrain-requests", until=1)
    [(request, request_headers)] = requests.values()
    trades = _messages_by_event_id(settings, "trade-events", until=len(closes))
    trade, trade_headers = trades[request["last_event_id"]]
    metrics, metric_headers = _messages_by_event_id(settings, "bot-metrics", until=len(closes))[
        f"bm-{trade['event_id']}"
    ]

    by_id = {s.span_id: s for s in spans}
    train = next(s for s in spans if s.name == "retrainer.train")
    # Walk from the trainer up to the root: each step is the span that caused the next.
    chain = [train]
    while chain[-1].parent_span_id:
        chain.append(by_id[chain[-1].parent_span_id])
    chain.reverse()
    assert [(s.service, s.name) for s in chain] == [
        ("botcopier-bridge", "bridge.trade"),
        ("botcopier-agents", "agents.trade"),
        ("botcopier-agents", "agents.bot_metrics"),
        ("botcopier-retrainer", "retrainer.request"),
        ("botcopier-retrainer", "retrainer.train"),
    ]
    bridge_span, agent_span, metric_span, request_span, train_span = chain
    assert {s.trace_id for s in chain} == {trade["trace_id"]}
    assert [s.kind for s in chain[:2]] == [
        ProtoSpan.SPAN_KIND_PRODUCER,
        ProtoSpan.SPAN_KIND_CONSUMER,
    ]
    assert agent_span.attributes["botcopier.event_id"] == trade["event_id"]
    assert metric_span.attributes["botcopier.retrain_reason"] == "win_rate"
    assert train_span.attributes["botcopier.outcome"] == decision["outcome"]

    # Each record names the span that produced it, in its fields and its traceparent header.
    for record, headers, span in [
        (trade, trade_headers, bridge_span),
        (metrics, metric_headers, metric_span),
        (request, request_headers, metric_span),
        (decision, decision_headers, train_span),
    ]:
        assert (record["trace_id"], record["span_id"]) == (span.trace_id, span.span_id)
        assert headers["traceparent"].decode() == f"00-{span.trace_id}-{span.span_id}-01"
