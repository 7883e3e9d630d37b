"""Kafka topics and what works on them.

The topic catalogue (`topics`), idempotent topic creation and offsets (`admin`), client
settings with BotCopier's forced delivery guarantees (`clients`), exactly-once effects by
event id (`dedup`) and readable decoding of a topic (`tail`). The metrics collector
(`botcopier collector`) is `collector` (records → rows, gauges, counters), `metrics_store`
(SQLite history), `collector_metrics` (Prometheus series), `collector_http` (endpoints) and
`collector_service` (the process). Shipping models to MT4: `model_files` (safe names, atomic
writes), `filesync` (the `botcopier filesync` service), `model_registry` (versions, promote,
rollback) and their commands (`filesync_command`, `registry_command`).
"""

from botcopier.streams.dedup import EventDeduplicator
from botcopier.streams.topics import TOPICS, TopicSpec, topic, topic_for_schema

__all__ = ["TOPICS", "EventDeduplicator", "TopicSpec", "topic", "topic_for_schema"]
