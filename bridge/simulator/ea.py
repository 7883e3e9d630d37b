"""The simulated Observer EA: bots trade bars, the EA reports it over the bridge protocol.

One `SimulatedEa` is one MT4 terminal: an account with several bots (distinct magics), each
bar sent as a ``bar`` frame, each trade action as a ``trade`` frame, and every
``metrics_every`` bars a ``metric`` frame per bot. Transport, spooling and replay are the
real EA client's (`botcopier.bridge.client.EaClient`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botcopier.bridge.client import EaClient
from botcopier.bridge.simulator.bots import SimulatedBot
from botcopier.bridge.simulator.market import Bar
from botcopier.streams.rolling import summarize

_DAY_MS = 86_400_000


@dataclass
class ClosedTrade:
    time_ms: int
    profit: float


@dataclass
class BotBook:
    """Closed-trade history of one bot, for the EA-side metric snapshots."""

    bot: SimulatedBot
    closed: list[ClosedTrade] = field(default_factory=list)

    def record(self, action: dict[str, Any]) -> None:
        if action["action"] == "CLOSE":
            net = action["profit"] + action["swap"] + action["commission"]
            self.closed.append(ClosedTrade(action["close_time_ms"], net))

    def snapshot(self, now_ms: int, window_days: int) -> dict[str, Any]:
        """What the Observer EA reports: metrics over the last ``window_days`` of closes."""
        recent = [t.profit for t in self.closed if t.time_ms > now_ms - window_days * _DAY_MS]
        return {
            "event_time_ms": now_ms,
            "magic": self.bot.magic,
            "window_days": window_days,
            **trade_metrics(recent),
        }


# The fields of a MetricSnapshot: the EA reports a subset of what the agents compute.
_SNAPSHOT_FIELDS = ("win_rate", "avg_profit", "trade_count", "max_drawdown", "sharpe")


def trade_metrics(profits: list[float]) -> dict[str, Any]:
    """Win rate, average profit, count, max drawdown and Sharpe of per-trade profits, by the
    same definitions as the agents' rolling metrics.

    >>> m = trade_metrics([10.0, -5.0, 20.0, -30.0])
    >>> m["win_rate"], m["trade_count"], m["max_drawdown"]
    (0.5, 4, 30.0)
    """
    summary = summarize(profits)
    return {name: summary[name] for name in _SNAPSHOT_FIELDS}


@dataclass
class EaReport:
    ea_id: str
    bars: int = 0
    trades: int = 0
    metrics: int = 0
    submitted: int = 0


class SimulatedEa:
    def __init__(
        self,
        client: EaClient,
        bots: list[SimulatedBot],
        broker: str = "BotCopier Sim",
        metrics_every: int = 50,
        window_days: int = 30,
    ) -> None:
        self.client = client
        self.books = [BotBook(bot) for bot in bots]
        self.broker = broker
        self.metrics_every = metrics_every
        self.window_days = window_days
        self.report = EaReport(client.ea_id)

    async def run(self, bars: Iterable[Bar], pace_s: float = 0.0) -> EaReport:
        import asyncio

        for bar in bars:
            await self.on_bar(bar)
            if pace_s:
                await asyncio.sleep(pace_s)
        return self.report

    async def on_bar(self, bar: Bar) -> None:
        client, report = self.client, self.report
        bar_record = bar.to_record(event_id=f"{client.account}-{client.ea_id}-bar-{bar.time_ms}")
        await self._submit("bar", {**bar_record, "broker": self.broker})
        for book in self.books:
            for action in book.bot.on_bar(bar):
                book.record(action)
                record = {
                    **action,
                    "event_time_ms": action["close_time_ms"] or bar.end_ms,
                    "account": client.account,
                    "broker": self.broker,
                }
                await self._submit("trade", record)
                report.trades += 1
        report.bars += 1
        if report.bars % self.metrics_every == 0:
            for book in self.books:
                snapshot = book.snapshot(bar.end_ms, self.window_days)
                await self._submit("metric", {**snapshot, "account": client.account})
                report.metrics += 1

    async def _submit(self, frame_type: str, record: dict[str, Any]) -> None:
        await self.client.submit(frame_type, record)
        self.report.submitted += 1
