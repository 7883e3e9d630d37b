"""The `botcopier` command as a newcomer runs it (a real subprocess, no broker needed)."""

import json
import os
import re
import subprocess
import sys

import pytest


def run_cli(*args, env=None, cwd=None, timeout_s=120):
    return subprocess.run(
        [sys.executable, "-m", "botcopier.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


def test_help_lists_every_subcommand_and_first_steps():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("demo", "broker", "topics", "schemas", "config", "first steps"):
        assert word in result.stdout


@pytest.mark.parametrize("command", ["broker", "topics", "demo", "config", "collector"])
def test_each_subcommand_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: botcopier" in result.stdout


def test_broker_status_without_a_broker_exits_3(tmp_path):
    result = run_cli("broker", "status", env={"BOTCOPIER_PATHS__STATE_DIR": str(tmp_path)})
    assert result.returncode == 3
    assert "no broker started by botcopier is running" in result.stdout


def test_config_show_reads_the_file_and_masks_secrets(tmp_path):
    (tmp_path / "botcopier.toml").write_text(
        '[kafka]\ntopic_prefix = "desk1."\n[bridge.tokens]\nea1 = "s3cret-token"\n'
    )
    result = run_cli("config", "show", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["kafka"]["topic_prefix"] == "desk1."
    assert shown["bridge"]["tokens"]["ea1"] == "**********"
    assert "s3cret-token" not in result.stdout


def test_bad_configuration_is_one_clear_line_and_exit_2(tmp_path):
    result = run_cli("config", "show", env={"BOTCOPIER_BROKER__PORT": "99999"})
    assert result.returncode == 2
    assert result.stderr.startswith("botcopier: error: invalid configuration")
    assert "broker.port" in result.stderr
    assert "Traceback" not in result.stderr


def test_schemas_lists_every_schema_with_its_fingerprint():
    result = run_cli("schemas")
    assert result.returncode == 0
    from botcopier.schemas import SchemaCatalogue

    assert result.stdout.count("(current)") == len(SchemaCatalogue.default().names())
    assert "TradeEvent" in result.stdout


def test_topics_list_shows_prefix_and_compaction():
    result = run_cli("topics", "list", env={"BOTCOPIER_KAFKA__TOPIC_PREFIX": "desk2."})
    assert result.returncode == 0
    models = next(line for line in result.stdout.splitlines() if "desk2.models" in line)
    assert "cleanup.policy=compact" in models


@pytest.mark.broker
@pytest.mark.timeout(540)
def test_demo_runs_end_to_end_and_leaves_nothing_running(tmp_path):
    from tests.helpers import broker_overrides, free_port

    env = {
        "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path),
        "BOTCOPIER_BRIDGE__PORT": str(free_port()),
        "BOTCOPIER_BRIDGE__METRICS_PORT": str(free_port()),
        "BOTCOPIER_COLLECTOR__PORT": str(free_port()),
        "BOTCOPIER_AGENTS__WEB_PORT": str(free_port()),
        "BOTCOPIER_DASHBOARD__PORT": str(free_port()),
        **{f"BOTCOPIER_{k}": v for k, v in broker_overrides("kafka").items()},
    }
    # A bound, not a speed target: the demo trains and backtests, and CI machines are shared.
    result = run_cli("demo", env=env, timeout_s=480)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ready: Apache Kafka 3.9.1 (KRaft)" in out
    from botcopier.streams.topics import TOPICS

    assert out.count("  created ") == len(TOPICS)
    assert "'status': 'ok'" in out  # the bridge's /healthz
    assert out.count("all acked: True") == 3
    assert "TradeEvent OPEN" in out  # decoded by tail
    assert "every trade event acked and on Kafka exactly once: True" in out
    assert "  metrics " in out  # the agents' figures, shown while the EAs trade
    assert "RETRAIN REQUEST clone-" in out
    assert "the fading bot's collapse asked for a retrain: True" in out
    assert "GET /metrics?limit=3 -> 3 newest bot metrics" in out  # the collector
    assert "every retrain request answered with a reason: True" in out
    assert "checksum matches the published record: True" in out
    assert "clone model published and synced into the demo MT4 Files folder: /" in out
    assert list((tmp_path / "demo-mt4" / "MQL4" / "Files").glob("clone-*.model.json"))
    assert list((tmp_path / "demo-mt4" / "MQL4" / "Experts").glob("BotCopier_clone-*.mq4"))
    assert "backtest on the bars after the training window:" in out
    token = (tmp_path / "demo-dashboard-token").read_text().strip()
    assert (
        token not in out and oct((tmp_path / "demo-dashboard-token").stat().st_mode)[-3:] == "600"
    )
    shown = re.search(r"the dashboard shows (\d+) bots, (\d+) recent trades", out)
    assert shown and int(shown[1]) == 10 and int(shown[2]) > 0  # 3 EAs x 3 bots + the fading one
    assert "botcopier_bot_win_rate{" in out
    for service in ("bridge", "agents", "collector", "dashboard"):
        assert f"{service} stopped (exit 0)" in out
    assert out.rstrip().endswith("stopped")
    status = run_cli("broker", "status", env=env)
    assert status.returncode == 3
