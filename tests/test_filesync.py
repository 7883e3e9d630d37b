"""`botcopier publish` and `botcopier filesync` on a real broker, into temp MT4 folders."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botcopier.streams.filesync import FileSync, serve
from botcopier.trainers.model_document import ModelFormatError, parse_model, save_model
from botcopier.trainers.publishing import RecordPublisher, model_published_record
from tests.helpers import free_port
from tests.shipping import Cli, publish_docs, published, sync_once, trained_clone, variant

pytestmark = pytest.mark.broker
NAME = "clone-7-1001"


@pytest.fixture
def cli(fresh_settings, monkeypatch, capsys, tmp_path):
    return Cli(fresh_settings, monkeypatch, capsys, tmp_path)


@pytest.fixture
def files(tmp_path) -> Path:
    folder = tmp_path / "terminal" / "MQL4" / "Files"
    folder.mkdir(parents=True)
    return folder


def sample(sync: FileSync, metric: str, **labels: str) -> float:
    return sync.metrics.registry.get_sample_value(metric, labels) or 0.0


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_a_trained_clone_is_published_and_lands_in_the_files_folder_byte_for_byte(
    cli, fresh_settings, files, tmp_path
):
    doc = trained_clone(NAME)
    path = save_model(doc, tmp_path / "out" / "clone.model.json")
    code, out, _ = cli("publish", path)
    [record] = published(fresh_settings)
    assert code == 0
    assert f"published {NAME} {doc['version']} sha256 {record['sha256']}" in out

    code, out, _ = cli("filesync", "--files-dir", files, "--once")
    assert code == 0, out
    current = files / f"{NAME}.model.json"
    data = current.read_bytes()
    assert data == record["model_json"].encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == record["sha256"]
    assert parse_model(data) == json.loads(json.dumps(doc))
    versioned = files / f"{NAME}-{doc['version']}.model.json"
    assert versioned.read_bytes() == data
    assert sorted(p.name for p in files.iterdir()) == sorted([current.name, versioned.name])
    for file in (current, versioned):
        assert stat.S_IMODE(file.stat().st_mode) == 0o644
    assert f"{NAME} {doc['version']} -> {current} (written)" in out


def test_publish_refuses_an_invalid_file_with_the_reason(cli, fresh_settings, tmp_path):
    doc = trained_clone(NAME)
    broken = dict(doc, classes=["none", "buy"])  # coefficient rows no longer match
    path = tmp_path / "broken.model.json"
    path.write_text(json.dumps(broken))
    code, _, err = cli("publish", path)
    assert code == 2
    assert "botcopier: error:" in err and "inconsistent model.json" in err
    code, _, err = cli("publish", save_model(doc, tmp_path / "ok.json"), "--name", "..")
    assert code == 2 and "model name '..' is refused" in err
    assert published(fresh_settings) == []


def test_a_second_model_replaces_the_file_atomically_under_a_reader_parsing_it(
    fresh_settings, files
):
    first, second = trained_clone(NAME), trained_clone(NAME, c=0.05)
    assert first["version"] != second["version"]
    publish_docs(fresh_settings, first)
    sync_once(fresh_settings, files)
    current = files / f"{NAME}.model.json"
    done, versions, failures, reads = threading.Event(), set(), [], [0]

    def reader() -> None:
        deadline = time.monotonic() + 300  # a bound for a broken test, not a speed check
        while time.monotonic() < deadline and not (done.is_set() and reads[0] >= 2_000):
            try:
                versions.add(parse_model(current.read_bytes())["version"])
            except (ModelFormatError, OSError) as exc:
                failures.append(str(exc)[:200])
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        while reads[0] < 200:  # the reader is going before the file changes
            time.sleep(0.01)
        publish_docs(fresh_settings, second)
        sync = sync_once(fresh_settings, files)
    finally:
        done.set()
        thread.join()
    assert failures == []
    assert reads[0] >= 2_000
    assert versions == {first["version"], second["version"]}
    assert parse_model(current.read_bytes())["version"] == second["version"]
    assert sample(sync, "botcopier_filesync_files_written_total") == 2  # current + versioned


def test_a_restart_rewrites_nothing_and_counts_the_files_unchanged(fresh_settings, files):
    other = trained_clone("clone-7-1002", bot="rsi-reversion")
    publish_docs(fresh_settings, trained_clone(NAME), trained_clone(NAME, c=0.05), other)
    first = sync_once(fresh_settings, files)
    assert sample(first, "botcopier_filesync_files_written_total") == 5
    before = snapshot(files)
    assert len(before) == 5  # 2 current files, 3 versioned copies

    again = sync_once(fresh_settings, files)
    assert snapshot(files) == before
    assert sample(again, "botcopier_filesync_files_written_total") == 0
    assert sample(again, "botcopier_filesync_files_unchanged_total") == 5


def test_a_bad_checksum_and_an_escaping_name_are_refused_and_nothing_is_written(
    fresh_settings, tmp_path, files
):
    doc = trained_clone(NAME)
    tampered = dict(model_published_record(doc), sha256="0" * 64)
    escaping = dict(model_published_record(doc), model_name="../evil")
    publisher = RecordPublisher(fresh_settings)
    publisher.send("models", "ModelPublished", NAME, tampered)
    publisher.send("models", "ModelPublished", "../evil", escaping)
    publisher.flush()
    sync = sync_once(fresh_settings, files)
    assert sample(sync, "botcopier_filesync_records_refused_total", reason="sha256_mismatch") == 1
    assert sample(sync, "botcopier_filesync_records_refused_total", reason="unsafe_name") == 1
    assert sample(sync, "botcopier_filesync_files_written_total") == 0
    everything = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert everything == ["terminal", "terminal/MQL4", "terminal/MQL4/Files"]


def test_only_the_newest_keep_versions_stay_beside_the_current_file(fresh_settings, files):
    base = trained_clone(NAME)
    docs = [variant(base, i, 0.5 + i / 10) for i in range(5)]
    publish_docs(fresh_settings, *docs[:4])
    sync_once(fresh_settings, files, keep=2)
    expected = {f"{NAME}.model.json"} | {f"{NAME}-{d['version']}.model.json" for d in docs[2:4]}
    assert {p.name for p in files.iterdir()} == expected

    publish_docs(fresh_settings, docs[4])
    sync = sync_once(fresh_settings, files, keep=2)
    expected = {f"{NAME}.model.json"} | {f"{NAME}-{d['version']}.model.json" for d in docs[3:]}
    assert {p.name for p in files.iterdir()} == expected
    assert sample(sync, "botcopier_filesync_files_pruned_total") == 1
    assert parse_model((files / f"{NAME}.model.json").read_bytes())["version"] == docs[4]["version"]


def test_the_running_service_follows_new_models_and_serves_its_metrics(fresh_settings, files):
    first, second = trained_clone(NAME), trained_clone(NAME, c=0.05)
    publish_docs(fresh_settings, first)
    sync, stop, port = FileSync([files], 5, say=print), threading.Event(), free_port()
    service = threading.Thread(
        target=serve,
        args=(fresh_settings, sync, print),
        kwargs={"metrics_port": port, "stop": stop},
    )
    service.start()
    try:
        current = files / f"{NAME}.model.json"
        wait_for(lambda: sync.caught_up)
        publish_docs(fresh_settings, second)  # arrives while the service follows the topic
        wait_for(lambda: current.exists() and second["version"] in current.read_text())
        health = json.loads(scrape(port, "/healthz"))
        body = scrape(port, "/metrics")
    finally:
        stop.set()
        service.join(timeout=60)
    assert not service.is_alive()
    assert health["caught_up"] is True and health["models"] == {NAME: second["version"]}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert samples[("botcopier_filesync_files_written_total", ())] == 4
    assert samples[("botcopier_filesync_files_unchanged_total", ())] == 0
    gauge = "botcopier_filesync_current_version"
    assert samples[(gauge, (("model", NAME), ("version", second["version"])))] == 1
    assert (gauge, (("model", NAME), ("version", first["version"]))) not in samples


def scrape(port: int, path: str) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.read().decode()


def wait_for(condition, bound_s: float = 120.0) -> None:
    deadline = time.monotonic() + bound_s  # a bound for a hung test, not a speed check
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def test_sigterm_stops_the_filesync_command_cleanly(fresh_settings, files, tmp_path):
    env = {
        **os.environ,
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": fresh_settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": fresh_settings.kafka.topic_prefix,
        "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / "state"),
        "BOTCOPIER_FILESYNC__METRICS_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "botcopier.cli", "filesync", "--files-dir", str(files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "caught up" in line:
                break
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(lines) + rest
    assert "filesync: stopped" in rest
