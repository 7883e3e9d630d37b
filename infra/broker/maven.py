"""Resolves the pinned Apache Kafka jars from Maven Central into a user cache, verified.

Maven checks each download against the repository's own checksums (``--strict-checksums``);
then every jar is checked against ``infra/kafka/jars.sha256``, the project's lock file, so a
changed artifact or an unexpected extra dependency is refused.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from botcopier.infra.broker.base import Progress
from botcopier.infra.broker.exceptions import BrokerError, BrokerUnavailableError

_COMPLETE_MARKER = ".verified"
_MAVEN_TIMEOUT_S = 900


def kafka_resource(name: str) -> Path:
    """A file shipped in ``infra/kafka/`` (POM, lock file, logging config)."""
    return Path(str(resources.files("botcopier.infra").joinpath("kafka", name)))


def read_lock_file(path: Path) -> dict[str, str]:
    """``sha256sum`` format: ``<hex>  <jar file name>`` per line."""
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise BrokerError(f"{path}:{number}: not a '<sha256>  <file>' line")
        entries[name.strip()] = digest
    return entries


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_jars(directory: Path, expected: dict[str, str]) -> None:
    found = {p.name for p in directory.glob("*.jar")}
    missing = sorted(set(expected) - found)
    extra = sorted(found - set(expected))
    if missing or extra:
        raise BrokerError(
            f"Kafka jars in {directory} do not match the lock file: "
            f"missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
    for name, digest in expected.items():
        actual = sha256_of(directory / name)
        if actual != digest:
            raise BrokerError(
                f"checksum mismatch for {name}: expected sha256 {digest}, got {actual}; "
                "refusing to run it"
            )


def ensure_kafka_jars(cache_dir: Path, kafka_version: str, progress: Progress) -> Path:
    """The directory holding the verified jars, resolving them on first use."""
    target = cache_dir / f"kafka-{kafka_version}"
    if (target / _COMPLETE_MARKER).is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerUnavailableError(
            "Maven ('mvn') is not on PATH, so the Kafka jars cannot be fetched"
        )
    expected = read_lock_file(kafka_resource("jars.sha256"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    progress(
        f"fetching Apache Kafka {kafka_version} jars from Maven Central "
        f"({len(expected)} jars, first run only)..."
    )
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".kafka-jars-") as work:
        work_dir = Path(work)
        shutil.copy(kafka_resource("pom.xml"), work_dir / "pom.xml")
        jars_dir = work_dir / "jars"
        command = [
            mvn,
            "-B",
            "-q",
            "--strict-checksums",
            "-f",
            str(work_dir / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={jars_dir}",
            "-DincludeScope=runtime",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerUnavailableError(
                f"Maven did not finish fetching the Kafka jars in {_MAVEN_TIMEOUT_S} s"
            ) from exc
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise BrokerUnavailableError(
                f"Maven could not fetch the Kafka jars (Maven Central unreachable?):\n{tail}"
            )
        verify_jars(jars_dir, expected)
        (jars_dir / _COMPLETE_MARKER).write_text(kafka_version + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        jars_dir.rename(target)
    progress(f"verified {len(expected)} jars against the lock file -> {target}")
    return target
