"""Follow a topic and print its records as readable lines (`botcopier tail`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.clients import consumer_config
from botcopier.streams.topics import topic as topic_spec


def _trade(r: dict[str, Any]) -> str:
    price = r["close_price"] if r["action"] == "CLOSE" else r["open_price"]
    line = (
        f"{r['action']:6} {r['order_type']:4} {r['lots']:.2f} {r['symbol']} @ {price} "
        f"ticket={r['ticket']} magic={r['magic']}"
    )
    if r["action"] == "CLOSE":
        line += f" profit={r['profit']:.2f} remaining={r['remaining_lots']:.2f}"
    return line


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "TradeEvent": _trade,
    "Tick": lambda r: f"{r['symbol']} bid={r['bid']} ask={r['ask']}",
    "Bar": lambda r: (
        f"{r['symbol']} M{r['timeframe_minutes']} O={r['open']} H={r['high']} "
        f"L={r['low']} C={r['close']}"
    ),
    "MetricSnapshot": lambda r: (
        f"magic={r['magic']} win_rate={r['win_rate']:.2f} trades={r['trade_count']} "
        f"sharpe={r['sharpe']:.2f} drawdown={r['max_drawdown']:.2f}"
    ),
    "BotMetrics": lambda r: (
        f"bot={r['account']}:{r['magic']} trades={r['trade_count']} win_rate={r['win_rate']:.2f} "
        f"profit={r['total_profit']:.2f} drawdown={r['max_drawdown']:.2f} "
        f"sharpe={r['sharpe']:.2f} last={r.get('last_event_id')}"
    ),
    "DriftEvent": lambda r: (
        f"bot={r['account']}:{r['magic']} {r['detector']}"
        + (
            f" feature={r['feature']} model={r['model_name']} {r['model_version']}"
            if r.get("feature")
            else ""
        )
        + f" statistic={r['statistic']:.4g} threshold={r['threshold']:.4g}"
    ),
    "RetrainRequest": lambda r: (
        f"model={r['model_name']} reason={r['reason']} ({r.get('detail', '')}) "
        f"last_event_id={r.get('last_event_id')}"
    ),
    "RetrainDecision": lambda r: (
        f"model={r['model_name']} {r['outcome']}: {r['reason']} request={r['request_event_id']}"
    ),
    "DeadLetter": lambda r: (
        f"{r['reason_code']}: {r['reason']} raw={r['raw'][:80]!r} ea={r.get('ea_id')}"
    ),
}


def describe(schema_name: str, record: dict[str, Any]) -> str:
    summary = _SUMMARIES.get(schema_name)
    body = summary(record) if summary else json.dumps(record, default=str)
    origin = f" ea={record['ea_id']} seq={record['seq']}" if record.get("ea_id") else ""
    return f"{schema_name} {body}{origin} id={record['event_id']}"


def tail(
    settings: Settings,
    name: str,
    emit: Callable[[str], None],
    from_beginning: bool = True,
    max_messages: int | None = None,
    idle_timeout_s: float | None = None,
) -> int:
    """Print records of catalogue topic ``name``; returns how many were printed."""
    spec = topic_spec(name)
    topic = spec.full_name(settings.kafka.topic_prefix)
    codec = ValueCodec.from_settings(settings)
    consumer = Consumer(
        consumer_config(
            settings,
            group_id=f"botcopier-tail-{uuid.uuid4().hex[:8]}",
            **{"auto.offset.reset": "earliest" if from_beginning else "latest"},
        )
    )
    consumer.subscribe([topic])
    printed = 0
    last_message_s = time.monotonic()
    try:
        while max_messages is None or printed < max_messages:
            msg = consumer.poll(0.5)
            if msg is None:
                if (
                    idle_timeout_s is not None
                    and time.monotonic() - last_message_s > idle_timeout_s
                ):
                    break
                continue
            last_message_s = time.monotonic()
            if msg.error():
                emit(f"! consumer error: {msg.error()}")
                continue
            key = (msg.key() or b"").decode(errors="replace")
            where = f"{spec.name}[{msg.partition()}]@{msg.offset()} key={key}"
            try:
                decoded = codec.decode(msg.value(), topic=topic)
                emit(f"{where} {describe(decoded.schema_name, decoded.record)}")
            except DecodeError as exc:
                emit(f"{where} ! undecodable: {exc}")
            printed += 1
    finally:
        consumer.close()
    return printed
