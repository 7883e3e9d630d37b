"""The clone's features, each declared once: its Python computation and its MQL4 expression.

A trained model is only as good as the numbers the generated EA feeds it live, so every
feature states both sides here and nowhere else:

- ``compute(bars)`` gives the feature for every row of a bar frame (oldest first; a row's
  value uses that bar and earlier ones only: it is what is known when the bar closes);
- ``mql4`` is the expression the generated EA evaluates when the next bar opens, so shift 1
  is the bar just closed, as row ``i`` is here;
- ``warmup`` is how many bars it needs before its value is exact (EMAs: until their seed has
  decayed); the pipeline drops the rows before the largest warm-up in use.

Bar frames have the columns of the Bar schema: ``time_ms`` (open time), ``timeframe_minutes``,
``open``, ``high``, ``low``, ``close``, ``spread_points``; the labeller adds ``position``
(-1 short, 0 flat, 1 long: what the bot held when it decided on that bar). MQL4 helpers the
expressions use (``BcSafeDiv``, ``BcPositionSide``, ``BcUtc``) live in
``mql4/Include/BotCopier/Features.mqh``.

Examples
--------
>>> [f.name for f in DEFAULT_FEATURES][:4]
['ret_1', 'ret_5', 'sma_gap_10', 'sma_gap_50']
>>> FEATURES["rsi_14"].mql4
'iRSI(NULL,0,14,PRICE_CLOSE,1)'
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from botcopier.trainers import indicators as ind
from botcopier.trainers.feature_base import Feature, column, crossing, decision_ms, safe_div
from botcopier.trainers.feature_catalogue import CATALOGUE, PERCENT_LEVELS
from botcopier.trainers.position_features import POSITION_FEATURES

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS


def _close(bars: pd.DataFrame) -> np.ndarray:
    return column(bars, "close")


def _return(lag: int) -> Feature:
    def compute(bars: pd.DataFrame) -> np.ndarray:
        close = _close(bars)
        out = np.full(len(close), np.nan)
        out[lag:] = close[lag:] / close[:-lag] - 1.0
        return out

    return Feature(
        f"ret_{lag}",
        compute,
        f"Close[1]/Close[{1 + lag}]-1.0",
        lag,
        f"return of the close over the last {lag} bar(s)",
    )


_MOVING_AVERAGES = {
    "sma": (ind.sma, "MODE_SMA", lambda period: period - 1, "simple"),
    "ema": (ind.ema, "MODE_EMA", ind.ema_warmup, "exponential"),
}


def _ma_gap(kind: str, period: int) -> Feature:
    average, mode, warmup_of, adjective = _MOVING_AVERAGES[kind]
    return Feature(
        f"{kind}_gap_{period}",
        lambda bars: _close(bars) / average(_close(bars), period) - 1.0,
        f"Close[1]/iMA(NULL,0,{period},0,{mode},PRICE_CLOSE,1)-1.0",
        warmup_of(period),
        f"close relative to its {period}-bar {adjective} moving average",
    )


def _sma_spread(fast: int, slow: int) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda bars: ind.sma(_close(bars), fast) - ind.sma(_close(bars), slow)


def _sma_pair(fast: int, slow: int, shift: int) -> str:
    return "-".join(
        f"iMA(NULL,0,{period},0,MODE_SMA,PRICE_CLOSE,{shift})" for period in (fast, slow)
    )


def _sma_cross(fast: int, slow: int) -> Feature:
    return Feature(
        f"sma_cross_{fast}_{slow}",
        lambda bars: crossing(_sma_spread(fast, slow)(bars)),
        f"(double)BcCross({_sma_pair(fast, slow, 1)},{_sma_pair(fast, slow, 2)})",
        slow,
        f"1 when the {fast}-bar SMA crossed above the {slow}-bar SMA on this bar, -1 below, else 0",
    )


def _channel(period: int, side: str) -> Feature:
    column, extreme, mode, roll = {
        "high": ("high", "iHighest", "MODE_HIGH", "max"),
        "low": ("low", "iLowest", "MODE_LOW", "min"),
    }[side]

    def compute(bars: pd.DataFrame) -> np.ndarray:
        # The channel is the bars before this one: a close beyond it is a breakout.
        before = bars[column].rolling(period).agg(roll).shift(1).to_numpy(dtype=float)
        return _close(bars) / before - 1.0

    return Feature(
        f"channel_{side}_{period}",
        compute,
        f"Close[1]/{side.capitalize()}[{extreme}(NULL,0,{mode},{period},2)]-1.0",
        period,
        f"close relative to the {side}est {side} of the {period} bars before it "
        f"({'above 0' if side == 'high' else 'below 0'}: a breakout)",
    )


def _rsi(period: int) -> Feature:
    return Feature(
        f"rsi_{period}",
        lambda bars: ind.rsi(_close(bars), period),
        f"iRSI(NULL,0,{period},PRICE_CLOSE,1)",
        # Wilder's smoothing decays like an EMA of alpha 1/period.
        period + int(np.ceil(np.log(1e-9) / np.log(1.0 - 1.0 / period))),
        f"{period}-bar RSI with Wilder's smoothing (0..100)",
        PERCENT_LEVELS,
    )


def _atr_ratio(period: int) -> Feature:
    return Feature(
        f"atr_ratio_{period}",
        lambda bars: ind.atr(bars["high"], bars["low"], bars["close"], period) / _close(bars),
        f"iATR(NULL,0,{period},1)/Close[1]",
        period,
        f"{period}-bar average true range relative to the close",
    )


def _bands_position(period: int, deviation: float) -> Feature:
    def compute(bars: pd.DataFrame) -> np.ndarray:
        lower, _middle, upper = ind.bands(_close(bars), period, deviation)
        return safe_div(_close(bars) - lower, upper - lower, 0.5)

    lower = f"iBands(NULL,0,{period},{deviation:g},0,PRICE_CLOSE,MODE_LOWER,1)"
    upper = f"iBands(NULL,0,{period},{deviation:g},0,PRICE_CLOSE,MODE_UPPER,1)"
    return Feature(
        f"bands_pos_{period}",
        compute,
        f"BcSafeDiv(Close[1]-{lower},{upper}-{lower},0.5)",
        period - 1,
        f"where the close sits in its {period}-bar {deviation:g}-sigma Bollinger band (0..1)",
    )


def _macd(fast: int, slow: int, signal: int) -> list[Feature]:
    def part(index: int) -> Callable[[pd.DataFrame], np.ndarray]:
        return lambda bars: ind.macd(_close(bars), fast, slow, signal)[index] / _close(bars)

    call = "iMACD(NULL,0,{f},{s},{g},PRICE_CLOSE,{mode},1)/Close[1]"
    warmup = ind.ema_warmup(slow)
    return [
        Feature(
            "macd_main",
            part(0),
            call.format(f=fast, s=slow, g=signal, mode="MODE_MAIN"),
            warmup,
            f"MACD({fast},{slow}) main line relative to the close",
        ),
        Feature(
            "macd_signal",
            part(1),
            call.format(f=fast, s=slow, g=signal, mode="MODE_SIGNAL"),
            warmup + signal - 1,
            f"MACD signal line (SMA {signal} of the main line) relative to the close",
        ),
    ]


def _stochastic(k: int, d: int, slowing: int) -> list[Feature]:
    def part(index: int) -> Callable[[pd.DataFrame], np.ndarray]:
        return lambda bars: ind.stochastic(bars["high"], bars["low"], bars["close"], k, d, slowing)[
            index
        ]

    call = "iStochastic(NULL,0,{k},{d},{s},MODE_SMA,0,{mode},1)"
    return [
        Feature(
            "stoch_main",
            part(0),
            call.format(k=k, d=d, s=slowing, mode="MODE_MAIN"),
            k + slowing - 2,
            f"stochastic %K({k}, slowing {slowing}) (0..100)",
            PERCENT_LEVELS,
        ),
        Feature(
            "stoch_signal",
            part(1),
            call.format(k=k, d=d, s=slowing, mode="MODE_SIGNAL"),
            k + slowing + d - 3,
            f"stochastic %D (SMA {d} of %K) (0..100)",
            PERCENT_LEVELS,
        ),
    ]


def _cyclic(name: str, period_ms: int, offset_ms: int, mql4_angle: str, doc: str) -> list[Feature]:
    def angle(bars: pd.DataFrame) -> np.ndarray:
        # Whole hours / days, as MQL4's TimeHour and TimeDayOfWeek see them.
        unit = _HOUR_MS if period_ms == _DAY_MS else _DAY_MS
        whole = (decision_ms(bars) + offset_ms) % period_ms // unit
        return 2.0 * np.pi * whole / (period_ms // unit)

    return [
        Feature(f"{name}_sin", lambda b: np.sin(angle(b)), f"MathSin({mql4_angle})", 0, doc),
        Feature(f"{name}_cos", lambda b: np.cos(angle(b)), f"MathCos({mql4_angle})", 0, doc),
    ]


def _spread() -> Feature:
    return Feature(
        "spread_points",
        lambda bars: bars["spread_points"].to_numpy(dtype=float),
        "(double)MarketInfo(Symbol(),MODE_SPREAD)",
        0,
        "spread in points (the bar's recorded spread; live, the current one)",
    )


def _position() -> Feature:
    return Feature(
        "position",
        lambda bars: bars["position"].to_numpy(dtype=float),
        "(double)BcPositionSide(MagicNumber)",
        0,
        "what is held when deciding: -1 short, 0 flat, 1 long",
    )


DEFAULT_FEATURES: tuple[Feature, ...] = (
    _return(1),
    _return(5),
    _ma_gap("sma", 10),
    _ma_gap("sma", 50),
    _ma_gap("ema", 20),
    Feature(
        "sma_gap_5_20",
        lambda bars: _sma_spread(5, 20)(bars) / ind.sma(_close(bars), 20),
        f"({_sma_pair(5, 20, 1)})/iMA(NULL,0,20,0,MODE_SMA,PRICE_CLOSE,1)",
        19,
        "gap of the 5-bar SMA over the 20-bar SMA, relative to the latter",
    ),
    _sma_cross(5, 20),
    _channel(20, "high"),
    _channel(20, "low"),
    _rsi(14),
    _atr_ratio(14),
    _bands_position(20, 2.0),
    *_macd(12, 26, 9),
    *_stochastic(5, 3, 3),
    # 1970-01-01 was a Thursday: +4 days makes day 0 a Sunday, as TimeDayOfWeek counts.
    # UTC, as the bars arrive (the EA converts its server time with BcUtc).
    *_cyclic("hour", _DAY_MS, 0, "2.0*M_PI*TimeHour(BcUtc(Time[0]))/24.0", "hour of day"),
    *_cyclic(
        "weekday",
        7 * _DAY_MS,
        4 * _DAY_MS,
        "2.0*M_PI*TimeDayOfWeek(BcUtc(Time[0]))/7.0",
        "day of the week",
    ),
    _spread(),
    _position(),
)
# What the trainer chooses from: the default set, then the MT4 catalogue (a name both
# declare, such as rsi_14, is one feature: the same MQL4).
CANDIDATE_FEATURES: tuple[Feature, ...] = (
    DEFAULT_FEATURES
    + tuple(f for f in CATALOGUE if f.name not in {d.name for d in DEFAULT_FEATURES})
    + POSITION_FEATURES
)
FEATURES: dict[str, Feature] = {feature.name: feature for feature in CANDIDATE_FEATURES}


def feature_matrix(bars: pd.DataFrame, features: tuple[Feature, ...] = DEFAULT_FEATURES):
    """One column per feature, rows as ``bars``; NaN where a feature is still warming up."""
    missing = {"time_ms", "timeframe_minutes", "high", "low", "close"} - set(bars.columns)
    if missing:
        raise ValueError(f"bar frame lacks columns {sorted(missing)}")
    return pd.DataFrame({f.name: f.compute(bars) for f in features}, index=bars.index)


def warmup(features: tuple[Feature, ...] = DEFAULT_FEATURES) -> int:
    return max((f.warmup for f in features), default=0)
