"""Rule-based bots that trade a paper account and report what they do as MT4 trade events.

Each bot sees one closed bar at a time (`SimulatedBot.on_bar`) and answers with TradeEvent
field dicts, minus the envelope the EA adds (event id, times, account, link and trace fields).
Everything a bot does on a bar happens at the bar's close, ``bar.end_ms``: market orders fill
at the bar's close (buys at the ask, ``close + spread``), stops fill at their own price.

Examples
--------
>>> from botcopier.bridge.simulator.market import random_walk_bars
>>> bot = MovingAverageCrossBot("EURUSD")
>>> bars = random_walk_bars("EURUSD", start_ms=0, count=300)
>>> actions = [action for bar in bars for action in bot.on_bar(bar)]
>>> actions[0]["action"], actions[0]["magic"], actions[0]["comment"]
('OPEN', 1001, 'ma-cross')
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

from botcopier.bridge.simulator.ledger import Order, PaperAccount, Side
from botcopier.bridge.simulator.market import Bar


class SimulatedBot(ABC):
    """A rule-based bot trading one symbol under one magic number on a paper account.

    Holds at most one position at a time (a partial close's remainder replaces it).
    """

    def __init__(
        self,
        name: str,
        magic: int,
        symbol: str,
        *,
        lots: float,
        account: PaperAccount | None = None,
        digits: int = 5,
    ) -> None:
        self.name = name
        self.magic = magic
        self.symbol = symbol
        self.lots = lots
        self.account = account if account is not None else PaperAccount()
        self.digits = digits
        self.point = 10.0**-digits
        # MT4 convention: on 3- and 5-digit quotes a pip is ten points.
        self.pip = self.point * (10 if digits in (3, 5) else 1)

    @abstractmethod
    def on_bar(self, bar: Bar) -> list[dict[str, Any]]:
        """React to one closed bar; returns the trade actions it caused, in order."""

    @property
    def position(self) -> Order | None:
        orders = self.account.orders(self.magic, self.symbol)
        return orders[0] if orders else None

    def _ask(self, bar: Bar, bid: float) -> float:
        return round(bid + bar.spread_points * self.point, self.digits)

    def _exit_price(self, order: Order, bar: Bar) -> float:
        """What closing ``order`` at the bar's close fetches: bid for a buy, ask for a sell."""
        return bar.close if order.order_type == "BUY" else self._ask(bar, bar.close)

    def _gain_pips(self, order: Order, bar: Bar) -> float:
        return (self._exit_price(order, bar) - order.open_price) * order.direction / self.pip

    def _open(self, bar: Bar, side: Side, sl_pips: float, tp_pips: float) -> list[dict[str, Any]]:
        price = self._ask(bar, bar.close) if side == "BUY" else bar.close
        sign = 1 if side == "BUY" else -1
        sl = round(price - sign * sl_pips * self.pip, self.digits) if sl_pips else 0.0
        tp = round(price + sign * tp_pips * self.pip, self.digits) if tp_pips else 0.0
        event = self.account.open(
            magic=self.magic,
            symbol=self.symbol,
            order_type=side,
            lots=self.lots,
            price=price,
            time_ms=bar.end_ms,
            sl=sl,
            tp=tp,
            comment=self.name,
            spread_points=bar.spread_points,
        )
        return [event]

    def _close(
        self, order: Order, bar: Bar, *, price: float | None = None, lots: float | None = None
    ) -> list[dict[str, Any]]:
        return self.account.close(
            order.ticket,
            price=self._exit_price(order, bar) if price is None else price,
            time_ms=bar.end_ms,
            lots=lots,
            spread_points=bar.spread_points,
        )

    def _modify(self, order: Order, bar: Bar, sl: float) -> list[dict[str, Any]]:
        sl = round(sl, self.digits)
        return [
            self.account.modify(order.ticket, sl=sl, tp=order.tp, spread_points=bar.spread_points)
        ]

    def _stop_hits(self, bar: Bar) -> list[dict[str, Any]]:
        """Close every open order of the bot whose stop loss or take profit the bar reached.

        When both lie inside the bar the stop loss is assumed first (the cautious reading);
        a bar that opens beyond a stop fills at its open, as a gap would in MT4.
        """
        actions: list[dict[str, Any]] = []
        for order in self.account.orders(self.magic, self.symbol):
            actions += self._stop_hit(order, bar)
        return actions

    def _stop_hit(self, order: Order, bar: Bar) -> list[dict[str, Any]]:
        shift = 0.0 if order.order_type == "BUY" else bar.spread_points * self.point
        # A buy closes at the bid, a sell at the ask: the bar's prices shifted by the spread.
        low, high, start = bar.low + shift, bar.high + shift, bar.open + shift
        if order.order_type == "BUY":
            if order.sl and low <= order.sl:
                return self._close(order, bar, price=min(order.sl, start))
            if order.tp and high >= order.tp:
                return self._close(order, bar, price=max(order.tp, start))
        else:
            if order.sl and high >= order.sl:
                return self._close(order, bar, price=round(max(order.sl, start), self.digits))
            if order.tp and low <= order.tp:
                return self._close(order, bar, price=round(min(order.tp, start), self.digits))
        return []


class MovingAverageCrossBot(SimulatedBot):
    """Rides SMA crosses: buys golden crosses, sells death crosses, reversing an opposite trade."""

    def __init__(
        self,
        symbol: str = "EURUSD",
        *,
        fast: int = 5,
        slow: int = 20,
        lots: float = 0.1,
        sl_pips: float = 60.0,
        magic: int = 1001,
        name: str = "ma-cross",
        account: PaperAccount | None = None,
        digits: int = 5,
    ) -> None:
        super().__init__(name, magic, symbol, lots=lots, account=account, digits=digits)
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
        self.fast, self.slow, self.sl_pips = fast, slow, sl_pips
        self._closes: deque[float] = deque(maxlen=slow + 1)

    def on_bar(self, bar: Bar) -> list[dict[str, Any]]:
        if bar.symbol != self.symbol:
            return []
        actions = self._stop_hits(bar)
        self._closes.append(bar.close)
        if len(self._closes) <= self.slow:
            return actions
        closes = list(self._closes)
        spread_now = _mean(closes[-self.fast :]) - _mean(closes[-self.slow :])
        spread_before = _mean(closes[-self.fast - 1 : -1]) - _mean(closes[-self.slow - 1 : -1])
        side: Side | None = None
        if spread_before <= 0 < spread_now:
            side = "BUY"
        elif spread_before >= 0 > spread_now:
            side = "SELL"
        if side is None:
            return actions
        order = self.position
        if order is not None and order.order_type != side:
            actions += self._close(order, bar)
            order = None
        if order is None:
            actions += self._open(bar, side, self.sl_pips, 0.0)
        return actions


class RsiReversionBot(SimulatedBot):
    """Fades Wilder-RSI extremes, exits at the midline; break-even stop and a half-off target."""

    def __init__(
        self,
        symbol: str = "EURUSD",
        *,
        period: int = 14,
        oversold: float = 30.0,
        overbought: float = 70.0,
        exit_level: float = 50.0,
        lots: float = 0.2,
        sl_pips: float = 20.0,
        breakeven_pips: float = 8.0,
        partial_pips: float = 10.0,
        magic: int = 1002,
        name: str = "rsi-reversion",
        account: PaperAccount | None = None,
        digits: int = 5,
    ) -> None:
        super().__init__(name, magic, symbol, lots=lots, account=account, digits=digits)
        self.oversold, self.overbought, self.exit_level = oversold, overbought, exit_level
        self.sl_pips, self.breakeven_pips, self.partial_pips = sl_pips, breakeven_pips, partial_pips
        self._rsi = WilderRsi(period)

    def on_bar(self, bar: Bar) -> list[dict[str, Any]]:
        if bar.symbol != self.symbol:
            return []
        actions = self._stop_hits(bar)
        rsi = self._rsi.update(bar.close)
        order = self.position
        if rsi is None:
            return actions
        if order is None:
            if rsi < self.oversold:
                actions += self._open(bar, "BUY", self.sl_pips, 0.0)
            elif rsi > self.overbought:
                actions += self._open(bar, "SELL", self.sl_pips, 0.0)
            return actions
        if (rsi - self.exit_level) * order.direction >= 0:
            return actions + self._close(order, bar)
        gain = self._gain_pips(order, bar)
        stop_behind_entry = not order.sl or (order.open_price - order.sl) * order.direction > 0
        if gain >= self.breakeven_pips and stop_behind_entry:
            actions += self._modify(order, bar, order.open_price)
        half = round(order.lots / 2, 2)
        # The remainder of a partial close carries parent_ticket, so each position halves once.
        if gain >= self.partial_pips and order.parent_ticket is None and half >= 0.01:
            actions += self._close(order, bar, lots=half)
        return actions


class BreakoutBot(SimulatedBot):
    """Trades closes beyond the last N bars' range, with a fixed target and a trailing stop."""

    def __init__(
        self,
        symbol: str = "EURUSD",
        *,
        channel: int = 20,
        lots: float = 0.1,
        sl_pips: float = 30.0,
        tp_pips: float = 60.0,
        trail_start_pips: float = 20.0,
        trail_pips: float = 20.0,
        trail_step_pips: float = 5.0,
        magic: int = 1003,
        name: str = "breakout",
        account: PaperAccount | None = None,
        digits: int = 5,
    ) -> None:
        super().__init__(name, magic, symbol, lots=lots, account=account, digits=digits)
        self.sl_pips, self.tp_pips = sl_pips, tp_pips
        self.trail_start_pips, self.trail_pips = trail_start_pips, trail_pips
        self.trail_step_pips = trail_step_pips
        self._highs: deque[float] = deque(maxlen=channel)
        self._lows: deque[float] = deque(maxlen=channel)

    def on_bar(self, bar: Bar) -> list[dict[str, Any]]:
        if bar.symbol != self.symbol:
            return []
        actions = self._stop_hits(bar)
        order = self.position
        if order is not None:
            actions += self._trail(order, bar)
        elif len(self._highs) == self._highs.maxlen:
            # The channel is the bars before this one, so a close beyond it is a breakout.
            if bar.close > max(self._highs):
                actions += self._open(bar, "BUY", self.sl_pips, self.tp_pips)
            elif bar.close < min(self._lows):
                actions += self._open(bar, "SELL", self.sl_pips, self.tp_pips)
        self._highs.append(bar.high)
        self._lows.append(bar.low)
        return actions

    def _trail(self, order: Order, bar: Bar) -> list[dict[str, Any]]:
        if self._gain_pips(order, bar) < self.trail_start_pips:
            return []
        wanted = self._exit_price(order, bar) - order.direction * self.trail_pips * self.pip
        # Step threshold: MT4 trailing stops move in steps, not on every tick of progress.
        improvement = (wanted - order.sl) * order.direction if order.sl else float("inf")
        if improvement < self.trail_step_pips * self.pip:
            return []
        return self._modify(order, bar, wanted)


class FadingEdgeBot(SimulatedBot):
    """A bot whose edge fades: scripted so the agents' retrain trigger has something to catch.

    Only a simulator can do this: the bot is handed the bars ahead. Every other bar it opens
    a trade on the side the next bar will move to with probability ``win_chance`` (against
    it otherwise) and closes it one bar later. After ``fade_after`` bars the chance drops to
    ``faded_chance``: its win rate collapses on cue, as a real bot's does when its market
    changes.
    """

    def __init__(
        self,
        symbol: str,
        bars_ahead: list[Bar],
        *,
        fade_after: int,
        win_chance: float = 0.85,
        faded_chance: float = 0.10,
        lots: float = 0.1,
        magic: int = 1004,
        name: str = "fading-edge",
        account: PaperAccount | None = None,
        digits: int = 5,
        seed: int = 0,
    ) -> None:
        super().__init__(name, magic, symbol, lots=lots, account=account, digits=digits)
        self._next_close = {
            bar.time_ms: following.close
            for bar, following in zip(bars_ahead, bars_ahead[1:], strict=False)
        }
        self.fade_after = fade_after
        self.win_chance, self.faded_chance = win_chance, faded_chance
        self._rng = random.Random(seed)
        self._seen = 0

    def on_bar(self, bar: Bar) -> list[dict[str, Any]]:
        if bar.symbol != self.symbol:
            return []
        self._seen += 1
        order = self.position
        if order is not None:
            return self._close(order, bar)
        upcoming = self._next_close.get(bar.time_ms)
        if upcoming is None or self._seen % 2:
            return []
        chance = self.win_chance if self._seen <= self.fade_after else self.faded_chance
        rises = upcoming > bar.close
        side: Side = "BUY" if rises == (self._rng.random() < chance) else "SELL"
        return self._open(bar, side, 0.0, 0.0)


class WilderRsi:
    """Streaming RSI with Wilder's smoothing; ``update`` gives None until ``period`` changes seen.

    >>> rsi = WilderRsi(3)
    >>> [rsi.update(c) for c in (1.0, 1.1, 1.2, 1.1, 1.2)][2:]
    [None, 66.66..., 77.77...]
    """

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, not {period}")
        self.period = period
        self._last: float | None = None
        self._changes: list[float] = []
        self._gain = self._loss = 0.0

    def update(self, close: float) -> float | None:
        last, self._last = self._last, close
        if last is None:
            return None
        change = close - last
        if len(self._changes) < self.period:
            # Wilder seeds the averages with a plain mean of the first `period` changes.
            self._changes.append(change)
            if len(self._changes) < self.period:
                return None
            self._gain = sum(max(c, 0.0) for c in self._changes) / self.period
            self._loss = sum(max(-c, 0.0) for c in self._changes) / self.period
        else:
            self._gain = (self._gain * (self.period - 1) + max(change, 0.0)) / self.period
            self._loss = (self._loss * (self.period - 1) + max(-change, 0.0)) / self.period
        if self._loss == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + self._gain / self._loss)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def default_bots(
    symbol: str = "EURUSD",
    *,
    account: PaperAccount | None = None,
    seed: int = 0,
    digits: int = 5,
) -> list[SimulatedBot]:
    """The three stock bots on ``symbol``, sharing one paper account (seeded from ``seed``).

    Pass the same ``account`` to several calls to run the bots on more symbols: tickets are
    account-wide, so they stay unique.
    """
    account = account if account is not None else PaperAccount(seed)
    return [
        MovingAverageCrossBot(symbol, account=account, digits=digits),
        RsiReversionBot(symbol, account=account, digits=digits),
        BreakoutBot(symbol, account=account, digits=digits),
    ]
