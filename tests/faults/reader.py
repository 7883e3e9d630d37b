"""A model reader in its own process, as the strategy EA is: reads files over and over.

    python -m tests.faults.reader OUT.json STOP_FILE FILE...

Until ``STOP_FILE`` exists it reads each FILE in turn, whole, and counts what it saw by
SHA-256: the test then checks every digest is one of a published document (anything else is
a torn or mixed file). A file that vanishes after it first appeared counts as missing.
Writes the counts to ``OUT.json`` and exits.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path


def read_until_stopped(files: list[Path], stop_file: Path) -> dict:
    seen: Counter[str] = Counter()
    present: set[Path] = set()
    missing = reads = 0
    while True:
        for path in files:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                # Before its first version a file is absent; once there, a rename-over
                # never leaves a moment without it.
                missing += path in present
                continue
            present.add(path)
            reads += 1
            seen[hashlib.sha256(data).hexdigest()] += 1
        if reads % 64 < len(files) and stop_file.exists():
            return {"reads": reads, "missing": missing, "digests": dict(seen)}


def main(argv: list[str]) -> int:
    out, stop_file, *files = argv
    Path(stop_file).parent.mkdir(parents=True, exist_ok=True)
    counts = read_until_stopped([Path(f) for f in files], Path(stop_file))
    Path(out).write_text(json.dumps(counts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class ReaderProcess:
    """Runs this module as a subprocess over ``files``; `stop` returns its counts."""

    def __init__(self, files: list[Path], folder: Path) -> None:
        self.out, self.stop_file = folder / "reader.json", folder / "reader.stop"
        root = Path(__file__).resolve().parents[2]
        argv = [sys.executable, "-m", "tests.faults.reader", str(self.out), str(self.stop_file)]
        self.process = subprocess.Popen([*argv, *map(str, files)], cwd=root)  # noqa: S603

    def stop(self, timeout_s: float = 30.0) -> dict:
        self.stop_file.touch()
        try:
            self.process.wait(timeout_s)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        return json.loads(self.out.read_text(encoding="utf-8"))
