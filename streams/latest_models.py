"""The newest published version of every model, read from the compacted ``models`` topic.

Every agents worker needs every model's training distributions, whichever partitions of
the decisions it owns, so this reader is not part of the consumer group: it assigns all
of ``models`` to itself from the beginning and keeps the latest version per model name.
A model whose document is unusable is reported once and the previous version kept.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.clients import consumer_config
from botcopier.streams.feature_drift import FeatureDistribution, distributions_from_model

log = logging.getLogger("botcopier.agents.models")


@dataclass(frozen=True)
class KnownModel:
    name: str
    version: str
    distributions: dict[str, FeatureDistribution]


class LatestModels:
    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic("models")
        self._codec = ValueCodec.from_settings(settings)
        self._consumer = Consumer(
            consumer_config(settings, f"{settings.kafka.topic_prefix}models-reader-{uuid.uuid4()}")
        )
        # Partition -> offset still to read before the models that existed at start are in.
        self._behind: dict[int, int] | None = None
        self.models: dict[str, KnownModel] = {}
        self.rejected = 0

    @property
    def caught_up(self) -> bool:
        """Every model published before this reader started has been read."""
        return self._behind is not None and not self._behind

    def poll(self, max_messages: int = 100) -> int:
        """Take whatever new model records have arrived, without waiting; how many."""
        if self._behind is None:
            self._behind = self._assign()
        messages = self._consumer.consume(num_messages=max_messages, timeout=0)
        for message in messages:
            if message.error() is not None:
                continue
            if message.offset() + 1 >= self._behind.get(message.partition(), 0):
                self._behind.pop(message.partition(), None)
            if message.value() is not None:
                self._take(message.value())
        return len(messages)

    def _assign(self) -> dict[int, int]:
        metadata = self._consumer.list_topics(self.topic, timeout=10).topics[self.topic]
        partitions = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
        behind = {}
        for partition in partitions:
            low, high = self._consumer.get_watermark_offsets(partition, timeout=10)
            if high > low:
                behind[partition.partition] = high
        self._consumer.assign(partitions)
        return behind

    def get(self, name: str) -> KnownModel | None:
        return self.models.get(name)

    def close(self) -> None:
        self._consumer.close()

    def _take(self, value: bytes) -> None:
        try:
            record = self._codec.decode(value, topic=self.topic, schema_name="ModelPublished")
            published = record.record
            document = json.loads(published["model_json"])
            distributions = distributions_from_model(document)
        except (DecodeError, ValueError) as exc:  # JSON and distribution errors are ValueErrors
            self.rejected += 1
            log.warning("model record ignored for drift checks: %s", exc)
            return
        name = published["model_name"]
        self.models[name] = KnownModel(name, published["model_version"], distributions)
        log.info("feature distributions of %s %s loaded", name, published["model_version"])
