"""A model.json as a ``ModelPublished`` record, and putting records on their topics.

The record carries the canonical text of the document (`dumps_model`: sorted keys), its
SHA-256, the headline scores and the training range, keyed by model name on the compacted
``models`` topic, so the newest version of each model is always there.

Examples
--------
>>> record = {"model_json": "{}", "sha256": sha256_hex("{}")}
>>> record["sha256"][:16]
'44136fa355b3678a'
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaException, Producer

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.streams.clients import producer_config
from botcopier.trace_context import outgoing
from botcopier.trainers.model_document import dumps_model


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_published_record(doc: Mapping[str, Any]) -> dict[str, Any]:
    text = dumps_model(doc)
    metrics = {}
    for part in ("validation", "test"):
        scores = doc["metrics"].get(part) or {}
        for key in ("entry_macro_f1", "bar_agreement"):
            if key in scores:
                metrics[f"{part}_{key}"] = float(scores[key])
    return {
        "event_id": f"mp-{doc['name']}-{doc['version']}",
        "event_time_ms": int(time.time() * 1000),
        "model_name": doc["name"],
        "model_version": doc["version"],
        "model_json": text,
        "sha256": sha256_hex(text),
        "metrics": metrics,
        "feature_flags": dict(doc["feature_flags"]),
        "trained_from_ms": doc["training"]["from_ms"],
        "trained_until_ms": doc["training"]["until_ms"],
    }


class RecordPublisher:
    """Encodes records with the catalogue's schemas and produces them, confirming delivery."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = ValueCodec.from_settings(settings)
        # The models topic takes model.json payloads up to 8 MB (its max.message.bytes).
        self.producer = Producer(producer_config(settings, **{"message.max.bytes": 8 << 20}))

    def send(self, topic_name: str, schema_name: str, key: str, record: Mapping[str, Any]):
        """Queue ``record``; inside a span, it carries that span's trace context."""
        topic = self.settings.topic(topic_name)
        record, headers = outgoing(record)
        value = self.codec.encode(schema_name, record, topic)
        self.producer.produce(
            topic, key=key.encode("utf-8"), value=value, headers=headers, on_delivery=_raise
        )

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every record is acknowledged; raise if any was not."""
        left = self.producer.flush(timeout_s)
        if left:
            raise KafkaException(f"{left} records not delivered within {timeout_s} s")


def _raise(error: Any, _message: Any) -> None:
    if error is not None:
        raise KafkaException(error)
