"""The Kafka jar lock file and its verification (no download needed)."""

import re

import pytest

from botcopier.infra.broker.exceptions import BrokerError
from botcopier.infra.broker.kafka import KAFKA_VERSION
from botcopier.infra.broker.maven import kafka_resource, read_lock_file, sha256_of, verify_jars


def test_pom_pins_the_version_the_launcher_expects():
    pom = kafka_resource("pom.xml").read_text()
    assert re.search(r"<kafka.version>(.+?)</kafka.version>", pom).group(1) == KAFKA_VERSION


def test_lock_file_covers_the_broker_and_its_logging():
    jars = read_lock_file(kafka_resource("jars.sha256"))
    assert f"kafka_2.13-{KAFKA_VERSION}.jar" in jars
    assert f"kafka-clients-{KAFKA_VERSION}.jar" in jars
    assert any(name.startswith("slf4j-reload4j") for name in jars)


def _jar_dir(tmp_path, contents):
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    return {name: sha256_of(tmp_path / name) for name in contents}


def test_matching_jars_pass(tmp_path):
    expected = _jar_dir(tmp_path, {"a.jar": b"A", "b.jar": b"B"})
    verify_jars(tmp_path, expected)


def test_tampered_jar_is_refused(tmp_path):
    expected = _jar_dir(tmp_path, {"a.jar": b"A"})
    (tmp_path / "a.jar").write_bytes(b"evil")
    with pytest.raises(BrokerError, match="checksum mismatch for a.jar"):
        verify_jars(tmp_path, expected)


def test_missing_or_extra_jars_are_refused(tmp_path):
    expected = _jar_dir(tmp_path, {"a.jar": b"A"})
    (tmp_path / "extra.jar").write_bytes(b"X")
    with pytest.raises(BrokerError, match=r"unexpected \['extra.jar'\]"):
        verify_jars(tmp_path, {**expected, "gone.jar": "0" * 64})


def test_malformed_lock_file_line_is_reported(tmp_path):
    lock = tmp_path / "jars.sha256"
    lock.write_text("# comment\nnot-a-digest  x.jar\n")
    with pytest.raises(BrokerError, match=":2:"):
        read_lock_file(lock)
