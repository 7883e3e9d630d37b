"""The catalogue of BotCopier's Kafka topics: one place for names, keys, schemas and layout.

Names here are short (``trade-events``); the configured prefix is added when a topic is
created or used (``botcopier.trade-events``).

Examples
--------
>>> topic("models").config["cleanup.policy"]
'compact'
>>> topic("trade-events").value_schemas
('TradeEvent',)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from botcopier.exceptions import BotCopierError

_DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str  # what the message key holds
    value_schemas: tuple[str, ...]  # Avro record names a value may be
    partitions: int
    description: str
    config: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def full_name(self, prefix: str) -> str:
        return f"{prefix}{self.name}"


def _config(**entries: str) -> MappingProxyType:
    return MappingProxyType({k.replace("_", "."): v for k, v in entries.items()})


# Keyed topics get several partitions so agents can scale out by account:magic; the
# low-volume control topics keep one partition so their order is total.
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "trade-events",
        "account:magic",
        ("TradeEvent",),
        6,
        "Opens, modifications and closes of observed bots; the source of truth.",
        # Kept forever: trainers rebuild history from it.
        _config(retention_ms="-1", min_insync_replicas="1"),
    ),
    TopicSpec(
        "ea-metrics",
        "account:magic",
        ("MetricSnapshot",),
        3,
        "What the Observer EA measures itself.",
        _config(retention_ms=str(90 * _DAY_MS)),
    ),
    TopicSpec(
        "market-data",
        "symbol",
        ("Tick", "Bar"),
        6,
        "Ticks and bars: context for features and backtests.",
        _config(retention_ms=str(365 * _DAY_MS)),
    ),
    TopicSpec(
        "bot-metrics",
        "account:magic",
        ("BotMetrics",),
        3,
        "Rolling win rate, profit, drawdown and Sharpe per bot.",
        _config(retention_ms=str(90 * _DAY_MS)),
    ),
    TopicSpec(
        "drift",
        "account:magic",
        ("DriftEvent",),
        1,
        "Drift detector firings.",
        _config(retention_ms=str(365 * _DAY_MS)),
    ),
    TopicSpec(
        "retrain-requests",
        "model name",
        ("RetrainRequest",),
        1,
        "Requests for the trainers, with the offsets to learn from.",
        _config(retention_ms=str(30 * _DAY_MS)),
    ),
    TopicSpec(
        "retrain-decisions",
        "model name",
        ("RetrainDecision",),
        1,
        "What the retrain service did with each request (published, rejected, failed) and why.",
        _config(retention_ms=str(365 * _DAY_MS)),
    ),
    TopicSpec(
        "models",
        "model name",
        ("ModelPublished",),
        1,
        "Promoted models; compacted so the latest per name is always there.",
        # model.json payloads can exceed the 1 MB default.
        _config(cleanup_policy="compact", max_message_bytes=str(8 * 1024 * 1024)),
    ),
    TopicSpec(
        "decisions",
        "account:magic",
        ("Decision",),
        3,
        "Strategy EA decisions; uncertain ones flagged for labelling.",
        _config(retention_ms=str(365 * _DAY_MS)),
    ),
    TopicSpec(
        "dead-letter",
        "source",
        ("DeadLetter",),
        1,
        "Raw bytes and reason for anything rejected.",
        _config(retention_ms="-1"),
    ),
)

_BY_NAME = {spec.name: spec for spec in TOPICS}


class UnknownTopicError(BotCopierError):
    """A topic name that is not in the catalogue."""


def topic(name: str) -> TopicSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownTopicError(
            f"no topic {name!r} in the catalogue; known: {', '.join(_BY_NAME)}"
        ) from None


def topic_for_schema(schema_name: str) -> TopicSpec:
    """The topic that carries records of ``schema_name``."""
    for spec in TOPICS:
        if schema_name in spec.value_schemas:
            return spec
    raise UnknownTopicError(f"no topic carries {schema_name} records")
