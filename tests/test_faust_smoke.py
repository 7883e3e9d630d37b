"""Smoke test: faust-streaming runs an agent and tables against the pinned Kafka broker.

Kafka 3.9.1 is pinned because faust-streaming (through aiokafka) still speaks protocol
versions that Kafka 4.x removed. This test proves the pairing works end to end: a real Faust
worker joins its consumer group, creates its changelog topics through the admin API (the
broker has ``auto.create.topics.enable=false``), keeps per-key state in tables, and produces
results that a plain confluent-kafka consumer reads back with the expected counts and sums.

The worker runs as a subprocess (``tests/faust_smoke_app.py``) because Faust can hang on
SIGTERM while waiting for in-flight events; the test kills its whole process group instead.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from tests.helpers import free_port

if TYPE_CHECKING:
    # Only for annotations: importing conftest at run time would register its fixtures twice.
    from tests.conftest import TestBroker

TESTS_DIR = Path(__file__).resolve().parent
MESSAGES = 50
BOTS = ("alpha", "beta", "gamma")
# The worker needs several seconds to start, create its topics and join its group.
DEADLINE_S = 90.0
LOG_TAIL_LINES = 80


def _expected(trades: list[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    result: dict[str, tuple[int, int]] = {}
    for bot, amount in trades:
        count, total = result.get(bot, (0, 0))
        result[bot] = (count + 1, total + amount)
    return result


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faust",
                "-A",
                "faust_smoke_app",
                "worker",
                "-l",
                "info",
                "--without-web",
                "--web-port",
                str(free_port()),
            ],
            cwd=TESTS_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so the hard kill also reaches anything it forks.
            start_new_session=True,
        )


def _kill_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(timeout=30)


def _log_tail(log_path: Path) -> str:
    if not log_path.exists():
        return "(no worker log)"
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _fold_output(seen: dict[str, Any], key: bytes, value: bytes) -> None:
    record = json.loads(value)
    assert key.decode() == record["bot"]
    # Counts only grow; keeping the highest makes a redelivered older update harmless.
    if record["count"] > seen.get(record["bot"], (0, 0))[0]:
        seen[record["bot"]] = (record["count"], record["total"])


def _fold_changelog(seen: dict[str, Any], key: bytes, value: bytes) -> None:
    # Tables serialize their keys as JSON unless told otherwise, unlike the raw topic keys.
    seen[json.loads(key)] = json.loads(value)


def _read_until(
    consumer: Consumer,
    worker: subprocess.Popen[bytes],
    deadline: float,
    expected: dict[str, Any],
    fold: Callable[[dict[str, Any], bytes, bytes], None],
) -> dict[str, Any]:
    """Fold messages into a dict until it equals ``expected`` or the deadline passes."""
    seen: dict[str, Any] = {}
    while seen != expected and time.monotonic() < deadline:
        assert worker.poll() is None, f"Faust worker exited with code {worker.returncode}"
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
            continue
        fold(seen, message.key(), message.value())
    return seen


@pytest.mark.broker
def test_faust_agent_and_table_count_per_key(
    kafka_broker: TestBroker, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    bootstrap = kafka_broker.settings.bootstrap_servers()
    input_topic, output_topic = new_topic(), new_topic()
    app_id = f"faust-smoke-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / "faust-worker.log"

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])),
        "FAUST_SMOKE_APP_ID": app_id,
        "FAUST_SMOKE_BROKER": f"kafka://{bootstrap}",
        "FAUST_SMOKE_INPUT": input_topic,
        "FAUST_SMOKE_OUTPUT": output_topic,
        "FAUST_SMOKE_DATADIR": str(tmp_path / "faust-data"),
    }

    rng = random.Random(20240611)
    trades = [(BOTS[i % len(BOTS)], rng.randint(1, 1000)) for i in range(MESSAGES)]
    expected = _expected(trades)

    worker = _start_worker(env, log_path)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{app_id}-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        # The agent starts from the earliest offset, so producing before it has joined is fine.
        producer = Producer({"bootstrap.servers": bootstrap})
        for bot, amount in trades:
            producer.produce(input_topic, key=bot, value=json.dumps({"bot": bot, "amount": amount}))
        assert producer.flush(30) == 0, "producer did not deliver every trade"

        deadline = time.monotonic() + DEADLINE_S
        consumer.subscribe([output_topic])
        seen = _read_until(consumer, worker, deadline, expected, _fold_output)
        assert seen == expected, f"output after {DEADLINE_S:.0f} s did not reach the totals"

        # The output alone would also pass with a plain dict; the changelog shows the table
        # really wrote its state to Kafka. Faust buffers changelog sends, so it may lag a bit.
        changelog = f"{app_id}-totals-changelog"
        totals = {bot: total for bot, (_count, total) in expected.items()}
        consumer.unsubscribe()
        consumer.subscribe([changelog])
        seen_totals = _read_until(consumer, worker, deadline, totals, _fold_changelog)
        assert seen_totals == totals, f"{changelog} did not reach the totals"
    except BaseException:
        print(f"--- last lines of the Faust worker log ({log_path}) ---\n{_log_tail(log_path)}")
        raise
    finally:
        consumer.close()
        _kill_worker(worker)
