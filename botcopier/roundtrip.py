"""Produce one record to its topic and read that exact message back, decoded.

The smallest proof that broker, topics and schemas fit together; the demo and the tests use it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.single_object import DecodedRecord
from botcopier.streams.clients import consumer_config, producer_config


class RoundTripError(BotCopierError):
    """The record could not be produced or was not read back in time."""


@dataclass(frozen=True)
class Delivered:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def produce_one(
    settings: Settings,
    codec: ValueCodec,
    topic: str,
    schema_name: str,
    record: Mapping[str, Any],
    key: str,
    timeout_s: float = 30.0,
) -> Delivered:
    value = codec.encode(schema_name, record, topic=topic)
    producer = Producer(producer_config(settings))
    outcome: dict[str, Any] = {}

    def on_delivery(err, msg) -> None:
        outcome["error"], outcome["msg"] = err, msg

    producer.produce(topic, key=key.encode("utf-8"), value=value, on_delivery=on_delivery)
    remaining = producer.flush(timeout_s)
    if remaining or "msg" not in outcome:
        raise RoundTripError(
            f"no delivery report from {settings.bootstrap_servers()} in {timeout_s} s"
        )
    if outcome["error"] is not None:
        raise RoundTripError(f"Kafka refused the record for {topic}: {outcome['error']}")
    msg = outcome["msg"]
    return Delivered(topic, msg.partition(), msg.offset(), key.encode("utf-8"), value)


def read_at(
    settings: Settings,
    codec: ValueCodec,
    delivered: Delivered,
    schema_name: str,
    timeout_s: float = 30.0,
) -> DecodedRecord:
    """Fetch the message at ``delivered``'s exact offset and decode it."""
    consumer = Consumer(consumer_config(settings, group_id=f"botcopier-roundtrip-{time.time_ns()}"))
    try:
        consumer.assign([TopicPartition(delivered.topic, delivered.partition, delivered.offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise RoundTripError(f"consumer error on {delivered.topic}: {msg.error()}")
            if msg.offset() == delivered.offset:
                return codec.decode(msg.value(), topic=delivered.topic, schema_name=schema_name)
    except KafkaException as exc:
        raise RoundTripError(f"cannot read {delivered.topic}: {exc}") from exc
    finally:
        consumer.close()
    raise RoundTripError(
        f"message {delivered.topic}[{delivered.partition}]@{delivered.offset} "
        f"not read back within {timeout_s} s"
    )
