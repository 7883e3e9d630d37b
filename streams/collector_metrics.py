"""The collector's Prometheus series, in a registry of its own.

Gauges per bot, labelled ``account``, ``magic`` and ``source`` (``agents`` for bot-metrics,
``ea`` for the EA's own ea-metrics snapshots)::

    botcopier_bot_win_rate  botcopier_bot_max_drawdown  botcopier_bot_sharpe
    botcopier_bot_trade_count  botcopier_bot_avg_profit  botcopier_bot_event_time_seconds
    botcopier_bot_total_profit  botcopier_bot_profit_factor          (agents only)
    botcopier_ea_file_write_errors  botcopier_ea_socket_errors      (EA only, no source)

Counters (prometheus_client appends ``_total``)::

    botcopier_collector_events_total{topic}      records decoded, replays included
    botcopier_collector_duplicates_total{topic}  replays dropped by event id
    botcopier_collector_errors_total{reason}     undecodable records, consumer errors
    botcopier_retrain_requests_total{reason}
    botcopier_drift_events_total{detector}

Examples
--------
>>> metrics = CollectorMetrics()
>>> row = {"account": 1, "magic": 7, "event_time_ms": 2000, "win_rate": 0.6,
...        "trade_count": 10, "max_drawdown": 5.0, "sharpe": 0.4, "avg_profit": 1.5}
>>> metrics.set_bot("ea", row)
True
>>> metrics.set_bot("ea", {**row, "event_time_ms": 1000, "win_rate": 0.1})  # older: ignored
False
>>> metrics.registry.get_sample_value(
...     "botcopier_bot_win_rate", {"account": "1", "magic": "7", "source": "ea"})
0.6
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge

Source = Literal["agents", "ea"]
BOT_LABELS = ("account", "magic", "source")

# Record field → (series name, help), for the figures both sources report.
_SHARED_GAUGES = {
    "win_rate": ("botcopier_bot_win_rate", "Winning closed trades / closed trades, 0..1"),
    "max_drawdown": (
        "botcopier_bot_max_drawdown",
        "Largest peak-to-trough fall of cumulative profit, account currency",
    ),
    "sharpe": ("botcopier_bot_sharpe", "Mean / standard deviation of per-trade profit"),
    "trade_count": ("botcopier_bot_trade_count", "Closed trades in the rolling window"),
    "avg_profit": ("botcopier_bot_avg_profit", "Mean profit per closed trade"),
}
_AGENT_GAUGES = {
    "total_profit": ("botcopier_bot_total_profit", "Net profit in the rolling window"),
    "profit_factor": (
        "botcopier_bot_profit_factor",
        "Gross profit / gross loss (absent while there is no loss)",
    ),
}
_EA_GAUGES = {
    "file_write_errors": ("botcopier_ea_file_write_errors", "File writes the EA saw fail"),
    "socket_errors": ("botcopier_ea_socket_errors", "Socket errors the EA saw on its link"),
}


class CollectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._bot = {
            field: Gauge(name, text, BOT_LABELS, registry=r)
            for field, (name, text) in {**_SHARED_GAUGES, **_AGENT_GAUGES}.items()
        }
        self._ea = {
            field: Gauge(name, text, ("account", "magic"), registry=r)
            for field, (name, text) in _EA_GAUGES.items()
        }
        self.event_time = Gauge(
            "botcopier_bot_event_time_seconds",
            "Event time of the bot's latest metrics, seconds since the epoch (staleness)",
            BOT_LABELS,
            registry=r,
        )
        self.events = Counter(
            "botcopier_collector_events", "Records decoded, by topic", ["topic"], registry=r
        )
        self.duplicates = Counter(
            "botcopier_collector_duplicates",
            "Replayed records dropped by event id, by topic",
            ["topic"],
            registry=r,
        )
        self.errors = Counter(
            "botcopier_collector_errors",
            "Records the collector could not use, by reason",
            ["reason"],
            registry=r,
        )
        self.retrains = Counter(
            "botcopier_retrain_requests", "Retrain requests seen, by reason", ["reason"], registry=r
        )
        self.drifts = Counter(
            "botcopier_drift_events",
            "Drift detector firings, by detector",
            ["detector"],
            registry=r,
        )
        self._latest_ms: dict[tuple[str, str, str], int] = {}

    def set_bot(self, source: Source, row: Mapping[str, Any]) -> bool:
        """Show ``row``'s figures for its bot unless newer ones are already shown.

        Returns False for a row older than the bot's current one: a replay must not move
        the gauges back in time.
        """
        account, magic = str(row["account"]), str(row["magic"])
        key = (account, magic, source)
        if row["event_time_ms"] < self._latest_ms.get(key, -math.inf):
            return False
        self._latest_ms[key] = row["event_time_ms"]
        fields = {**_SHARED_GAUGES, **(_AGENT_GAUGES if source == "agents" else {})}
        for field in fields:
            _set_or_clear(self._bot[field], row.get(field), account, magic, source)
        self.event_time.labels(account, magic, source).set(row["event_time_ms"] / 1000)
        if source == "ea":
            for field, gauge in self._ea.items():
                _set_or_clear(gauge, row.get(field), account, magic)
        return True


def _set_or_clear(gauge: Gauge, value: float | None, *labels: str) -> None:
    # A missing figure (no loss yet for a profit factor) is an absent series, not a 0.
    if value is None:
        with contextlib.suppress(KeyError):
            gauge.remove(*labels)
        return
    gauge.labels(*labels).set(value)
