"""Run records: what each service start writes, and a real service writing one."""

from __future__ import annotations

import json
import re
import urllib.request
from importlib import metadata
from pathlib import Path

from botcopier.run_record import config_hash, git_commit, run_record, write_run_record
from botcopier.services import ServiceProcess, botcopier_command
from tests.helpers import free_port, make_settings

SECRET = "ea-token-5d6e7f8091a2b3c4"  # noqa: S105 - made up for the test


def test_the_record_says_what_ran_where_and_how_it_was_configured(tmp_path):
    settings = make_settings(tmp_path, **{"BRIDGE__TOKENS__SIM-1": SECRET})
    record = run_record(settings, "bridge", started_ms=1_735_689_600_000)
    assert record["service"] == "bridge"
    assert record["started"] == "2025-01-01T00:00:00+00:00"
    assert record["python"].count(".") == 2 and record["host"]
    assert record["packages"]["pyarrow"] == metadata.version("pyarrow")
    assert record["packages"]["confluent-kafka"] == metadata.version("confluent-kafka")
    assert record["config_hash"] == config_hash(settings)
    assert SECRET not in json.dumps(record)


def test_the_config_hash_changes_with_settings_but_not_with_secrets(tmp_path):
    def hashed(**overrides: str) -> str:
        return config_hash(make_settings(tmp_path, **overrides))

    base = hashed()
    assert hashed(**{"BRIDGE__TOKENS__SIM-1": "a"}) == hashed(**{"BRIDGE__TOKENS__SIM-1": "b"})
    assert hashed(**{"DASHBOARD__TOKEN": "one"}) == hashed(**{"DASHBOARD__TOKEN": "two"})
    assert hashed(**{"KAFKA__CLIENT__SASL.PASSWORD": "x"}) == hashed(
        **{"KAFKA__CLIENT__SASL.PASSWORD": "y"}
    )
    assert hashed(AGENTS__MIN_WIN_RATE="0.3") != base
    assert hashed(KAFKA__TOPIC_PREFIX="other.") != base


def test_the_git_commit_is_found_in_a_checkout_and_none_elsewhere(tmp_path):
    checkout = Path(__file__).resolve().parent.parent
    commit = git_commit(checkout)
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)
    if (checkout / ".git").exists():
        assert commit is not None
    assert git_commit(tmp_path) is None


def test_records_of_two_starts_are_two_files(tmp_path):
    settings = make_settings(tmp_path)
    first = write_run_record(settings, "collector")
    second = write_run_record(settings, "collector")
    assert first != second and first.parent == second.parent == tmp_path / "runs"
    assert json.loads(first.read_text())["service"] == "collector"


def test_a_service_started_from_the_command_line_writes_its_record_and_json_log(tmp_path):
    port = free_port()
    state = tmp_path / "state"
    env = {
        "BOTCOPIER_PATHS__STATE_DIR": str(state),
        "BOTCOPIER_DASHBOARD__TOKEN": SECRET,
        "BOTCOPIER_LOGS__JOURNAL": "false",
    }
    router = ServiceProcess(
        "router",
        botcopier_command("router", "--models", "2", "--port", str(port)),
        env,
        tmp_path / "router.out",
    )
    router.start(port=port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert reply.status == 200
    finally:
        assert router.stop() == 0, router.log_tail()

    (record_path,) = (state / "runs").glob("router-*.json")
    record = json.loads(record_path.read_text())
    assert record["service"] == "router" and record["pid"] == router.process.pid
    assert record["argv"][-4:] == ["--models", "2", "--port", str(port)]
    expected = make_settings(state, **{"DASHBOARD__TOKEN": "another", "LOGS__JOURNAL": "false"})
    assert record["config_hash"] == config_hash(expected)

    lines = [json.loads(line) for line in (state / "logs" / "router.log").read_text().splitlines()]
    start = next(line for line in lines if line["message"].startswith("router starting"))
    assert start["service"] == "router" and start["run_record"] == str(record_path)
    assert SECRET not in (state / "logs" / "router.log").read_text()
