"""The deployment files: systemd units, cron lines, docker-compose and Prometheus, held to the code.

No Docker or systemd runs here, so each file is parsed and checked against what BotCopier
really has: every unit and cron job runs a subcommand the command line accepts with those
options, and every port Prometheus scrapes is the default of the service behind it.
"""

from __future__ import annotations

import argparse
import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

from botcopier.cli import build_parser
from botcopier.config import load_settings

INFRA = Path(__file__).resolve().parent.parent / "infra"
UNITS = sorted((INFRA / "systemd").glob("botcopier-*.service"))
SERVICES = ("bridge", "agents", "collector", "filesync", "retrainer", "dashboard", "router")
COMPOSE_SERVICES = {"kafka-1", "kafka-2", "kafka-3", "schema-registry", "prometheus", "grafana",
                    "jaeger"}  # fmt: skip


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def env_file() -> dict[str, str]:
    lines = (INFRA / "systemd" / "botcopier.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return dict(pairs)


def parse_unit(path: Path) -> configparser.ConfigParser:
    # systemd's syntax is INI with case-sensitive keys; strict mode also refuses a key given
    # twice in a section, which systemd would take as a list for some keys only.
    unit = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    unit.optionxform = str
    unit.read_string(path.read_text())
    return unit


def assert_botcopier_argv(argv: list[str]) -> None:
    """``argv`` (after the botcopier executable) is one the command line accepts."""
    commands = subcommands()
    if argv[0] not in commands:
        pytest.skip(f"`botcopier {argv[0]}` is not part of this checkout")
    build_parser().parse_args(argv)  # SystemExit on an unknown option or a missing argument


def test_there_is_a_unit_per_long_running_service():
    assert sorted(p.stem.removeprefix("botcopier-") for p in UNITS) == sorted(SERVICES)


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_each_unit_parses_restarts_on_failure_and_runs_a_real_subcommand(path):
    unit = parse_unit(path)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/botcopier/botcopier.env"
    assert service["User"] == "botcopier"
    for option in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectKernelModules"):
        assert service[option] == "yes", option
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "BOTCOPIER_PATHS__STATE_DIR=/var/lib/botcopier" in service["Environment"].split()
    assert service["StateDirectory"] == "botcopier"

    variables = env_file()
    command = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], service["ExecStart"])
    executable, *argv = shlex.split(command)
    assert executable == "/opt/botcopier/.venv/bin/botcopier"
    assert argv[0] == path.stem.removeprefix("botcopier-")
    assert_botcopier_argv(argv)


def cron_jobs() -> list[tuple[str, str, list[str]]]:
    """(schedule, user, botcopier argv) of each active line of the cron file."""
    jobs = []
    for line in (INFRA / "cron" / "botcopier.cron").read_text().splitlines():
        if not line.strip() or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(maxsplit=6)
        schedule, user, command = " ".join(fields[:5]), fields[5], fields[6]
        # The shell would expand $(date ...); any date stands in for it here.
        words = shlex.split(re.sub(r'"\$\([^)]*\)"', "2025-01-01", command))
        start = words.index("/opt/botcopier/.venv/bin/botcopier") + 1
        end = words.index(">>")
        jobs.append((schedule, user, words[start:end]))
    return jobs


def test_cron_lines_have_five_time_fields_a_user_and_real_commands():
    jobs = cron_jobs()
    assert [argv[0] for _, _, argv in jobs] == ["export", "models", "plot"]
    for schedule, user, argv in jobs:
        assert user == "botcopier"
        assert all(re.fullmatch(r"[\d*/,-]+", field) for field in schedule.split())
        assert_botcopier_argv(argv)
    # A literal % ends a crontab command: every one must be escaped.
    for line in (INFRA / "cron" / "botcopier.cron").read_text().splitlines():
        if not line.startswith("#"):
            assert not re.search(r"(?<!\\)%", line), line


def compose() -> dict:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def test_the_compose_file_names_every_service_and_three_kraft_brokers():
    services = compose()["services"]
    assert set(services) == COMPOSE_SERVICES
    brokers = [services[f"kafka-{n}"]["environment"] for n in (1, 2, 3)]
    assert [b["KAFKA_NODE_ID"] for b in brokers] == [1, 2, 3]
    assert len({b["CLUSTER_ID"] for b in brokers}) == 1
    for broker in brokers:
        assert broker["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = broker["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert voters == [f"{n}@kafka-{n}:9093" for n in (1, 2, 3)]
        assert broker["KAFKA_MIN_INSYNC_REPLICAS"] == 2
    registry = services["schema-registry"]["environment"]
    assert registry["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"].count("19092") == 3
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert any(port.startswith("4318:") for port in services["jaeger"]["ports"])
    mounts = services["grafana"]["volumes"]
    assert "./grafana/botcopier.json:/var/lib/grafana/dashboards/botcopier.json:ro" in mounts
    for mount in mounts + services["prometheus"]["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (INFRA / source).exists(), source


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboard_folder():
    provisioning = INFRA / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    assert source["type"] == "prometheus" and source["url"].endswith(":9090")
    dashboards = yaml.safe_load((provisioning / "dashboards" / "botcopier.yml").read_text())
    (provider,) = dashboards["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def scrape_jobs() -> dict[str, dict]:
    config = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


def default_ports() -> dict[str, int]:
    """Each service's metrics port as BotCopier itself defaults it."""
    settings = load_settings(config_file=None, environ={})
    online = subcommands()["online"].parse_args(["--account", "1", "--magic", "2"])
    return {
        "bridge": settings.bridge.metrics_port,
        "agents": settings.agents.web_port,
        "collector": settings.collector.port,
        "retrainer": settings.retrainer.metrics_port,
        "online": online.metrics_port,
        "filesync": settings.filesync.metrics_port,
        "router": settings.router.port,
        "dashboard": settings.dashboard.port,
    }


def test_prometheus_scrapes_every_service_on_its_default_port():
    jobs = scrape_jobs()
    ports = default_ports()
    assert set(jobs) == {f"botcopier-{name}" for name in ports}
    for name, port in ports.items():
        (targets,) = [group["targets"] for group in jobs[f"botcopier-{name}"]["static_configs"]]
        assert targets == [f"127.0.0.1:{port}"], name
    # The collector's /metrics is its JSON history; its Prometheus text is on /prometheus.
    assert jobs["botcopier-collector"]["metrics_path"] == "/prometheus"
    assert all("metrics_path" not in job for name, job in jobs.items() if "collector" not in name)
