"""Backtest: the generated strategy EA traded bar by bar on history, with its own rules.

Every trading rule comes from `botcopier.codegen.strategy` (the reference the EA is pinned
to); this module only supplies the market: time, fills and stop hits.

Per bar ``j`` (the bars of the model's symbol and timeframe, oldest first):

1. **Open, stops first**: a position whose stop loss or take profit the open gapped over is
   closed at the open (the server fills it on the first tick, before the EA acts).
2. **Decision**: from row ``j-1`` of the features (bars closed so far), its ``position``
   feature set from the *simulated* position, the models' probabilities (averaged for an
   ensemble) give `decide_bar`'s action; `orders_for` turns it into orders, filled at the
   open: buys at the ask (``open + spread_points * point``), sells at the bid, closes at the
   opposite side; a close closes every order held, and an entry on the side held adds an
   order while fewer than the model's ``max_tickets`` are open (a pyramid; each order keeps
   its own stops). Lots are `lots_for` times `risk_weight`; stops are `stop_distances` on the
   deciding row, placed by `stop_prices` from the fill. With an ensemble, the first model's
   stop regressors and risk-parity weight are used (they are per model, not averaged).
3. **Inside the bar**: a stop is hit when the bar's low/high reach it, on the closing side
   (bid for a buy; for a sell the ask, the bar's prices plus its spread), and fills at the
   level. When both stop loss and take profit lie inside one bar, the stop loss is assumed
   first: bars do not say which came first, so the cautious reading is taken.
4. **Close**: break-even and trailing (`managed_stop`, at the inputs' distances or else the
   first model's learned ones, `managed_inputs`) move the stop once per bar, from the
   bar's close. The EA does it on every tick; per bar is an approximation that moves stops
   later than it would (and never within the bar it happens in).

A position still open after the last bar is closed at its close (reason ``end``). Rows still
warming up (a NaN feature) decide nothing. A trade's profit is ``side * (close - open) /
point * money_per_point_per_lot * lots - commission_per_lot * lots`` (round-trip commission).

Examples
--------
>>> model = {"name": "m", "bot": {"symbol": "EURUSD", "timeframe_minutes": 60},
...          "classes": ["none", "buy", "sell"], "thresholds": {"buy": 0.5, "sell": 0.5},
...          "features": [{"name": "ret_1"}],
...          "scaler": {"mean": [0.0], "scale": [0.001]},
...          "estimator": {"family": "linear", "coefficients": [[0.0], [50.0], [-50.0]],
...                        "intercepts": [0.0, 0.0, 0.0]}}
>>> closes = [1.1000, 1.1010, 1.1020, 1.1000]
>>> bars = pd.DataFrame({"time_ms": [h * 3_600_000 for h in range(4)],
...     "timeframe_minutes": 60, "open": closes, "high": closes, "low": closes,
...     "close": closes, "spread_points": 10})
>>> result = run_backtest([model], bars, BacktestInputs())
>>> [(t.side, t.open_price, t.close_price, t.reason) for t in result.trades]
[(1, 1.1021, 1.1, 'end')]
>>> round(result.trades[0].profit, 2)  # 210 points lost on 0.1 lots at 1.0 per point per lot
-21.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from botcopier.codegen.strategy import (
    BarDecision,
    StrategyInputs,
    check_ensemble,
    decide_bar,
    ensemble_proba,
    ensemble_thresholds,
    lots_for,
    managed_inputs,
    managed_stop,
    max_tickets,
    orders_for,
    risk_weight,
    stop_distances,
    stop_prices,
)
from botcopier.exceptions import BotCopierError
from botcopier.trainers.features import FEATURES, feature_matrix
from botcopier.trainers.labels import FLAT_STATE
from botcopier.trainers.position_features import POSITION_FEATURES

_MINUTE_MS = 60_000
_PRICE_DIGITS = 8


class BacktestError(BotCopierError):
    """The models and the market cannot be backtested together (the message says why)."""


@dataclass(frozen=True)
class BacktestInputs:
    """The EA's inputs and the account's terms."""

    strategy: StrategyInputs = field(default_factory=StrategyInputs)
    point: float = 0.00001  # price of one point (EURUSD, 5 digits)
    money_per_point_per_lot: float = 1.0  # 1 point on 1 lot of EURUSD (100,000 units): 1 USD
    commission_per_lot: float = 0.0  # money per lot, round trip (charged at the close)
    initial_balance: float = 10_000.0  # for drawdown in percent


@dataclass
class Trade:
    side: int  # 1 buy, -1 sell
    lots: float
    open_time_ms: int
    open_price: float
    sl: float  # 0: none; the last level it had
    tp: float
    close_time_ms: int = 0
    close_price: float = 0.0
    reason: str = ""  # signal, reverse, sl, tp or end
    profit: float = 0.0  # net of commission

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "side": "buy" if self.side > 0 else "sell"}


@dataclass(frozen=True)
class BacktestResult:
    trades: list[Trade]
    bars: int  # bars simulated (from the first that could trade)
    first_time_ms: int
    last_time_ms: int  # close time of the last bar
    uncertain_decisions: int  # decisions within the uncertainty margin of their threshold
    # (open time of the row decided on, the action ordered: none when it changed nothing,
    # as an entry on the side already held) for every row decided on: what
    # the clone chose while trading on its own, to hold against what its bot chose.
    decisions: list[tuple[int, str]] = field(default_factory=list)


def model_feature_names(models: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every feature the models read, in first-seen order; unknown ones are refused."""
    names = list(dict.fromkeys(f["name"] for m in models for f in m["features"]))
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise BacktestError(f"the model uses features this botcopier does not compute: {unknown}")
    return names


def check_models(models: Sequence[Mapping[str, Any]]) -> tuple[str, int]:
    """The symbol and timeframe every model trades; an ensemble must agree on them."""
    try:
        check_ensemble(models)
    except ValueError as exc:
        raise BacktestError(str(exc)) from exc
    markets = {(m["bot"]["symbol"], int(m["bot"]["timeframe_minutes"])) for m in models}
    if len(markets) > 1:
        raise BacktestError(f"an ensemble trades one chart; these models trade {sorted(markets)}")
    return markets.pop()


class _Market:
    """Bar ``j``'s prices on both sides, and the fills and profit of the account's terms."""

    def __init__(self, bars: pd.DataFrame, inputs: BacktestInputs) -> None:
        self.inputs = inputs
        self.time_ms = bars["time_ms"].to_numpy(dtype=np.int64)
        self.end_ms = self.time_ms + bars["timeframe_minutes"].to_numpy(dtype=np.int64) * _MINUTE_MS
        self.open, self.high, self.low, self.close = (
            bars[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close")
        )
        self.spread = bars["spread_points"].to_numpy(dtype=float) * inputs.point

    def closing(self, side: int, j: int, bid: float) -> float:
        """What closing a ``side`` position fetches when the bid is ``bid`` in bar ``j``."""
        return round(float(bid if side > 0 else bid + self.spread[j]), _PRICE_DIGITS)

    def opening(self, side: int, j: int) -> float:
        return self.closing(-side, j, self.open[j])

    def settle(self, trade: Trade, j: int, price: float, time_ms: int, reason: str) -> None:
        terms = self.inputs
        points = trade.side * (price - trade.open_price) / terms.point
        trade.close_price, trade.close_time_ms, trade.reason = price, time_ms, reason
        trade.profit = float(
            (points * terms.money_per_point_per_lot - terms.commission_per_lot) * trade.lots
        )


def _stop_hit(trade: Trade, low: float, high: float) -> tuple[float, str] | None:
    """The level and reason of a stop the closing-side range [low, high] reaches (SL first)."""
    if trade.side > 0:
        if trade.sl and low <= trade.sl:
            return trade.sl, "sl"
        if trade.tp and high >= trade.tp:
            return trade.tp, "tp"
    else:
        if trade.sl and high >= trade.sl:
            return trade.sl, "sl"
        if trade.tp and low <= trade.tp:
            return trade.tp, "tp"
    return None


_STATE_FEATURES = {f.name: f for f in POSITION_FEATURES}
_LOOKBACK_BARS = 20  # rows a state feature needs before its own (ATR 14 and one more)
_AHEAD_ROWS = 64  # rows decided in one evaluation while the EA's state stays the same


@dataclass(frozen=True)
class _Held:
    """What the simulated EA holds and did when it decides: the position features' inputs."""

    side: int = 0
    entry_ms: int = -1
    entry_price: float = 0.0
    last_entry_ms: int = -1
    last_exit_ms: int = -1
    tickets: int = 0


class _Decisions:
    """The ensemble's decision on each row, for the position and history the EA has."""

    def __init__(
        self,
        models: Sequence[Mapping[str, Any]],
        matrix: pd.DataFrame,
        inputs: StrategyInputs,
        bars: pd.DataFrame,
    ):
        self.models, self.matrix, self.inputs, self.bars = models, matrix, inputs, bars
        self.classes = check_ensemble(models)
        self.thresholds = ensemble_thresholds(models)
        state = [n for n in matrix.columns if n in _STATE_FEATURES]
        self.state_names = state
        known = matrix.drop(columns=["position", *state], errors="ignore").notna().all(axis=1)
        self.usable = known.to_numpy()
        self.reads_position = "position" in matrix.columns
        self.time_ms = bars["time_ms"].to_numpy(dtype=np.int64)
        # Without state features, probabilities depend on the path only through `position`:
        # compute every row once for each value it can take, and pick the one held.
        positions = (-1, 0, 1) if self.reads_position else (0,)
        self.proba = {} if state else {p: self._proba(p) for p in positions}
        self._ahead: dict[int, np.ndarray] = {}
        self._ahead_state: _Held | None = None

    def _state_rows(self, first: int, last: int, held: _Held) -> dict[str, np.ndarray]:
        """The state features of rows ``first..last`` were ``held`` to stay as it is, each by
        its own computation over the bars (the EA's state only changes when it trades)."""
        times = [t for t in (held.entry_ms, held.last_entry_ms, held.last_exit_ms) if t >= 0]
        oldest = int(np.searchsorted(self.time_ms, min(times, default=0), side="right")) - 1
        start = max(0, min(first - _LOOKBACK_BARS, oldest))
        frame = self.bars.iloc[start : last + 1].assign(
            position=float(held.side), entry_ms=held.entry_ms, entry_price=held.entry_price,
            last_entry_ms=held.last_entry_ms, last_exit_ms=held.last_exit_ms,
            open_tickets=held.tickets,
        )  # fmt: skip
        at = first - start
        return {n: _STATE_FEATURES[n].compute(frame)[at:] for n in self.state_names}

    def rows(self, held: _Held, index: np.ndarray | slice | list[int]) -> list[np.ndarray]:
        frame = self.matrix.iloc[index]
        if "position" in frame.columns:
            frame = frame.assign(position=float(held.side))
        if self.state_names:
            picked = np.arange(len(self.matrix))[index]
            first, last = int(picked[0]), int(picked[-1])
            if len(picked) != last - first + 1:
                raise ValueError("state features are computed over consecutive rows")
            frame = frame.assign(**self._state_rows(first, last, held))
        return [frame[[f["name"] for f in m["features"]]].to_numpy(float) for m in self.models]

    def _proba(self, position: int) -> np.ndarray:
        out = np.full((len(self.matrix), len(self.classes)), np.nan)
        index = np.flatnonzero(self.usable)
        if len(index):
            out[index] = ensemble_proba(self.models, self.rows(_Held(side=position), index))
        return out

    def on_row(self, i: int, held: _Held) -> BarDecision:
        if self.state_names:
            # Rows ahead are evaluated together on the bet that the state stays as it is; a
            # trade changes it and the rows after are evaluated again.
            if held != self._ahead_state or i not in self._ahead:
                last = min(i + _AHEAD_ROWS, len(self.matrix)) - 1
                proba = ensemble_proba(self.models, self.rows(held, slice(i, last + 1)))
                self._ahead, self._ahead_state = dict(zip(range(i, last + 1), proba)), held
            proba = self._ahead[i]
        else:
            proba = self.proba[held.side if self.reads_position else 0][i]
        return decide_bar(proba, self.classes, self.thresholds, self.inputs.uncertainty_margin)


def run_backtest(
    models: Sequence[Mapping[str, Any]],
    bars: pd.DataFrame,
    inputs: BacktestInputs,
    progress: Callable[[str], None] = lambda line: None,
    start_ms: int | None = None,
) -> BacktestResult:
    """Trade ``models`` (one, or an ensemble) over ``bars`` of their symbol and timeframe.

    With ``start_ms``, trading starts at the first bar opening then or later; the bars
    before it still warm the features up.
    """
    symbol, _timeframe = check_models(models)
    names = model_feature_names(models)
    bars = bars.sort_values("time_ms", kind="stable").reset_index(drop=True)
    warmup = max(FEATURES[name].warmup for name in names)
    if len(bars) < warmup + 2:
        raise BacktestError(
            f"{len(bars)} bars: the model's features need {warmup} bars of warm-up and one more "
            f"to act on, so at least {warmup + 2}"
        )
    flat = bars.assign(position=0.0, **FLAT_STATE)
    matrix = feature_matrix(flat, tuple(FEATURES[n] for n in names))
    matrix.iloc[:warmup] = np.nan
    decisions = _Decisions(models, matrix, inputs.strategy, bars)
    if not decisions.usable.any():
        raise BacktestError(f"no bar of {len(bars)} has every feature past its warm-up")
    market = _Market(bars, inputs)
    weight = risk_weight(models[0], symbol)
    first = int(np.argmax(decisions.usable)) + 1  # the first bar a decision is acted on
    if start_ms is not None:
        first = max(first, int(np.searchsorted(market.time_ms, start_ms, side="left")))
    if first >= len(bars):
        raise BacktestError(f"no bar to trade: every bar is before the warm-up ends or {start_ms}")
    trades: list[Trade] = []
    held: list[Trade] = []  # the open orders, oldest first, all on one side
    most = max_tickets(models[0])
    management = managed_inputs(models[0], inputs.strategy)
    uncertain = 0
    decided: list[tuple[int, str]] = []
    last_entry_ms = last_exit_ms = -1

    def state() -> _Held:
        if not held:
            return _Held(0, -1, 0.0, last_entry_ms, last_exit_ms, 0)
        oldest = held[0]
        return _Held(oldest.side, oldest.open_time_ms, oldest.open_price, last_entry_ms,
                     last_exit_ms, len(held))  # fmt: skip

    def close(trade: Trade, j: int, price: float, time_ms: int, reason: str) -> None:
        nonlocal last_exit_ms
        market.settle(trade, j, price, time_ms, reason)
        trades.append(trade)
        held.remove(trade)
        last_exit_ms = time_ms

    report_every = max((len(bars) - first) // 10, 1)
    for j in range(first, len(bars)):
        if (j - first) % report_every == 0 and j > first:
            progress(f"  bar {j - first}/{len(bars) - first}, {len(trades)} trades closed")
        for trade in list(held):  # 1. a stop the open gapped over
            price = market.closing(trade.side, j, market.open[j])
            hit = _stop_hit(trade, price, price)
            if hit:
                close(trade, j, price, int(market.time_ms[j]), hit[1])
        i = j - 1
        if decisions.usable[i]:  # 2. the decision on the bars closed so far
            before = state()
            decision = decisions.on_row(i, before)
            uncertain += decision.uncertain
            orders = orders_for(decision.action, before.side, before.tickets, most)
            # What a trader sees: an entry the position already holds does nothing.
            decided.append((int(market.time_ms[i]), decision.action if orders else "none"))
            for order in orders:
                if order == "close":
                    reason = "reverse" if len(orders) > 1 else "signal"
                    for trade in list(held):
                        price = market.closing(trade.side, j, market.open[j])
                        close(trade, j, price, int(market.time_ms[j]), reason)
                elif order.startswith("open_"):
                    side = 1 if order == "open_buy" else -1
                    lots = lots_for(decision.probability, decision.threshold, inputs.strategy,
                                    weight)  # fmt: skip
                    row = decisions.rows(before, [i])[0][0]
                    sl_distance, tp_distance = stop_distances(models[0], row, inputs.strategy)
                    price = market.opening(side, j)
                    sl, tp = stop_prices(side, price, sl_distance, tp_distance)
                    held.append(Trade(side, lots, int(market.time_ms[j]), price, sl, tp))
                    last_entry_ms = held[-1].open_time_ms
        for trade in list(held):  # 3. stops inside the bar, on the closing side
            low = market.closing(trade.side, j, market.low[j])
            high = market.closing(trade.side, j, market.high[j])
            hit = _stop_hit(trade, low, high)
            if hit:
                close(trade, j, hit[0], int(market.end_ms[j]), hit[1])
        for trade in held:  # 4. break-even and trailing from the close
            bid = float(market.close[j])
            new_stop = managed_stop(trade.side, trade.open_price, trade.sl, bid=bid,
                                    ask=round(bid + market.spread[j], _PRICE_DIGITS),
                                    inputs=management)  # fmt: skip
            if new_stop is not None:
                trade.sl = new_stop
    last = len(bars) - 1
    for trade in list(held):
        price = market.closing(trade.side, last, market.close[last])
        close(trade, last, price, int(market.end_ms[last]), "end")
    return BacktestResult(
        trades=trades,
        bars=len(bars) - first,
        first_time_ms=int(market.time_ms[first]),
        last_time_ms=int(market.end_ms[last]),
        uncertain_decisions=uncertain,
        decisions=decided,
    )
