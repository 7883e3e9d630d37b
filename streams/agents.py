"""The faust-streaming worker (`botcopier agents`): per-bot metrics, drift and retrain requests.

One agent reads ``trade-events`` (keyed ``account:magic``, so each bot stays on one
partition and no repartitioning is needed), keeps each bot's `BotWatch` state in a Faust
table (changelog-backed: a restarted worker resumes from it) and publishes BotMetrics,
DriftEvent and RetrainRequest records in the project's Avro encoding.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import faust

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.bot_watch import BotWatch, WatchConfig, WatchOutput
from botcopier.streams.drift import DriftConfig
from botcopier.streams.retrain_policy import RetrainThresholds
from botcopier.streams.topics import topic as topic_spec


def watch_config(settings: Settings) -> WatchConfig:
    agents = settings.agents
    detectors = agents.detectors()
    return WatchConfig(
        window_days=agents.window_days,
        retention_days=agents.retention_days,
        thresholds=RetrainThresholds(
            min_win_rate=agents.min_win_rate,
            win_rate_rearm=agents.win_rate_rearm,
            max_drawdown=agents.max_drawdown,
            drawdown_rearm=agents.drawdown_rearm,
            min_trades=agents.min_trades,
            cooldown_ms=int(agents.cooldown_hours * 3_600_000),
        ),
        drift=DriftConfig(
            adwin={"delta": agents.adwin_delta} if "adwin" in detectors else None,
            page_hinkley=(
                {"min_instances": 30, "delta": 0.005, "threshold": agents.page_hinkley_threshold}
                if "page_hinkley" in detectors
                else None
            ),
        ),
    )


def create_app(settings: Settings, config: WatchConfig | None = None) -> faust.App:
    config = config or watch_config(settings)
    prefix = settings.kafka.topic_prefix
    partitions = topic_spec("trade-events").partitions
    app = faust.App(
        f"{prefix}agents",
        broker=f"kafka://{settings.bootstrap_servers()}",
        datadir=str(settings.paths.state_dir / "agents"),
        # Tables must be co-partitioned with the topic that feeds them.
        topic_partitions=partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        store="memory://",
        web_enabled=False,
    )
    codec = ValueCodec.from_settings(settings)
    trades = app.topic(settings.topic("trade-events"), key_serializer="raw", value_serializer="raw")
    outputs = {
        name: app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")
        for name in ("bot-metrics", "drift", "retrain-requests")
    }
    bots = app.Table("bot-watch", default=dict, partitions=partitions)

    @app.agent(trades)
    async def watch_bots(stream: faust.StreamT) -> None:
        async for value in stream:
            try:
                event = codec.decode(value, topic=trades.get_topic_name(), schema_name="TradeEvent")
            except DecodeError:
                continue  # the bridge validated it; anything else is not ours to count
            record = event.record
            bot = f"{record['account']}:{record['magic']}"
            watch = BotWatch(config, bots[bot] or None)
            output = watch.on_event(record)
            bots[bot] = watch.to_state()
            if output is not None:
                await _publish(codec, outputs, settings, bot, record, output, config)

    return app


async def _publish(
    codec: ValueCodec,
    outputs: dict[str, Any],
    settings: Settings,
    bot: str,
    event: dict[str, Any],
    output: WatchOutput,
    config: WatchConfig,
) -> None:
    now_ms = int(time.time() * 1000)
    common = {"schema_version": 1, "trace_id": event.get("trace_id"), "span_id": None}
    metrics = {
        **common,
        "event_id": f"bm-{event['event_id']}",
        "event_time_ms": now_ms,
        "account": event["account"],
        "magic": event["magic"],
        "window_days": config.window_days,
        **output.metrics,
        "last_event_id": output.last_event_id,
    }
    await _send(codec, outputs["bot-metrics"], settings, "BotMetrics", bot, metrics)
    for detection in output.drifts:
        drift = {
            **common,
            "event_id": uuid.uuid4().hex,
            "event_time_ms": now_ms,
            "account": event["account"],
            "magic": event["magic"],
            "detector": detection.detector,
            "statistic": float(detection.statistic),
            "threshold": float(detection.threshold),
        }
        await _send(codec, outputs["drift"], settings, "DriftEvent", bot, drift)
    if output.retrain_reason:
        request = {
            **common,
            "event_id": uuid.uuid4().hex,
            "event_time_ms": now_ms,
            "model_name": f"clone-{bot}",
            "account": event["account"],
            "magic": event["magic"],
            "reason": output.retrain_reason,
            "detail": f"{output.retrain_reason} after {output.metrics['trade_count']} trades",
            "last_event_id": output.last_event_id,
        }
        await _send(
            codec, outputs["retrain-requests"], settings, "RetrainRequest", f"clone-{bot}", request
        )


async def _send(codec, topic, settings: Settings, schema: str, key: str, record: dict) -> None:
    name = topic.get_topic_name()
    await topic.send(key=key.encode(), value=codec.encode(schema, record, topic=name))
