"""What the dashboard shows: a bounded, in-memory view of the topics it follows.

Each decoded record becomes one small, JSON-ready *item* (the page never sees a model's
``model_json`` payload or a record's trace ids), kept in a fixed-size window per feed:

``trade``
    recent trade events (``trade-events``), repeats of an event id dropped;
``bot``
    each bot's latest rolling metrics (``bot-metrics``); the snapshot adds a short history of
    win rate, drawdown and Sharpe per bot for the page's charts;
``drift``
    drift detector firings (``drift``);
``retrain``
    one entry per retrain request (``retrain-requests``), completed by the retrain service's
    answer (``retrain-decisions``): ``PENDING`` until it arrives, then its outcome. This is
    the training progress the page shows: the retrain service says nothing between the two;
``model``
    model versions published on ``models``.

Examples
--------
>>> view = DashboardView(trades=2)
>>> trade = {"event_id": "e1", "event_time_ms": 1000, "account": 7, "magic": 3, "ticket": 9,
...          "symbol": "EURUSD", "action": "OPEN", "order_type": "BUY", "lots": 0.1,
...          "open_price": 1.1, "close_price": None, "profit": 0.0, "ea_id": "sim-1"}
>>> [item["feed"] for item in view.take("trade-events", trade)]
['trade']
>>> view.take("trade-events", trade)  # the same event again: already shown
[]
>>> request = {"event_id": "r1", "event_time_ms": 2000, "model_name": "clone-7-3",
...            "account": 7, "magic": 3, "reason": "WIN_RATE", "detail": "0.31 < 0.40"}
>>> view.take("retrain-requests", request)[0]["status"]
'PENDING'
>>> decision = {"event_id": "d1", "event_time_ms": 5000, "model_name": "clone-7-3",
...             "request_event_id": "r1", "outcome": "PUBLISHED", "reason": "beats live",
...             "metric": "entry_macro_f1", "candidate_version": "v2",
...             "candidate_score": 0.91, "live_version": "v1", "live_score": 0.8}
>>> answered = view.take("retrain-decisions", decision)[0]
>>> answered["status"], answered["reason"], answered["answered_ms"]
('PUBLISHED', 'WIN_RATE', 5000)
>>> snapshot = view.snapshot()
>>> len(snapshot["trade"]), len(snapshot["retrain"])
(1, 1)
>>> for sharpe in (0.5, float("inf")):
...     _ = view.take("bot-metrics", {"account": 7, "magic": 3, "event_time_ms": 1,
...                                   "win_rate": 0.6, "max_drawdown": 2.0, "sharpe": sharpe})
>>> view.snapshot()["bot"][0]["history"]["sharpe"]
[0.5, None]
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from typing import Any

from botcopier.streams.dedup import EventDeduplicator

# Topic (catalogue name) → the feed its records go to.
FEEDS: dict[str, str] = {
    "trade-events": "trade",
    "bot-metrics": "bot",
    "drift": "drift",
    "retrain-requests": "retrain",
    "retrain-decisions": "retrain",
    "models": "model",
}

Item = dict[str, Any]
# Chart series kept per bot: name in the page's history → BotMetrics field.
SERIES = {"t": "event_time_ms", "win": "win_rate", "dd": "max_drawdown", "sharpe": "sharpe"}


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has no such numbers.

    >>> json_safe({"sharpe": float("inf"), "scores": [1.0, float("nan")]})
    {'sharpe': None, 'scores': [1.0, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(inner) for inner in value]
    return value


def bot_key(record: dict[str, Any]) -> str:
    return f"{record.get('account')}:{record.get('magic')}"


def _pick(record: dict[str, Any], *names: str) -> Item:
    return {name: record.get(name) for name in names}


def trade_item(record: dict[str, Any]) -> Item:
    closing = record.get("action") == "CLOSE"
    return {
        "feed": "trade",
        "bot": bot_key(record),
        **_pick(record, "event_id", "event_time_ms", "ticket", "symbol", "action"),
        **_pick(record, "order_type", "lots", "ea_id"),
        "price": record.get("close_price") if closing else record.get("open_price"),
        "profit": record.get("profit") if closing else None,
    }


def bot_item(record: dict[str, Any]) -> Item:
    return {
        "feed": "bot",
        "bot": bot_key(record),
        **_pick(record, "event_time_ms", "trade_count", "win_rate", "max_drawdown", "sharpe"),
        **_pick(record, "total_profit", "profit_factor"),
    }


def drift_item(record: dict[str, Any]) -> Item:
    return {
        "feed": "drift",
        "bot": bot_key(record),
        **_pick(record, "event_id", "event_time_ms", "detector", "feature", "statistic"),
        **_pick(record, "threshold", "model_name", "model_version"),
    }


def model_item(record: dict[str, Any]) -> Item:
    return {
        "feed": "model",
        **_pick(record, "event_id", "event_time_ms", "model_name", "model_version", "metrics"),
        **_pick(record, "trained_from_ms", "trained_until_ms"),
        "sha256": (record.get("sha256") or "")[:12],
        "size_bytes": len((record.get("model_json") or "").encode()),
    }


class DashboardView:
    """The newest records of each feed, in bounded memory; see the module docstring.

    Parameters
    ----------
    trades, events
        How many trades, and how many drift events, retrain entries and model versions, are
        kept.
    points
        Metric points kept per bot for its charts.
    bots
        Bots kept; the one updated longest ago goes first.
    """

    def __init__(self, trades: int = 200, events: int = 100, points: int = 240, bots: int = 500):
        self.trades: deque[Item] = deque(maxlen=trades)
        self.drifts: deque[Item] = deque(maxlen=events)
        self.models: deque[Item] = deque(maxlen=events)
        self.retrains: OrderedDict[str, Item] = OrderedDict()
        self.bots: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._events, self._points, self._max_bots = events, points, bots
        self._seen_trades = EventDeduplicator(capacity=max(10 * trades, 1000))

    def take(self, topic: str, record: dict[str, Any]) -> list[Item]:
        """Add one decoded record of catalogue topic ``topic``; returns the changed items."""
        feed = FEEDS.get(topic)
        if feed == "trade":
            if not self._seen_trades.is_new(record["event_id"]):
                return []
            item = trade_item(record)
            self.trades.append(item)
        elif feed == "bot":
            item = self._bot(record)
        elif feed == "drift":
            item = drift_item(record)
            self.drifts.append(item)
        elif feed == "model":
            item = model_item(record)
            self.models.append(item)
        elif topic == "retrain-requests":
            item = self._retrain(record["event_id"])
            item.update(
                **_pick(record, "model_name", "reason", "detail", "last_event_id"),
                bot=bot_key(record) if record.get("account") is not None else None,
                requested_ms=record.get("event_time_ms"),
            )
        elif topic == "retrain-decisions":
            item = self._retrain(record["request_event_id"])
            item.update(
                **_pick(record, "model_name", "metric", "candidate_version", "candidate_score"),
                **_pick(record, "live_version", "live_score"),
                status=record.get("outcome"),
                answer=record.get("reason"),
                answered_ms=record.get("event_time_ms"),
            )
        else:
            return []
        return [json_safe(item)]

    def _bot(self, record: dict[str, Any]) -> Item:
        # Clients get the newest point only and keep their own history, so a busy bot does
        # not resend its whole chart with every close.
        key = bot_key(record)
        item = bot_item(record)
        kept = self.bots.pop(key, None) or {name: deque(maxlen=self._points) for name in SERIES}
        for name, field in SERIES.items():
            kept[name].append(record.get(field))
        kept["latest"] = item
        self.bots[key] = kept
        while len(self.bots) > self._max_bots:
            self.bots.popitem(last=False)
        return item

    def _retrain(self, request_id: str) -> Item:
        # A decision may be seen without its request (older than the history read at start).
        item = self.retrains.get(request_id)
        if item is None:
            item = {"feed": "retrain", "request_event_id": request_id, "status": "PENDING"}
            self.retrains[request_id] = item
            while len(self.retrains) > self._events:
                self.retrains.popitem(last=False)
        return item

    def snapshot(self) -> dict[str, list[Item]]:
        """Everything kept, oldest first in each feed: what a page shows when it connects."""
        return json_safe(
            {
                "points": self._points,
                "trade": list(self.trades),
                "bot": [
                    {**kept["latest"], "history": {name: list(kept[name]) for name in SERIES}}
                    for kept in self.bots.values()
                ],
                "drift": list(self.drifts),
                "retrain": list(self.retrains.values()),
                "model": list(self.models),
            }
        )
