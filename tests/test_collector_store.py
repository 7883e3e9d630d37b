"""The collector's SQLite history: ordering, replays stored once, the row cap, persistence."""

from __future__ import annotations

import sqlite3

import pytest

from botcopier.samples import sample_records
from botcopier.streams.metrics_store import MetricsStore, MetricsStoreError


def bot_row(event_id: str, event_time_ms: int, account: int = 1, magic: int = 7, **fields):
    return {
        **sample_records()["BotMetrics"],
        "event_id": event_id,
        "event_time_ms": event_time_ms,
        "account": account,
        "magic": magic,
        **fields,
    }


def ea_row(event_id: str, event_time_ms: int, **fields):
    # As decoded: Avro fills in the fields the sample leaves to their defaults.
    return {
        "file_write_errors": 0,
        "socket_errors": 0,
        **sample_records()["MetricSnapshot"],
        "event_id": event_id,
        "event_time_ms": event_time_ms,
        **fields,
    }


def ids(rows) -> list[str]:
    return [row["event_id"] for row in rows]


def test_newest_orders_by_event_time_then_arrival_and_respects_the_limit():
    store = MetricsStore(":memory:")
    store.add_many("bot_metrics", [bot_row("a", 300), bot_row("b", 100), bot_row("c", 200)])
    store.add_many("bot_metrics", [bot_row("d", 300)])  # same time as "a", stored later
    assert ids(store.newest("bot_metrics", 10)) == ["d", "a", "c", "b"]
    assert ids(store.newest("bot_metrics", 2)) == ["d", "a"]
    assert store.newest("ea_metrics", 10) == []


def test_rows_come_back_with_every_field_of_the_record():
    store = MetricsStore(":memory:")
    record = ea_row("m-9", 5, file_write_errors=2, socket_errors=3, ea_id="sim-1", seq=12)
    store.add_many("ea_metrics", [record])
    (row,) = store.newest("ea_metrics", 1)
    assert row == {key: record.get(key) for key in row}
    assert {"file_write_errors", "socket_errors", "ea_id", "seq", "sharpe"} <= set(row)
    assert "trace_id" not in row


def test_a_replayed_record_is_stored_once_per_account():
    store = MetricsStore(":memory:")
    assert store.add_many("bot_metrics", [bot_row("x", 1), bot_row("y", 2)]) == 2
    assert store.add_many("bot_metrics", [bot_row("x", 1), bot_row("z", 3)]) == 1
    # Event ids are unique per account only: another account's "x" is another record.
    assert store.add_many("bot_metrics", [bot_row("x", 4, account=2)]) == 1
    assert store.count("bot_metrics") == 4
    assert sorted(ids(store.newest("bot_metrics", 10))) == ["x", "x", "y", "z"]


def test_the_row_cap_drops_the_oldest_by_event_time_in_each_table():
    store = MetricsStore(":memory:", max_rows=3)
    store.add_many("bot_metrics", [bot_row(f"b{t}", t) for t in (5, 1, 4)])
    store.add_many("bot_metrics", [bot_row("b3", 3), bot_row("b6", 6)])
    store.add_many("ea_metrics", [ea_row("e1", 1)])
    assert ids(store.newest("bot_metrics", 10)) == ["b6", "b5", "b4"]
    assert store.count("bot_metrics") == 3
    assert store.count("ea_metrics") == 1  # each table has its own cap


def test_history_and_the_cap_survive_reopening_the_file(tmp_path):
    path = tmp_path / "nested" / "collector.sqlite"
    store = MetricsStore(path, max_rows=3)
    store.add_many("bot_metrics", [bot_row(f"b{t}", t) for t in range(3)])
    store.close()
    reopened = MetricsStore(path, max_rows=3)
    assert reopened.count("bot_metrics") == 3
    reopened.add_many("bot_metrics", [bot_row("b0", 0), bot_row("b9", 9)])  # b0: a replay
    assert ids(reopened.newest("bot_metrics", 10)) == ["b9", "b2", "b1"]
    reopened.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_latest_per_bot_is_each_bots_newest_row():
    store = MetricsStore(":memory:")
    store.add_many(
        "bot_metrics",
        [
            bot_row("a1", 10, magic=7, win_rate=0.1),
            bot_row("a2", 30, magic=7, win_rate=0.3),
            bot_row("a3", 20, magic=7, win_rate=0.2),
            bot_row("b1", 5, magic=8, win_rate=0.9),
        ],
    )
    latest = {
        (r["account"], r["magic"]): r["win_rate"] for r in store.latest_per_bot("bot_metrics")
    }
    assert latest == {(1, 7): 0.3, (1, 8): 0.9}


def test_nan_figures_are_stored_as_null():
    store = MetricsStore(":memory:")
    store.add_many("bot_metrics", [bot_row("n", 1, sharpe=float("nan"), profit_factor=None)])
    (row,) = store.newest("bot_metrics", 1)
    assert row["sharpe"] is None
    assert row["profit_factor"] is None


def test_an_unusable_path_or_table_is_a_clear_error(tmp_path):
    with pytest.raises(MetricsStoreError, match="cannot open the metrics database"):
        MetricsStore(tmp_path)  # a directory, not a database file
    store = MetricsStore(":memory:")
    with pytest.raises(MetricsStoreError, match="cannot write"):
        store.add_many("ea_metrics", [{**ea_row("e", 1), "file_write_errors": None}])
    assert store.count("ea_metrics") == 0
    with pytest.raises(ValueError, match="no table 'trades'"):
        store.newest("trades", 1)
    with pytest.raises(ValueError, match="max_rows"):
        MetricsStore(":memory:", max_rows=0)
