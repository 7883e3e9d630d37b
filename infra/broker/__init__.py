"""The local Kafka broker: Apache Kafka in KRaft mode from Maven Central jars, or Tansu.

`start_broker` picks and starts one; `supervisor.stop` and `supervisor.status` manage
whichever runs. A launcher (`base.BrokerLauncher`) only prepares and describes a command.
"""

from botcopier.infra.broker.base import BrokerLauncher, LaunchPlan
from botcopier.infra.broker.exceptions import (
    BrokerError,
    BrokerStartError,
    BrokerUnavailableError,
)
from botcopier.infra.broker.kafka import KAFKA_VERSION, ApacheKafkaLauncher
from botcopier.infra.broker.selection import LAUNCHERS, start_broker
from botcopier.infra.broker.supervisor import BrokerState, BrokerStatus, status, stop
from botcopier.infra.broker.tansu import TansuLauncher

__all__ = [
    "KAFKA_VERSION",
    "LAUNCHERS",
    "ApacheKafkaLauncher",
    "BrokerError",
    "BrokerLauncher",
    "BrokerStartError",
    "BrokerState",
    "BrokerStatus",
    "BrokerUnavailableError",
    "LaunchPlan",
    "TansuLauncher",
    "start_broker",
    "status",
    "stop",
]
