"""`botcopier export` on the real broker: Parquet read back, manifest checked, bad input refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from botcopier import __version__
from botcopier.cli import main
from botcopier.streams.export import ExportError, verify_bundle
from botcopier.trainers.publishing import RecordPublisher, model_published_record
from tests.shipping import trained_clone
from tests.test_agents import close_event, produce, produce_trades
from tests.test_plots import bot_metrics, ea_snapshots

pytestmark = pytest.mark.broker
DAY_MS = 86_400_000
SINCE_MS = 1_735_689_600_000 + 10 * DAY_MS  # 2025-01-11
UNTIL_MS = SINCE_MS + 20 * DAY_MS  # 2025-01-31, excluded


def by_key(record: dict) -> tuple[str, None]:
    """Keyed like the agents' and the bridge's records, partitioned by the key's hash."""
    return f"{record['account']}:{record['magic']}", None


def in_range(records: list[dict]) -> list[dict]:
    return [r for r in records if SINCE_MS <= r["event_time_ms"] < UNTIL_MS]


def rows_by_event_id(path: Path) -> dict[str, dict]:
    rows = pq.read_table(path).to_pylist()
    assert len({row["event_id"] for row in rows}) == len(rows)
    return {row["event_id"]: row for row in rows}


def assert_rows_hold(rows: dict[str, dict], records: list[dict]) -> None:
    assert set(rows) == {r["event_id"] for r in records}
    for record in records:
        row = rows[record["event_id"]]
        for key, value in record.items():
            actual = dict(row[key]) if key in ("metrics", "feature_flags") else row[key]
            assert actual == pytest.approx(value) if isinstance(value, float) else actual == value


@pytest.fixture
def cli(fresh_settings, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOTCOPIER_CONFIG", raising=False)
    monkeypatch.setenv("BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS", fresh_settings.bootstrap_servers())
    monkeypatch.setenv("BOTCOPIER_KAFKA__TOPIC_PREFIX", fresh_settings.kafka.topic_prefix)
    monkeypatch.setenv("BOTCOPIER_PATHS__STATE_DIR", str(tmp_path / "state"))

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["export", *map(str, args)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_an_export_holds_the_range_once_per_event_and_its_manifest_says_so(
    fresh_settings, cli, tmp_path
):
    trades = [
        close_event(42, 1000 + n % 3, n, SINCE_MS - 5 * DAY_MS + n * 12 * 3_600_000, n - 20.5)
        for n in range(80)
    ]
    produce_trades(fresh_settings, trades + trades[30:35])  # a resend after a bridge crash
    metrics = bot_metrics(42, 1001, 150, 0.6, seed=5)  # every 6 h from 2025-01-01
    produce(fresh_settings, "bot-metrics", "BotMetrics", metrics, by_key)
    snapshots = ea_snapshots(42, 1001, metrics)
    produce(fresh_settings, "ea-metrics", "MetricSnapshot", snapshots, by_key)
    models = []
    for n, days in enumerate((2, 15, 25, 40)):
        record = model_published_record(trained_clone(f"export-clone-{n}"))
        models.append({**record, "event_time_ms": SINCE_MS - 10 * DAY_MS + days * DAY_MS})
    publisher = RecordPublisher(fresh_settings)
    for record in models:
        publisher.send("models", "ModelPublished", record["model_name"], record)
    publisher.flush()

    out = tmp_path / "bundle"
    code, printed, err = cli(
        "--since", "2025-01-11", "--until", "2025-01-31T00:00:00Z", "--out", out
    )
    assert code == 0, err
    assert "trade-events: 85 records read, 40 in range -> trades.parquet" in printed
    assert "(5 duplicates dropped)" in printed
    assert not out.with_name("bundle.partial").exists()

    expected = {
        "trades": in_range(trades),
        "bot_metrics": in_range(metrics),
        "ea_metrics": in_range(snapshots),
        "models": in_range(models),
    }
    assert [len(v) for v in expected.values()] == [40, 80, 8, 2]
    for table, records in expected.items():
        assert_rows_hold(rows_by_event_id(out / f"{table}.parquet"), records)
    trade_rows = pq.read_table(out / "trades.parquet").to_pylist()
    assert {row["action"] for row in trade_rows} == {"CLOSE"}
    assert all(row["kafka_offset"] >= 0 and row["kafka_timestamp_ms"] > 0 for row in trade_rows)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["botcopier_version"] == __version__
    assert (manifest["since_ms"], manifest["until_ms"]) == (SINCE_MS, UNTIL_MS)
    assert manifest["since"] == "2025-01-11T00:00:00.000Z"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *(f"{t}.parquet" for t in expected)]
    )
    produced = {"trades": 85, "bot_metrics": 150, "ea_metrics": 15, "models": 4}
    for table, entry in manifest["tables"].items():
        path = out / entry["file"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["rows"] == len(expected[table]) == pq.read_metadata(path).num_rows
        assert entry["bytes"] == path.stat().st_size
        assert sum(entry["end_offsets"].values()) == produced[table]
    assert manifest["tables"]["trades"]["topic"] == fresh_settings.topic("trade-events")
    assert len(manifest["tables"]["trades"]["end_offsets"]) == 6  # every partition
    assert manifest["tables"]["trades"]["duplicates_dropped"] == 5
    assert verify_bundle(out) == manifest

    with (out / "models.parquet").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ExportError, match="does not match the manifest"):
        verify_bundle(out)


def test_an_empty_range_still_writes_every_table_with_its_columns(fresh_settings, cli, tmp_path):
    produce_trades(fresh_settings, [close_event(1, 2, 0, SINCE_MS - DAY_MS, 1.0)])
    out = tmp_path / "empty"
    code, _, err = cli("--since", SINCE_MS, "--until", UNTIL_MS, "--out", out)
    assert code == 0, err
    trades = pq.read_table(out / "trades.parquet")
    assert trades.num_rows == 0 and "profit" in trades.column_names
    manifest = verify_bundle(out)
    assert {t["rows"] for t in manifest["tables"].values()} == {0}
    assert manifest["tables"]["trades"]["records_read"] == 1


def test_bad_ranges_and_a_taken_folder_are_refused_before_anything_is_written(cli, tmp_path):
    code, _, err = cli("--since", "2025-02-01", "--until", "2025-01-01")
    assert code == 2 and "--since (2025-02-01T00:00:00.000Z) must be before --until" in err
    code, _, err = cli("--since", "2025-01-01", "--until", "2025-01-01")
    assert code == 2 and "must be before" in err
    code, _, err = cli("--since", "last tuesday")
    assert code == 2 and "cannot read the time 'last tuesday'" in err
    code, _, err = cli("--since", "2999-01-01", "--until", "3000-01-01")
    assert code == 2 and "is in the future" in err
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    code, _, err = cli("--since", "2025-01-01", "--until", "2025-02-01", "--out", taken)
    assert code == 2 and "already exists and is not an empty folder" in err
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "state" / "exports").exists()
