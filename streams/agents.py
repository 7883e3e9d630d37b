"""The faust-streaming worker (`botcopier agents`): per-bot metrics, drift and retrain requests.

Two agents, each on a topic keyed ``account:magic`` (so a bot stays on one partition and
no repartitioning is needed):

- ``watch_bots`` reads ``trade-events``; each bot's `BotWatch` lives in changelog-backed
  tables (`WatchStore`), so a restarted worker resumes from them. Every counted close
  publishes a BotMetrics record, each detector firing a DriftEvent, and a degradation a
  RetrainRequest.
- ``watch_features`` reads ``decisions`` and checks the features the strategy EAs computed
  against the training distributions of the model that made them (`FeatureDriftWatch`,
  models followed by `LatestModels`): a drifted feature is a DriftEvent, and the first
  drifted batch of a model version a RetrainRequest.

The worker serves ``/healthz`` and ``/metrics`` (Prometheus, `AgentsMetrics`) on its
``--web-port``, bound to localhost.

A RetrainRequest's ``last_event_id`` is the event that triggered it and ``from_offsets``
its topic, partition and offset: the point up to which the requester had processed.

Tracing: each consumed event is an ``agents.trade`` (or ``agents.decision``) span, a child of
the bridge span that published it (`botcopier.trace_context`); a counted close adds an
``agents.bot_metrics`` span under it, and every record published while it is open carries
its context, in the ``traceparent`` header and in ``trace_id``/``span_id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import faust
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from botcopier import telemetry
from botcopier.config import Settings
from botcopier.names import clone_model_name
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.agents_metrics import AgentsMetrics
from botcopier.streams.bot_watch import WatchConfig
from botcopier.streams.drift import Detection, DriftConfig
from botcopier.streams.feature_drift import FeatureDriftWatch
from botcopier.streams.latest_models import LatestModels
from botcopier.streams.retrain_policy import RetrainThresholds
from botcopier.streams.topics import topic as topic_spec
from botcopier.streams.watch_store import WatchStore
from botcopier.trace_context import context_from, outgoing

log = logging.getLogger("botcopier.agents")


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


class _Outputs:
    """The agents' output topics and the records they publish, in the project's Avro."""

    def __init__(
        self, app: faust.App, settings: Settings, codec: ValueCodec, metrics: AgentsMetrics
    ) -> None:
        self.codec = codec
        self.metrics = metrics
        self.topics = {
            name: app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")
            for name in ("bot-metrics", "drift", "retrain-requests")
        }

    async def send(self, name: str, schema: str, key: str, record: dict[str, Any]) -> None:
        """Publish ``record``, carrying the current span's trace context."""
        topic = self.topics[name]
        record, headers = outgoing(record)
        value = self.codec.encode(schema, record, topic=topic.get_topic_name())
        await topic.send(key=key.encode(), value=value, headers=headers)
        self.metrics.published.labels(topic=name).inc()

    async def drift(self, source: Mapping[str, Any], detection: Detection, **model: Any) -> None:
        record = {
            **_header(source, f"drift-{detection.detector}-{detection.feature or 'results'}"),
            "account": source["account"],
            "magic": source["magic"],
            "detector": detection.detector,
            "feature": detection.feature,
            "statistic": float(detection.statistic),
            "threshold": float(detection.threshold),
            "model_name": model.get("model_name"),
            "model_version": model.get("model_version"),
        }
        await self.send("drift", "DriftEvent", _bot(source), record)
        self.metrics.drift.labels(detector=detection.detector).inc()

    async def retrain(
        self, source: Mapping[str, Any], message: Any, model_name: str, reason: str, detail: str
    ) -> None:
        record = {
            **_header(source, "retrain"),
            "model_name": model_name,
            "account": source["account"],
            "magic": source["magic"],
            "reason": reason,
            "detail": detail,
            "last_event_id": source["event_id"],
            "from_offsets": [
                {"topic": message.topic, "partition": message.partition, "offset": message.offset}
            ],
        }
        await self.send("retrain-requests", "RetrainRequest", model_name, record)
        self.metrics.retrains.labels(reason=reason).inc()


def _bot(record: Mapping[str, Any]) -> str:
    return f"{record['account']}:{record['magic']}"


def _header(source: Mapping[str, Any], kind: str) -> dict[str, Any]:
    # Ids derive from the source event, so a close redone after a crash republishes its
    # outputs under the same ids and consumers drop the repeats. The trace context is the
    # publishing span's (`_Outputs.send`).
    return {
        "event_id": f"{kind}-{source['event_id']}",
        "schema_version": 1,
        "event_time_ms": int(time.time() * 1000),
    }


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
        web_bind="127.0.0.1",
        broker_session_timeout=settings.agents.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.agents.session_timeout_s / 3),
    )
    codec = ValueCodec.from_settings(settings)
    metrics = AgentsMetrics()
    outputs = _Outputs(app, settings, codec, metrics)
    tracer = telemetry.tracer("agents")
    health: dict[str, Any] = {"status": "ok"}
    trades = app.topic(settings.topic("trade-events"), key_serializer="raw", value_serializer="raw")
    store = WatchStore(
        config,
        app.Table("bot-watch", default=dict, partitions=partitions),
        app.Table("bot-trades", default=None, partitions=partitions),
    )

    @app.on_partitions_revoked.connect
    async def _revoked(app: faust.App, revoked: Any, **kwargs: Any) -> None:
        store.forget_all()

    @app.on_partitions_assigned.connect
    async def _assigned(app: faust.App, assigned: Any, **kwargs: Any) -> None:
        store.forget_all()

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({**health, "bots": store.live_bots, "kafka": settings.bootstrap_servers()})

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        metrics.bots.set(store.live_bots)
        # aiohttp refuses a charset in content_type: the full header goes in as a header.
        body = generate_latest(metrics.registry)
        return web.bytes(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def on_trade(record: dict[str, Any], message: Any) -> None:
        bot = _bot(record)
        watch = store.get(bot)
        if record["action"] != "CLOSE":
            watch.on_event(record)
            return
        span = telemetry.start_span(tracer, "agents.bot_metrics")
        with trace.use_span(span, end_on_exit=True):
            output = watch.on_event(record)
            if output is None:
                span.set_attribute("botcopier.duplicate", True)
                metrics.duplicates.inc()
                return
            metrics.closes.inc()
            figures = {
                **_header(record, "bm"),
                "account": record["account"],
                "magic": record["magic"],
                "window_days": config.window_days,
                **output.metrics,
                "last_event_id": output.last_event_id,
            }
            await outputs.send("bot-metrics", "BotMetrics", bot, figures)
            metrics.latency.observe(max(0.0, time.time() - message.timestamp))
            for detection in output.drifts:
                await outputs.drift(record, detection)
            if output.retrain_reason:
                span.set_attribute("botcopier.retrain_reason", output.retrain_reason)
                detail = f"{output.retrain_reason} after {output.metrics['trade_count']} trades"
                await outputs.retrain(
                    record,
                    message,
                    clone_model_name(record["account"], record["magic"]),
                    output.retrain_reason,
                    detail,
                )
        # Outputs are queued before the state that records them: a crash in between
        # redoes the close (same numbers, same ids) instead of losing its outputs.
        store.save(bot, watch, output)

    @app.agent(trades)
    async def watch_bots(stream: faust.StreamT) -> None:
        async for event in stream.events():
            metrics.events.labels(topic="trade-events").inc()
            try:
                decoded = codec.decode(
                    event.value, topic=trades.get_topic_name(), schema_name="TradeEvent"
                )
            except DecodeError:
                metrics.undecodable.labels(topic="trade-events").inc()
                continue  # the bridge validated it; anything else is not ours to count
            record = decoded.record
            parent = context_from(event.headers, record)
            span = telemetry.start_span(tracer, "agents.trade", parent, SpanKind.CONSUMER)
            with trace.use_span(span, end_on_exit=True):
                span.set_attribute("botcopier.event_id", record["event_id"])
                await on_trade(record, event.message)

    _add_feature_watch(app, settings, codec, outputs, health)
    return app


def _add_feature_watch(
    app: faust.App,
    settings: Settings,
    codec: ValueCodec,
    outputs: _Outputs,
    health: dict[str, Any],
) -> None:
    decisions = app.topic(settings.topic("decisions"), key_serializer="raw", value_serializer="raw")
    feature_states = app.Table(
        "feature-watch", default=dict, partitions=topic_spec("decisions").partitions
    )
    models: dict[str, LatestModels] = {}
    agents = settings.agents
    tracer = telemetry.tracer("agents")

    @app.task
    async def follow_models() -> None:
        # Not a Faust agent: every worker needs every model, whatever partitions it owns.
        models["latest"] = latest = LatestModels(settings)
        try:
            while True:
                taken = await asyncio.to_thread(latest.poll)
                health["models"] = sorted(f"{m.name} {m.version}" for m in latest.models.values())
                health["models_caught_up"] = latest.caught_up
                if not taken:
                    await asyncio.sleep(0.5)
        finally:
            latest.close()

    async def on_decision(record: dict[str, Any], message: Any) -> None:
        # Judging before the models published earlier are read would skip decisions.
        while "latest" not in models or not models["latest"].caught_up:
            await asyncio.sleep(0.1)
        known = models["latest"].get(record["model_name"])
        # Only the version whose distributions we hold can be judged against them.
        if known is None or known.version != record["model_version"]:
            return
        key = f"{_bot(record)}|{known.name}"
        watch = FeatureDriftWatch(
            known.distributions,
            known.version,
            batch_size=agents.psi_batch,
            threshold=agents.psi_threshold,
            state=feature_states[key] or None,
        )
        found = watch.on_decision(record["features"])
        wanted = watch.retrain_wanted(found)
        for detection in found:
            await outputs.drift(
                record, detection, model_name=known.name, model_version=known.version
            )
        if wanted:
            drifted = ", ".join(f"{d.feature} (PSI {d.statistic:.3f})" for d in found)
            detail = f"features of {known.name} {known.version} drifted: {drifted}"
            await outputs.retrain(record, message, known.name, "drift", detail)
        feature_states[key] = watch.to_state()

    @app.agent(decisions)
    async def watch_features(stream: faust.StreamT) -> None:
        async for event in stream.events():
            outputs.metrics.events.labels(topic="decisions").inc()
            try:
                decoded = codec.decode(
                    event.value, topic=decisions.get_topic_name(), schema_name="Decision"
                )
            except DecodeError:
                outputs.metrics.undecodable.labels(topic="decisions").inc()
                continue
            record = decoded.record
            parent = context_from(event.headers, record)
            span = telemetry.start_span(tracer, "agents.decision", parent, SpanKind.CONSUMER)
            with trace.use_span(span, end_on_exit=True):
                await on_decision(record, event.message)
