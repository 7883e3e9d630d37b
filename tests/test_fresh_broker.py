"""A broker `botcopier broker start` has just started, in a process of its own, as a user does.

`import` on it waits for its coordinator without librdkafka's retry warnings, and `broker
stop` says "stopped" only once the JVM has left the process table (its parent is init
then, which may collect it seconds after it died). The tests run in file order on one
broker: the import needs it fresh, the stop ends it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from botcopier.infra.broker import status, stop
from tests.helpers import broker_overrides, consume_topic, make_settings

TRADES = (
    "event_id;event_time;broker_time;local_time;action;ticket;magic;source;symbol;order_type;"
    "lots;price;sl;tp;profit;comment;remaining_lots\n"
    "1;2024.01.02 10:00:00;2024.01.02 10:00:00;2024.01.02 12:00:00;OPEN;11;777;mt4;GBPUSD;1;"
    "0.20;1.27000;1.28000;1.26000;0.00;;0.20\n"
    "2;2024.01.02 11:00:00;2024.01.02 11:00:00;2024.01.02 13:00:00;CLOSE;11;777;mt4;GBPUSD;1;"
    "0.20;1.26500;1.27500;1.26000;9.80;;0.00\n"
)


def botcopier(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "botcopier.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def fresh_broker(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("fresh-broker")
    overrides = broker_overrides("kafka")
    settings = make_settings(state_dir, **overrides)
    # Only this broker's settings: a test runner's own BOTCOPIER_TEST_* are no settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTCOPIER_")}
    env["BOTCOPIER_PATHS__STATE_DIR"] = str(state_dir)
    env.update({f"BOTCOPIER_{key}": value for key, value in overrides.items()})
    started = botcopier(env, "broker", "start", "--kind", "kafka")
    assert started.returncode == 0, started.stdout + started.stderr
    created = botcopier(env, "topics", "create")
    assert created.returncode == 0, created.stderr
    yield settings, env
    stop(settings, progress=lambda _line: None)


def test_import_on_a_fresh_broker_waits_for_its_coordinator_quietly(fresh_broker, tmp_path):
    settings, env = fresh_broker
    trades = tmp_path / "trades_raw.csv"
    trades.write_text(TRADES, encoding="utf-8")
    result = botcopier(env, "import", "trades", str(trades), "--account", "5")
    assert result.returncode == 0, result.stderr
    assert "imported 2, skipped 0" in result.stdout
    assert "Coordinator load in progress" not in result.stderr
    assert result.stderr.strip() == ""
    assert len(consume_topic(settings, settings.topic("trade-events"), until=2)) == 2


def test_stop_says_stopped_once_the_broker_process_is_gone(fresh_broker):
    settings, env = fresh_broker
    pid = status(settings).state.pid
    # `broker start` ran in a process that has exited: the JVM's parent is init now.
    assert psutil.Process(pid).ppid() != os.getpid()
    result = botcopier(env, "broker", "stop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "stopped"
    assert not psutil.pid_exists(pid)
    assert not status(settings).running
