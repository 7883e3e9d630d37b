"""Reading the seed project's CSV logs: encoding, delimiter, header and numbered rows.

The seed project (``yegorsokolov/BotCopier``) wrote its logs from MQL4 and from Python, so
one kind of file comes in several shapes, all handled here:

- MQL4's ``FileOpen(name, FILE_CSV, ';')`` without ``FILE_ANSI`` writes UTF-16 text with a
  byte-order mark; Python writes UTF-8 (sometimes with a mark);
- ``;`` between cells (the EA) or ``,`` (Python's csv module): sniffed from the header;
- header names in any case, ``<TICKVOL>`` as MT5 exports them, or camelCase;
- the EA's rotated logs start with one JSON line of metadata before the header, and are
  gzipped (``….csv.gz``).

Rows come with the physical line they start on, as an editor numbers it, so a problem can
be reported where the user will look for it. The small value parsers below raise
``ValueError`` with a message that names the column.

Examples
--------
>>> column_name("<TICKVOL>"), column_name("eventTime"), column_name(" Win Rate ")
('tickvol', 'event_time', 'win_rate')
>>> number("lots", "0,10", decimal_comma=True)
0.1
>>> event_time_ms("2024.01.02 13:00", server_utc_offset_ms=2 * 3_600_000)
1704193200000
>>> event_time_ms("2024-01-02T13:00:00+02:00", server_utc_offset_ms=0)
1704193200000
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from botcopier.bridge.simulator.market import parse_time_ms
from botcopier.exceptions import BotCopierError

_GZIP_MAGIC = b"\x1f\x8b"
_DELIMITERS = (";", ",", "\t")
_NAME = re.compile(r"\s*<?[A-Za-z_][A-Za-z_ ]*>?\s*")
# Anything earlier is a unit mistake (epoch seconds read as ms), not a trade.
_EARLIEST_MS = 946_684_800_000  # 2000-01-01 00:00 UTC


@dataclass(frozen=True)
class RowProblem:
    """A row (or a whole file, at its header line) that cannot be imported, and why."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class SeedFileError(BotCopierError):
    """A file cannot be imported at all (no header, required columns missing, not CSV)."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.problem = RowProblem(Path(path), line, problem)


@dataclass
class CsvTable:
    """An open CSV log: its header, and its rows read on demand."""

    path: Path
    delimiter: str
    header_line: int
    header: list[str]  # as written
    columns: list[str]  # normalised with `column_name`
    _reader: Iterator[list[str]]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(line, cells)`` of every non-blank row; ``line`` is where the row starts."""
        reader = self._reader
        consumed = 0
        while True:
            start = self.header_line + consumed + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise SeedFileError(self.path, start, f"unreadable CSV: {exc}") from None
            consumed = reader.line_num  # type: ignore[attr-defined]
            if any(cell.strip() for cell in cells):
                yield start, cells

    @staticmethod
    def is_header(cells: list[str]) -> bool:
        """True for a header line among the rows: names only, where every log row has numbers.

        The seed EA appends its model metrics (``time;model_id;hit_rate;profit_factor``) to
        ``metrics.csv`` under a header of their own.
        """
        return all(_NAME.fullmatch(cell) for cell in cells if cell.strip())


def column_name(text: str) -> str:
    """A header cell in one spelling: lower snake case, without MT5's angle brackets."""
    text = text.strip().strip("<>").strip()
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[\s\-]+", "_", text).lower()


@contextmanager
def open_table(path: str | Path) -> Iterator[CsvTable]:
    """Open a CSV log: skip leading JSON metadata lines, sniff the delimiter from the header.

    Raises
    ------
    SeedFileError
        When the file has no header line or only one column.
    """
    path = Path(path)
    with _open_text(path) as handle:
        line = 0
        while True:
            text = handle.readline()
            line += 1
            if not text:
                raise SeedFileError(path, line, "no header line: the file is empty")
            stripped = text.strip()
            if stripped and not stripped.startswith("{"):
                break
        counts = {d: stripped.count(d) for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=lambda d: counts[d])
        if counts[delimiter] == 0:
            raise SeedFileError(
                path, line, f"header {stripped[:60]!r} has one column: want ';' or ','"
            )
        header = next(csv.reader([stripped], delimiter=delimiter))
        reader = csv.reader(handle, delimiter=delimiter)
        yield CsvTable(path, delimiter, line, header, [column_name(h) for h in header], reader)


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    binary = gzip.open(path, "rb") if compressed else path.open("rb")
    start = binary.peek(4)[:4]  # type: ignore[union-attr]
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif start[1:2] == b"\x00":  # UTF-16LE text without a byte-order mark
        encoding = "utf-16-le"
    else:
        encoding = "utf-8-sig"
    # MT4's FILE_ANSI logs are in the terminal's code page: an odd byte in a comment should
    # not make the whole file unreadable.
    return io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")


def number(name: str, text: str, *, decimal_comma: bool = False) -> float:
    """A finite float; ``decimal_comma`` reads ``1,5`` as 1.5 (European ``;`` exports)."""
    text = text.strip()
    if decimal_comma and "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {text!r}")
    return value


def whole(name: str, text: str, *, minimum: int | None = None) -> int:
    """An integer written as ``12`` or ``12.0``."""
    value = number(name, text)
    if not value.is_integer():
        raise ValueError(f"{name} must be a whole number, not {text.strip()!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {text.strip()!r}")
    return int(value)


def event_time_ms(text: str, *, server_utc_offset_ms: int) -> int:
    """Epoch ms (UTC) of an MT4 (``2024.01.02 13:00[:05]``), ISO 8601 or epoch-ms time.

    Times without a zone are MT4 server times: ``server_utc_offset_ms`` is subtracted from
    them. Epoch ms and ISO times with a zone are absolute and taken as they are.
    """
    text = text.strip()
    if not text:
        raise ValueError("the time is empty")
    if text.isdigit():
        value = int(text)
    else:
        try:
            value = parse_time_ms(text) - server_utc_offset_ms
        except ValueError:
            value = _iso_ms(text, server_utc_offset_ms)
    if value < _EARLIEST_MS:
        raise ValueError(f"time {text!r} is before 2000 (epoch seconds? want ms)")
    return value


def _iso_ms(text: str, server_utc_offset_ms: int) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"unreadable time {text!r} (want YYYY.MM.DD HH:MM[:SS], ISO 8601 or epoch ms)"
        ) from None
    if moment.tzinfo is None:
        return round(moment.replace(tzinfo=UTC).timestamp() * 1000) - server_utc_offset_ms
    return round(moment.timestamp() * 1000)
