"""The collector's history: bot metrics and EA snapshots in SQLite, newest rows on demand.

Two tables, ``bot_metrics`` (BotMetrics from the agents) and ``ea_metrics`` (MetricSnapshot
from the EAs). A record is stored once per ``(account, event_id)`` (event ids are unique per
account), so a replayed record changes nothing. Each table keeps at most ``max_rows`` rows;
past that the oldest by event time go first.

Examples
--------
>>> store = MetricsStore(":memory:", max_rows=2)
>>> bot = {"account": 1, "magic": 7, "window_days": 30, "trade_count": 3, "win_rate": 0.5,
...        "avg_profit": 1.0, "total_profit": 3.0, "max_drawdown": 2.0, "sharpe": 0.1}
>>> store.add_many("bot_metrics", [{**bot, "event_id": f"bm-{n}", "event_time_ms": n}
...                                for n in range(3)])
3
>>> store.add_many("bot_metrics", [{**bot, "event_id": "bm-2", "event_time_ms": 2}])
0
>>> [row["event_id"] for row in store.newest("bot_metrics", limit=10)]
['bm-2', 'bm-1']
>>> store.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from botcopier.exceptions import BotCopierError


class MetricsStoreError(BotCopierError):
    """The collector's SQLite database cannot be opened, read or written."""


# Column name → SQLite type, in the order rows are returned. Both mirror the Avro records
# (schemas/BotMetrics.avsc, schemas/MetricSnapshot.avsc) minus the tracing fields. The
# figures are nullable because SQLite stores a NaN (a Sharpe of no trades) as NULL.
_COMMON = {
    "event_id": "TEXT NOT NULL",
    "event_time_ms": "INTEGER NOT NULL",
    "account": "INTEGER NOT NULL",
    "magic": "INTEGER NOT NULL",
    "window_days": "INTEGER NOT NULL",
    "trade_count": "INTEGER NOT NULL",
    "win_rate": "REAL",
    "avg_profit": "REAL",
    "max_drawdown": "REAL",
    "sharpe": "REAL",
}
TABLES: dict[str, dict[str, str]] = {
    "bot_metrics": {
        **_COMMON,
        "total_profit": "REAL",
        "profit_factor": "REAL",
        "last_event_id": "TEXT",
    },
    "ea_metrics": {
        **_COMMON,
        "file_write_errors": "INTEGER NOT NULL DEFAULT 0",
        "socket_errors": "INTEGER NOT NULL DEFAULT 0",
        "ea_id": "TEXT",
        "seq": "INTEGER",
    },
}


def _schema_sql(table: str, columns: Mapping[str, str]) -> str:
    body = ",\n".join(f"    {name} {kind}" for name, kind in columns.items())
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n"
        "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        f"{body},\n"
        "    UNIQUE (account, event_id)\n"
        ");\n"
        # Newest-first reads and oldest-first trimming both walk this index.
        f"CREATE INDEX IF NOT EXISTS {table}_time ON {table} (event_time_ms, id);\n"
        f"CREATE INDEX IF NOT EXISTS {table}_bot ON {table} (account, magic, event_time_ms);\n"
    )


class MetricsStore:
    """SQLite history of metric records; safe to share between the consumer and HTTP threads.

    Parameters
    ----------
    path
        Database file (created with its folder), or ``":memory:"`` for tests.
    max_rows
        Rows kept per table; inserts past it delete the oldest rows by event time.
    """

    def __init__(self, path: Path | str, max_rows: int = 1_000_000) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be >= 1")
        self.path = str(path)
        self.max_rows = max_rows
        # One connection behind a lock: writes are batched and reads are small, so the
        # consumer thread and the HTTP handlers never wait long for each other.
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            # WAL: readers (sqlite3 on the command line, a backup) never block the collector.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for table, columns in TABLES.items():
                self._db.executescript(_schema_sql(table, columns))
            self._rows = {
                table: self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed table names
                for table in TABLES
            }
        except (sqlite3.Error, OSError) as exc:
            raise MetricsStoreError(f"cannot open the metrics database {self.path}: {exc}") from exc

    def add_many(self, table: str, records: Iterable[Mapping[str, Any]]) -> int:
        """Store ``records`` in one transaction; returns how many were new (not replays)."""
        columns = self._columns(table)
        rows = [tuple(record.get(name) for name in columns) for record in records]
        if not rows:
            return 0
        placeholders = ", ".join("?" for _ in columns)
        # Only the replay conflict is ignored: a record missing a required field must fail
        # loudly, which INSERT OR IGNORE would hide.
        insert = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
            f"VALUES ({placeholders}) ON CONFLICT (account, event_id) DO NOTHING"
        )
        with self._lock:
            try:
                self._db.execute("BEGIN")
                before = self._db.total_changes
                self._db.executemany(insert, rows)
                added = self._db.total_changes - before
                excess = max(0, self._rows[table] + added - self.max_rows)
                if excess:
                    self._db.execute(
                        f"DELETE FROM {table} WHERE id IN "  # noqa: S608 - fixed table name
                        f"(SELECT id FROM {table} ORDER BY event_time_ms, id LIMIT ?)",
                        (excess,),
                    )
                self._db.execute("COMMIT")
                self._rows[table] += added - excess
            except sqlite3.Error as exc:
                self._rollback()
                raise MetricsStoreError(f"cannot write to {self.path}: {exc}") from exc
        return added

    def newest(self, table: str, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` newest rows by event time (ties: last stored first), newest first."""
        columns = self._columns(table)
        query = (
            f"SELECT {', '.join(columns)} FROM {table} "  # noqa: S608 - fixed names
            "ORDER BY event_time_ms DESC, id DESC LIMIT ?"
        )
        return self._read(query, (limit,))

    def history(
        self, table: str, account: int | None = None, magic: int | None = None
    ) -> list[dict[str, Any]]:
        """Every row (of one bot, given ``account`` and ``magic``), oldest first, for plots."""
        columns = ", ".join(self._columns(table))
        where, parameters = "", ()
        if account is not None and magic is not None:
            where, parameters = "WHERE account = ? AND magic = ? ", (account, magic)
        query = (
            f"SELECT {columns} FROM {table} {where}"  # noqa: S608 - fixed names
            "ORDER BY account, magic, event_time_ms, id"
        )
        return self._read(query, parameters)

    def latest_per_bot(self, table: str) -> list[dict[str, Any]]:
        """The newest row of every (account, magic), for reloading gauges after a restart."""
        columns = ", ".join(self._columns(table))
        query = (
            f"SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER ("  # noqa: S608
            "PARTITION BY account, magic ORDER BY event_time_ms DESC, id DESC) AS rank "
            f"FROM {table}) WHERE rank = 1 ORDER BY account, magic"
        )
        return self._read(query, ())

    def count(self, table: str) -> int:
        self._columns(table)
        return self._rows[table]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _columns(self, table: str) -> list[str]:
        try:
            return list(TABLES[table])
        except KeyError:
            raise ValueError(f"no table {table!r}; tables: {', '.join(TABLES)}") from None

    def _read(self, query: str, parameters: tuple) -> list[dict[str, Any]]:
        with self._lock:
            try:
                return [dict(row) for row in self._db.execute(query, parameters)]
            except sqlite3.Error as exc:
                raise MetricsStoreError(f"cannot read {self.path}: {exc}") from exc

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction open: nothing to undo
