"""Shared fixtures: one real broker per test session, started by the project's own launcher.

Set ``BOTCOPIER_TEST_BOOTSTRAP=host:port`` to run against a broker that is already up
instead, and ``BOTCOPIER_TEST_BROKER_KIND=tansu`` to test on the fallback broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from hypothesis import settings as hypothesis_settings

from botcopier.config import Settings
from botcopier.infra.broker import start_broker, stop
from botcopier.streams.admin import create_topics
from tests.helpers import ENV_BOOTSTRAP, ENV_KIND, broker_overrides, make_settings

# CI explores the same examples every run, so a red build is reproducible; locally each run
# explores new ones.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@dataclass(frozen=True)
class TestBroker:
    settings: Settings
    description: str


def _say(line: str) -> None:
    print(f"[broker] {line}", flush=True)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBroker]:
    """A running broker with the catalogue's topics created under a random prefix."""
    state_dir = tmp_path_factory.mktemp("broker-state")
    given = os.environ.get(ENV_BOOTSTRAP)
    if given:
        settings = make_settings(
            state_dir,
            KAFKA__BOOTSTRAP_SERVERS=given,
            KAFKA__TOPIC_PREFIX=f"test-{uuid.uuid4().hex[:8]}.",
        )
        create_topics(settings)
        yield TestBroker(settings, f"external broker at {given}")
        return
    kind = os.environ.get(ENV_KIND, "kafka")
    settings = make_settings(state_dir, **broker_overrides(kind))
    state = start_broker(settings, progress=_say)
    try:
        create_topics(settings)
        yield TestBroker(settings, state.display_name)
    finally:
        stop(settings, progress=_say)


@pytest.fixture
def new_topic(kafka_broker: TestBroker) -> Callable[..., str]:
    """Factory: create a fresh, uniquely named topic and return its name."""
    admin = AdminClient({"bootstrap.servers": kafka_broker.settings.bootstrap_servers()})

    def create(partitions: int = 1) -> str:
        name = f"{kafka_broker.settings.kafka.topic_prefix}t-{uuid.uuid4().hex}"
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
        return name

    return create


@pytest.fixture
def fresh_settings(kafka_broker: TestBroker) -> Settings:
    """Session broker, but a topic prefix (and so every catalogue topic) of this test's own."""
    settings = kafka_broker.settings
    kafka = settings.kafka.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
    settings = settings.model_copy(update={"kafka": kafka})
    create_topics(settings)
    return settings


def pytest_terminal_summary(terminalreporter) -> None:
    """The fault suite's counts (``FAULTS <scenario>: …``), together at the end of the run."""
    from tests.faults.report import write_summary

    write_summary(terminalreporter)
