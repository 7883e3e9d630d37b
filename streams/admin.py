"""Idempotent creation of the catalogue's topics."""

from __future__ import annotations

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

    statuses = []
    for name, spec in wanted.items():
        if name not in created:
            partitions = len(existing[name].partitions) if name in existing else spec.partitions
            progress(f"exists  {name} ({partitions} partitions)")
        else:
            partitions = spec.partitions
        statuses.append(TopicStatus(name, name in created, partitions))
    return statuses
