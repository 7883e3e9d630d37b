"""Plain helpers the tests import (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from botcopier.config import Settings, load_settings

ENV_BOOTSTRAP = "BOTCOPIER_TEST_BOOTSTRAP"
ENV_KIND = "BOTCOPIER_TEST_BROKER_KIND"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_settings(state_dir: Path, **overrides: str) -> Settings:
    """Settings for a test: own state dir, the user's real jar cache, given overrides.

    ``overrides`` are BOTCOPIER_* variable names without the prefix, e.g. BROKER__PORT.
    """
    environ = {
        "BOTCOPIER_PATHS__STATE_DIR": str(state_dir),
        **{f"BOTCOPIER_{key}": value for key, value in overrides.items()},
    }
    for inherited in ("HOME", "XDG_CACHE_HOME"):
        if inherited in os.environ:
            environ[inherited] = os.environ[inherited]
    return load_settings(config_file=None, environ=environ)


def broker_overrides(kind: str) -> dict[str, str]:
    return {
        "BROKER__KIND": kind,
        "BROKER__PORT": str(free_port()),
        "BROKER__CONTROLLER_PORT": str(free_port()),
        "KAFKA__TOPIC_PREFIX": f"test-{uuid.uuid4().hex[:8]}.",
    }


def with_bridge(settings: Settings, **bridge: object) -> Settings:
    """A copy of ``settings`` whose [bridge] section has ``bridge`` applied."""
    return settings.model_copy(update={"bridge": settings.bridge.model_copy(update=bridge)})


def consume_topic(settings: Settings, topic: str, until: int, timeout_s: float = 60.0) -> list:
    """Read ``topic`` from the beginning: at least ``until`` messages (or until the timeout),
    then whatever else arrives before the topic has been quiet for a second.

    Partitions are assigned directly, not through a consumer group, so no rebalance can
    delay or skip a partition.
    """
    import time

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers(),
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    messages = []
    deadline = time.monotonic() + timeout_s
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=10_000, timeout=1.0)
            messages.extend(msg for msg in batch if not msg.error())
            if not batch and len(messages) >= until:
                break
    finally:
        consumer.close()
    return messages


def consume_to_end(settings: Settings, topic: str, timeout_s: float = 60.0) -> list:
    """Every message in ``topic`` now: reads each partition up to its high watermark."""
    import time

    from confluent_kafka import Consumer, TopicPartition

    from botcopier.streams.admin import watermarks

    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers(),
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for partition in partitions:
            low, high = watermarks(consumer, TopicPartition(topic, partition), 10)
            if high > low:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        messages = []
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                if msg.error():
                    continue
                messages.append(msg)
                if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                    ends.pop(msg.partition(), None)
        if ends:
            raise TimeoutError(f"{topic}: partitions {sorted(ends)} not read to the end")
        return messages
    finally:
        consumer.close()
