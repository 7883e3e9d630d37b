"""Model files in an MT4 folder without a broker: names, atomic replacement, pruning."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from botcopier.streams import model_files
from botcopier.streams.model_files import UnsafeNameError, check_file_part


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../evil",
        "..\\evil",
        "a/b",
        "/etc/passwd",
        "C:evil",
        "bad\nname",
        "bad\x00name",
        "tab\tname",
        "\u202eevil",  # right-to-left override: the file would show under another name
        ".hidden",
        "trailing.",
        "trailing ",
        "CON",
        "nul.txt",
        "x" * 121,
    ],
)
def test_a_name_that_could_escape_hide_or_break_on_windows_is_refused(name):
    with pytest.raises(UnsafeNameError, match="is refused: it"):
        check_file_part(name, "model name")


@pytest.mark.parametrize("name", ["clone-900001-1001", "a.b_c-D", "20240101T000000Z-0a1b2c3d"])
def test_ordinary_model_names_and_versions_pass(name):
    assert check_file_part(name, "model name") == name


def test_an_unsafe_name_never_becomes_a_path():
    with pytest.raises(UnsafeNameError):
        model_files.current_file_name("../evil")
    with pytest.raises(UnsafeNameError):
        model_files.versioned_file_name("good", "../../evil")


def test_put_file_writes_0644_and_leaves_identical_bytes_alone(tmp_path):
    first = model_files.put_file(tmp_path, "m.model.json", b'{"a":1}')
    assert first.written and first.path.read_bytes() == b'{"a":1}'
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o644
    before = first.path.stat()
    again = model_files.put_file(tmp_path, "m.model.json", b'{"a":1}')
    after = again.path.stat()
    assert not again.written
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    changed = model_files.put_file(tmp_path, "m.model.json", b'{"a":2}')
    assert changed.written and changed.path.read_bytes() == b'{"a":2}'
    assert changed.path.stat().st_ino != before.st_ino  # replaced, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.model.json"]  # no temporaries


def test_put_file_is_0644_even_under_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        path = model_files.put_file(tmp_path, "m.model.json", b"{}").path
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_reader_never_sees_a_partial_file_while_it_is_replaced_again_and_again(tmp_path):
    # Two documents of different lengths: a torn read would be neither of them.
    small, large = b'{"v":"small"}', b'{"v":"' + b"L" * 200_000 + b'"}'
    model_files.put_file(tmp_path, "m.model.json", small)
    path = tmp_path / "m.model.json"
    done, seen, torn = threading.Event(), set(), []

    def read() -> None:
        while not done.is_set():
            data = path.read_bytes()
            if data in (small, large):
                seen.add(data)
            else:
                torn.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(300):
            model_files.put_file(tmp_path, "m.model.json", large if i % 2 == 0 else small)
    finally:
        done.set()
        reader.join()
    assert torn == []
    assert seen == {small, large}


def test_pruning_keeps_the_newest_known_versions_and_touches_no_other_model(tmp_path):
    for version in ("v1", "v2", "v3", "v4"):
        model_files.put_file(tmp_path, model_files.versioned_file_name("m", version), b"{}")
    # Another model whose name starts with "m-": a glob on "m-*" would match its files.
    other = model_files.put_file(tmp_path, "m-v2x.model.json", b"{}").path
    removed = model_files.prune_versions(tmp_path, "m", ["v1", "v2", "v3", "v4"], keep=2)
    assert sorted(p.name for p in removed) == ["m-v1.model.json", "m-v2.model.json"]
    assert other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m-v2x.model.json",
        "m-v3.model.json",
        "m-v4.model.json",
    ]
    assert model_files.prune_versions(tmp_path, "m", ["v3", "v4"], keep=0) == [
        tmp_path / "m-v3.model.json",
        tmp_path / "m-v4.model.json",
    ]


def test_leftover_temporaries_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    leftover = tmp_path / ".m.model.json.abc123.tmp"
    leftover.write_bytes(b"{half")
    theirs = tmp_path / ".terminal.ini"
    theirs.write_bytes(b"x")
    assert model_files.remove_leftover_temporaries(tmp_path) == [leftover]
    assert not leftover.exists() and theirs.exists()
