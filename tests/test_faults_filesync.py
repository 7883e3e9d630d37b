"""File-sync replacing models while a reader process reads them, and restarted midway.

1,000 versions of two real clone documents (16 KB each) are published one after another to
the ``models`` topic; the file-sync follows the topic and replaces each model's file while
a separate process reads both files in a loop (over 100,000 reads). Halfway the file-sync is
stopped and a new one started on the same folder: it re-reads the topic from the start.

Afterwards: the reader only ever saw whole published documents, each version's copy was
written exactly once (none rewritten by the restart), and the current files hold the last
versions.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from botcopier.streams import model_files
from botcopier.streams.filesync import FileSync, ModelsFollower
from botcopier.trainers.publishing import RecordPublisher, model_published_record
from tests.faults.reader import ReaderProcess
from tests.faults.report import report
from tests.shipping import trained_clone, variant

pytestmark = [pytest.mark.broker, pytest.mark.faults]
NAMES = ("clone-31-1001", "clone-31-1002")
VERSIONS = 500  # per model
AHEAD = 6  # versions published and not yet on disk, at most
CURRENT = {model_files.current_file_name(name) for name in NAMES}  # what the EAs read


class CountingFileSync(FileSync):
    """A FileSync that remembers every file it wrote, and with which bytes."""

    writes: Counter[tuple[str, str]] = Counter()

    def _put(self, folder: Path, file_name: str, record: dict) -> model_files.WriteResult:
        result = super()._put(folder, file_name, record)
        if result.written:
            self.writes[(file_name, record["sha256"])] += 1
        return result


class OneByOneFollower(ModelsFollower):
    """Applies each record as it arrives, as a file-sync keeping up with releases does, so
    every version replaces the current file (the service's own loop batches what piles up
    within half a second)."""

    def follow(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self.consumer.consume(num_messages=1, timeout=0.2)
            if batch:
                self._apply(batch)
                self._commit(batch)


class FollowingSync:
    """A file-sync (catch up from the start, then follow) in a thread, stoppable as SIGTERM
    stops the service."""

    def __init__(self, settings, folder: Path) -> None:
        self.sync = CountingFileSync([folder], keep=VERSIONS, say=lambda _line: None)
        self.stop = threading.Event()
        self.follower = OneByOneFollower(settings, self.sync, self.sync.say)
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.follower.catch_up(self.stop)
            self.follower.follow(self.stop)
        finally:
            self.follower.close()

    def wait_caught_up(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.sync.caught_up:
            assert time.monotonic() < deadline, "file-sync never caught up"
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)


def _versions_written() -> int:
    return sum(n for (name, _), n in CountingFileSync.writes.items() if name not in CURRENT)


def test_filesync_replaces_models_under_a_reader_and_restarts_without_rewrites(
    fresh_settings, tmp_path, request
):
    settings = fresh_settings
    started = time.monotonic()
    folder = tmp_path / "MQL4" / "Files"
    folder.mkdir(parents=True)
    records = {
        name: [
            model_published_record(variant(base, i, 0.5 + i / 10_000))
            for base in [trained_clone(name)]
            for i in range(1, VERSIONS + 1)
        ]
        for name in NAMES
    }
    published = {r["sha256"] for rs in records.values() for r in rs}
    publisher = RecordPublisher(settings)
    CountingFileSync.writes = Counter()
    follower = FollowingSync(settings, folder)
    reader = ReaderProcess([folder / name for name in sorted(CURRENT)], tmp_path)
    restart = {}
    try:
        follower.wait_caught_up()
        for i in range(VERSIONS):
            for name in NAMES:
                publisher.send("models", "ModelPublished", name, records[name][i])
            publisher.flush()
            # A steady stream of releases the file-sync keeps up with (at most a few
            # versions ahead), so the restart comes in the middle of it.
            deadline = time.monotonic() + 30
            while _versions_written() < len(NAMES) * (i + 1) - AHEAD:
                assert time.monotonic() < deadline, "the file-sync stopped writing"
                time.sleep(0.002)
            if i == VERSIONS // 2:
                restart["after_versions"] = _versions_written()
                follower.close()
                follower = FollowingSync(settings, folder)
        last = {name: records[name][-1]["model_json"].encode() for name in NAMES}
        deadline = time.monotonic() + 60
        while any(not model_files.same_content(folder / model_files.current_file_name(n), d)
                  for n, d in last.items()):  # fmt: skip
            assert time.monotonic() < deadline, "the last versions never reached the folder"
            time.sleep(0.1)
        time.sleep(0.5)  # and the reader sees the final files for a while
    finally:
        seen = reader.stop()
        follower.close()

    torn = {d: n for d, n in seen["digests"].items() if d not in published}
    versioned, current = Counter(), Counter()
    for (file_name, digest), n in CountingFileSync.writes.items():
        (current if file_name in CURRENT else versioned)[digest] += n
    report(request, "filesync-replace", time.monotonic() - started,
           versions=len(published), reads=seen["reads"], distinct_seen=len(seen["digests"]),
           torn_reads=sum(torn.values()), versions_written=len(versioned),
           version_rewrites=sum(versioned.values()) - len(versioned),
           current_file_replacements=sum(current.values()),
           restarted_after=restart["after_versions"])  # fmt: skip
    assert not torn, f"the reader saw {sum(torn.values())} reads of no published document"
    assert seen["reads"] >= 100_000 and seen["missing"] == 0
    assert len(seen["digests"]) > 10  # it did read while the files were being replaced
    assert set(versioned) == published  # every version's copy was written...
    assert all(n == 1 for n in versioned.values())  # ...once, the restart rewrote none
    assert all(n == 1 for n in current.values()) and sum(current.values()) > 0.9 * len(published)
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())
    for name, data in last.items():
        assert (folder / model_files.current_file_name(name)).read_bytes() == data
        assert hashlib.sha256(data).hexdigest() in seen["digests"]
