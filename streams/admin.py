"""Idempotent creation of the catalogue's topics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.streams.clients import admin_config
from botcopier.streams.topics import TOPICS, TopicSpec


class TopicAdminError(BotCopierError):
    """Kafka refused to create a topic or could not be reached."""


@dataclass(frozen=True)
class TopicStatus:
    name: str
    created: bool  # False: it already existed
    partitions: int


def create_topics(
    settings: Settings,
    specs: Iterable[TopicSpec] = TOPICS,
    timeout_s: float = 30.0,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[TopicStatus]:
    """Create every missing topic; existing ones are left as they are and reported."""
    admin = AdminClient(admin_config(settings))
    prefix = settings.kafka.topic_prefix
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise TopicAdminError(
            f"cannot reach Kafka at {settings.bootstrap_servers()} to list topics: {exc}"
        ) from exc

    wanted = {spec.full_name(prefix): spec for spec in specs}
    missing = [
        NewTopic(
            name,
            num_partitions=spec.partitions,
            replication_factor=settings.kafka.replication_factor,
            config=dict(spec.config),
        )
        for name, spec in wanted.items()
        if name not in existing
    ]
    created: set[str] = set()
    if missing:
        for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
            try:
                future.result(timeout=timeout_s)
                created.add(name)
                progress(f"created {name} ({wanted[name].partitions} partitions)")
            except KafkaException as exc:
                # Another process may have created it between list and create.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise TopicAdminError(f"cannot create topic {name}: {exc}") from exc

    if created:
        _wait_for_leaders(admin, created, timeout_s)
    statuses = []
    for name, spec in wanted.items():
        if name not in created:
            partitions = len(existing[name].partitions) if name in existing else spec.partitions
            progress(f"exists  {name} ({partitions} partitions)")
        else:
            partitions = spec.partitions
        statuses.append(TopicStatus(name, name in created, partitions))
    return statuses


def _wait_for_leaders(admin: AdminClient, topics: set[str], timeout_s: float) -> None:
    """Return once every partition of ``topics`` has a leader: new topics serve nothing before."""
    deadline = time.monotonic() + timeout_s
    while True:
        metadata = admin.list_topics(timeout=timeout_s).topics
        waiting = [
            name
            for name in topics
            if name not in metadata
            or metadata[name].error is not None
            or any(p.leader < 0 or p.error is not None for p in metadata[name].partitions.values())
        ]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TopicAdminError(
                f"topics without partition leaders after {timeout_s} s: {waiting}"
            )
        time.sleep(0.1)


def message_counts(settings: Settings, names: Iterable[str], timeout_s: float = 10.0) -> dict:
    """Messages currently held per catalogue topic (high minus low watermark, all partitions)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers(), "group.id": "botcopier-counts"}
    )
    counts = {}
    try:
        for name in names:
            topic = settings.topic(name)
            metadata = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
            total = 0
            for partition in metadata.partitions:
                low, high = watermarks(consumer, TopicPartition(topic, partition), timeout_s)
                total += high - low
            counts[name] = total
    finally:
        consumer.close()
    return counts


_NOT_READY = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def watermarks(consumer, partition, timeout_s: float) -> tuple[int, int]:
    # A partition created a moment ago may not have taken up leadership yet: retry.
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return consumer.get_watermark_offsets(partition, timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() not in _NOT_READY or time.monotonic() > deadline:
                raise TopicAdminError(f"cannot read offsets of {partition.topic}: {exc}") from exc
            time.sleep(0.1)


def group_assignments(settings: Settings, group: str, topic: str) -> list[set[int]]:
    """Partitions of ``topic`` held by each member of consumer group ``group`` (may be [])."""
    admin = AdminClient(admin_config(settings))
    [future] = admin.describe_consumer_groups([group]).values()
    return [
        {tp.partition for tp in member.assignment.topic_partitions if tp.topic == topic}
        for member in future.result(10).members
    ]


_COORDINATOR_NOT_READY = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
}


def wait_for_group(
    settings: Settings, group: str, topic: str, members: int = 1, timeout_s: float = 90.0
) -> list[set[int]]:
    """Block until ``members`` members of ``group`` each hold partitions of ``topic``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            assignments = group_assignments(settings, group, topic)
        except KafkaException as exc:
            # A broker that has just started may not have elected the group's coordinator
            # yet: that is "not yet", like an empty group, until the deadline.
            error = exc.args[0] if exc.args else None
            if not isinstance(error, KafkaError) or not (
                error.retriable() or error.code() in _COORDINATOR_NOT_READY
            ):
                raise
            assignments = []
        if len(assignments) >= members and all(assignments):
            return assignments
        if time.monotonic() > deadline:
            raise TopicAdminError(
                f"consumer group {group} has {assignments} on {topic} after {timeout_s:.0f} s; "
                f"expected {members} member(s) with partitions"
            )
        time.sleep(0.5)
