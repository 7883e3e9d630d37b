"""Model files in an MT4 ``MQL4/Files`` folder: safe names, atomic writes, pruning.

The strategy EA reads ``<name>.model.json``; beside it ``<name>-<version>.model.json`` keeps
recent versions for a quick manual rollback. A file is replaced by writing a temporary file
in the same folder, syncing it, renaming it over the target and syncing the folder: the EA
opens either the old document or the new one, never half of one, and a power cut leaves one
of the two. A file whose bytes already equal the document is left alone (same inode, same
mtime), so a restarted file-sync touches nothing.

Names come from Kafka records anyone with access to the topic could write, so each one is
checked before it becomes part of a path: a name that could leave the folder, hide a file,
or be invalid on Windows (where MT4 runs) is refused.

Examples
--------
>>> check_file_part("clone-900001-1001", "model name")
'clone-900001-1001'
>>> check_file_part("../evil", "model name")
Traceback (most recent call last):
...
botcopier.streams.model_files.UnsafeNameError: model name '../evil' is refused: it contains a \
path separator ('/' or '\\\\'), so it could write outside the folder
>>> current_file_name("clone-1"), versioned_file_name("clone-1", "20240101T000000Z-0a1b2c3d")
('clone-1.model.json', 'clone-1-20240101T000000Z-0a1b2c3d.model.json')
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from botcopier.atomic_file import sync_directory, write_atomic
from botcopier.exceptions import BotCopierError

SUFFIX = ".model.json"
# Files are read by MT4 and people, written only by the file-sync: never executable.
FILE_MODE = 0o644
_MAX_NAME = 120
# Invalid in Windows file names (MT4's terminals run on Windows or Wine).
_WINDOWS_RESERVED_CHARS = set('<>:"|?*')
_WINDOWS_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{stem}{n}" for stem in ("com", "lpt") for n in range(1, 10)
}


class UnsafeNameError(BotCopierError):
    """A model name or version that cannot safely become part of a file name."""


def _problem(text: str) -> str | None:
    if not text:
        return "it is empty"
    if "/" in text or "\\" in text:
        return "it contains a path separator ('/' or '\\\\'), so it could write outside the folder"
    if text in (".", ".."):
        return "it names a folder, not a file"
    if os.path.isabs(text):
        return "it is an absolute path"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        return "it contains control characters"
    if text.startswith("."):
        return "it starts with '.', which hides the file and is reserved for temporary files"
    if set(text) & _WINDOWS_RESERVED_CHARS:
        return 'it contains a character Windows does not allow in file names (<>:"|?*)'
    if text.endswith((" ", ".")) or text.split(".")[0].lower() in _WINDOWS_RESERVED_NAMES:
        return "it is not a valid Windows file name"
    if len(text) > _MAX_NAME:
        return f"it is longer than {_MAX_NAME} characters"
    return None


def check_file_part(text: str, what: str) -> str:
    """``text`` if it is safe as part of a file name, else `UnsafeNameError` saying why."""
    problem = _problem(text)
    if problem:
        raise UnsafeNameError(f"{what} {text!r} is refused: {problem}")
    return text


def current_file_name(name: str) -> str:
    """The file the generated EA reads."""
    return check_file_part(name, "model name") + SUFFIX


def versioned_file_name(name: str, version: str) -> str:
    check_file_part(name, "model name")
    return f"{name}-{check_file_part(version, 'model version')}{SUFFIX}"


def same_content(path: Path, data: bytes) -> bool:
    """Whether ``path`` exists and holds exactly ``data``."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class WriteResult:
    path: Path
    written: bool  # False: the file already held these bytes


def put_file(folder: Path, file_name: str, data: bytes) -> WriteResult:
    """Write ``data`` as ``folder/file_name`` unless it is already there, byte for byte."""
    path = folder / file_name
    if path.parent != folder:
        raise UnsafeNameError(f"{file_name!r} is not a plain file name")
    if same_content(path, data):
        return WriteResult(path, written=False)
    write_atomic(path, data, mode=FILE_MODE)
    return WriteResult(path, written=True)


def prune_versions(folder: Path, name: str, known: list[str], keep: int) -> list[Path]:
    """Delete the versioned copies of ``name`` older than the newest ``keep`` of ``known``.

    ``known`` lists the versions oldest first. Only files named exactly after a known
    version are touched: a glob on ``<name>-*`` would also match another model whose name
    starts with ``<name>-``.
    """
    kept = set(known[-keep:]) if keep > 0 else set()
    removed = []
    for version in dict.fromkeys(known):
        if version in kept:
            continue
        path = folder / versioned_file_name(name, version)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    if removed:
        sync_directory(folder)
    return removed


def remove_leftover_temporaries(folder: Path) -> list[Path]:
    """Temporary files a killed writer left behind (only ours: ``.<x>.model.json.<r>.tmp``)."""
    leftovers = [p for p in folder.glob(f".*{SUFFIX}.*.tmp") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers
