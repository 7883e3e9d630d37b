"""Replacing a file so that a reader sees the old bytes or the new, never a mix.

The new content goes to a temporary file in the same folder (a rename is atomic only within
one file system), is flushed and fsynced, gets its permissions, and is renamed over the
target; then the folder is fsynced, since the rename lives in its entry table and a power
cut could otherwise forget it. A failure leaves the target as it was and no temporary
behind. Model files, review files, router state and generated EAs all go through here.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.json"
>>> write_atomic(path, '{"a": 1}') == path, path.read_text(), oct(path.stat().st_mode & 0o777)
(True, '{"a": 1}', '0o644')
>>> _ = write_atomic(path, b"new"); path.read_bytes(), sorted(p.name for p in path.parent.iterdir())
(b'new', ['model.json'])
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


def sync_directory(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; NTFS journals the rename itself
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Replace ``path`` with ``data`` (text is written as UTF-8); returns ``path``.

    ``mode`` is set explicitly: mkstemp makes files private and the umask must not decide
    whether MT4 or the trainer can read what was written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_directory(path.parent)
    return path
