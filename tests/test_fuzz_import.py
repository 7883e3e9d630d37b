"""Fuzzing the CSV importer's first pass: every row is a valid record or a reported problem.

Each example is one CSV file: a seed log of one of the known variants (the Observer EAs'
``trades_raw.csv``, the Python listener's, the notebook sample, ``metrics.csv`` with ``;``
and ``,``) with cells, headers and bytes mutated, in UTF-8 or UTF-16, or random bytes.
The import's own reader (`importer._Pass`, what `check_files` and `publish` both use) reads
it. Properties: nothing but `SeedFileError` escapes (a file that fails whole); every row
problem has a line and a non-empty reason; every accepted row encodes with its Avro schema
(checked again by fastavro, strictly), carries every required field and its key.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botcopier.schemas import SchemaCatalogue
from botcopier.trainers import importer
from botcopier.trainers.seed_csv import RowProblem, SeedFileError
from botcopier.trainers.seed_logs import ImportOptions, Mapped
from tests.fuzz_strategies import FUZZ_EXAMPLES, byte_mutations
from tests.test_importer import (
    CPU_METRICS_HEADER,
    CPU_METRICS_ROW,
    EA_CLOSE,
    EA_HEADER,
    EA_OPEN,
    FIRST_EA,
    FIRST_METRICS,
    LISTENER,
    LISTENER_METRICS,
    NOTEBOOK,
)

pytestmark = pytest.mark.fuzz
CATALOGUE = SchemaCatalogue.default()
VARIANTS = [
    f"{EA_HEADER}\n{EA_OPEN}\n{EA_CLOSE}\n",
    '{"ea":"observer","rotated":1}\n' + f"{EA_HEADER}\n{EA_OPEN}\n",
    FIRST_EA,
    LISTENER,
    NOTEBOOK,
    FIRST_METRICS,
    f"{CPU_METRICS_HEADER}\n{CPU_METRICS_ROW}\n",
    LISTENER_METRICS,
]
# Cells that parsers trip on: numbers in odd spellings, times, units, quotes, huge values.
NASTY_CELLS = [
    "", " ", "-1", "0", "1e308", "1e309", "-0.0", "nan", "inf", "1,5", "0x10", "1_000",
    "9" * 30, "2024.13.45 25:61", "1969.12.31 23:59", "2024-01-02T13:00:00+99:00", "9" * 20,
    "OPEN", "close", "OP_BUYLIMIT", "7", '"', '"a;b"', "\x00", "é", "\ufeff", "<TICKVOL>",
    "4BF92F3577B34DA6A3CE929D0E0E4736", "0" * 32, "span=1",
]  # fmt: skip
OPTIONS = [
    ImportOptions(),
    ImportOptions(account=123456),
    ImportOptions(account=1, magic=7, symbol="EURUSD", server_utc_offset_hours=2.5),
]
cell_values = st.sampled_from(NASTY_CELLS) | st.text(max_size=12)


@st.composite
def mutated_csv(draw) -> str:
    """A known variant with cells replaced, removed or added, rows repeated or headers changed."""
    lines = [line for line in draw(st.sampled_from(VARIANTS)).split("\n") if line]
    delimiter = "," if lines[-1].count(",") > lines[-1].count(";") else ";"
    rows = [line.split(delimiter) for line in lines]
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        row = rows[draw(st.integers(min_value=0, max_value=len(rows) - 1))]
        at = draw(st.integers(min_value=0, max_value=len(row)))
        choice = draw(st.integers(min_value=0, max_value=4))
        if choice == 0 and at < len(row):
            row[at] = draw(cell_values)
        elif choice == 1 and at < len(row):
            del row[at]
        elif choice == 2:
            row.insert(at, draw(cell_values))
        elif choice == 3:
            rows.append(list(draw(st.sampled_from(rows))))
        elif at < len(row):
            row[at] = row[at].upper() if draw(st.booleans()) else f"<{row[at]}>"
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(delimiter.join(row) for row in rows) + newline


@st.composite
def csv_files(draw) -> bytes:
    choice = draw(st.integers(min_value=0, max_value=9))
    if choice == 0:
        return draw(st.binary(max_size=400))
    if choice == 1:
        return draw(st.sampled_from(VARIANTS).map(str.encode).flatmap(byte_mutations))
    text = draw(mutated_csv())
    if choice == 2:
        return text.encode("utf-16")
    if choice == 3:  # a rotated log, gzipped, sometimes corrupted or truncated
        packed = gzip.compress(text.encode("utf-8"), mtime=0)
        return draw(st.just(packed) | byte_mutations(packed) | st.just(packed[:-9]))
    return text.encode("utf-8")


def check_file(path: Path, options: ImportOptions) -> tuple[int, int]:
    """Accepted rows and problems in ``path``; asserts the properties on each."""
    accepted = problems = 0
    scan = importer._Pass("auto", options)
    try:
        for log, item in scan.scan(importer.FileCheck(path)):
            if isinstance(item, RowProblem):
                assert item.line >= 1 and item.reason.strip()
                problems += 1
                continue
            assert isinstance(item, Mapped)
            schema = CATALOGUE.current(log.schema)
            assert validate(item.record, schema.parsed, raise_errors=False, strict=True)
            required = [f["name"] for f in schema.definition["fields"] if "default" not in f]
            assert all(name in item.record for name in required)
            assert item.record["event_id"]
            assert item.key == f"{item.record['account']}:{item.record['magic']}"
            accepted += 1
    except SeedFileError as error:
        assert error.problem.reason.strip()
        problems += 1
    return accepted, problems


@pytest.fixture(scope="module")
def scratch() -> Path:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=csv_files(), options=st.sampled_from(OPTIONS), name=st.sampled_from(["a.csv", "b.csv.gz"])
)
def test_fuzzed_seed_logs_become_valid_records_or_reported_problems(
    scratch: Path, data: bytes, options: ImportOptions, name: str
) -> None:
    path = scratch / name
    path.write_bytes(data)
    check_file(path, options)


def test_every_unmutated_variant_imports_without_problems(tmp_path: Path) -> None:
    options = ImportOptions(account=1, magic=7)
    for index, text in enumerate(VARIANTS):
        path = tmp_path / f"v{index}.csv"
        path.write_text(text)
        accepted, problems = check_file(path, options)
        assert accepted >= 1 and problems == 0, text


def test_a_truncated_gzip_file_fails_whole_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "trades_raw.csv.gz"
    path.write_bytes(gzip.compress(FIRST_EA.encode())[:40])
    with pytest.raises(SeedFileError, match="corrupt gzip file"):
        list(importer._Pass("auto", ImportOptions()).scan(importer.FileCheck(path)))
