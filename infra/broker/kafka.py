"""Apache Kafka in KRaft mode, one node acting as broker and controller, from Maven Central jars."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from botcopier.infra.broker.base import BrokerLauncher, LaunchPlan
from botcopier.infra.broker.exceptions import BrokerError, BrokerUnavailableError
from botcopier.infra.broker.maven import ensure_kafka_jars, kafka_resource

# 3.9 is the newest line that still accepts the older protocol versions aiokafka (and so
# faust-streaming) sends; Kafka 4.0 dropped them (KIP-896). Must match infra/kafka/pom.xml.
KAFKA_VERSION = "3.9.1"
MIN_JAVA_MAJOR = 11
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major_version(java: str) -> int | None:
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # `openjdk version "17.0.15"`, or "1.8.0_392" for Java 8.
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def new_cluster_id() -> str:
    """Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding.

    An id starting with '-' would be read as an option by the storage tool's argument
    parser, so (like Kafka's own generator) such ids are drawn again.

    >>> all(not new_cluster_id().startswith("-") for _ in range(500))
    True
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


class ApacheKafkaLauncher(BrokerLauncher):
    kind = "kafka"
    display_name = f"Apache Kafka {KAFKA_VERSION} (KRaft)"

    def unavailable_reason(self) -> str | None:
        java = find_java()
        if java is None:
            return "no Java runtime found (set JAVA_HOME or put 'java' on PATH)"
        major = java_major_version(java)
        if major is None or major < MIN_JAVA_MAJOR:
            return f"{java} is Java {major or 'of unknown version'}; Kafka needs {MIN_JAVA_MAJOR}+"
        if shutil.which("mvn") is None and not self._jars_cached():
            return "Maven ('mvn') is not on PATH and the Kafka jars are not cached yet"
        return None

    def _jars_cached(self) -> bool:
        return (self.settings.paths.cache_dir / f"kafka-{KAFKA_VERSION}" / ".verified").is_file()

    @property
    def log_dir(self) -> Path:
        return self.broker_dir / "kafka-logs"

    def prepare(self) -> LaunchPlan:
        reason = self.unavailable_reason()
        if reason:
            raise BrokerUnavailableError(reason)
        java = find_java()
        assert java is not None  # noqa: S101 - checked by unavailable_reason
        jars = ensure_kafka_jars(self.settings.paths.cache_dir, KAFKA_VERSION, self.progress)
        self.broker_dir.mkdir(parents=True, exist_ok=True)
        properties = self._write_server_properties()
        classpath = ["-cp", str(jars / "*")]
        logging = f"-Dlog4j.configuration=file:{kafka_resource('log4j.properties')}"
        self._format_storage(java, classpath, logging, properties)
        heap = self.settings.broker.heap
        return LaunchPlan(
            argv=[
                java,
                f"-Xmx{heap}",
                f"-Xms{heap}",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                logging,
                *classpath,
                MAIN_CLASS,
                str(properties),
            ],
            version=KAFKA_VERSION,
            persistent=True,
            cmdline_marker=MAIN_CLASS,
        )

    def _write_server_properties(self) -> Path:
        broker = self.settings.broker
        host, port, controller = broker.host, broker.port, broker.controller_port
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{host}:{controller}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": "1",
            # One node: internal topics cannot have more replicas than brokers.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            # Consumers in tests and demos join at once instead of waiting 3 s.
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(8 * 1024 * 1024),
        }
        path = self.broker_dir / "server.properties"
        header = (
            "# Written by `botcopier broker start` on every start; edit botcopier.toml instead.\n"
        )
        path.write_text(header + "".join(f"{k}={v}\n" for k, v in lines.items()), encoding="utf-8")
        return path

    def _format_storage(
        self, java: str, classpath: list[str], logging: str, properties: Path
    ) -> None:
        if (self.log_dir / "meta.properties").is_file():
            return
        self.progress(f"formatting KRaft storage in {self.log_dir}")
        result = subprocess.run(
            [
                java,
                logging,
                *classpath,
                STORAGE_TOOL_CLASS,
                "format",
                "-t",
                new_cluster_id(),
                "-c",
                str(properties),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
            raise BrokerError(f"kafka storage format failed:\n{tail}")
