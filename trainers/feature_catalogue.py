"""What MT4 EAs read: the built-in indicators at their standard periods, as candidate features.

Retail EAs decide on closed bars with MT4's built-ins: a fast MA crossing a slow one, RSI
leaving 30, %K crossing %D, the close outside a band, ADX above 25, the hour of the day. A
clone needs those numbers to copy such a bot, so this catalogue declares them (each with its
Python computation and its MQL4 expression, as every feature is declared) and the trainer
chooses among them per bot (`botcopier.trainers.feature_selection`):

- **levels** at shift 1 (the bar just closed) and shift 2 (``<name>_prev``, the bar before,
  from which a crossing is decided): RSI 7/14/21, CCI 14/20, Williams %R 14, stochastic
  (5,3,3) and (14,3,3) %K and %D, ADX 14 with +DI and -DI, momentum 14, where the close sits
  in the Bollinger band (20, 2), and the candle's body;
- **distances in ATR(14) units** (scale-free across symbols and regimes): the close from
  SMAs 5..200 and EMAs 5..50, fast minus slow MA for the usual pairs, MACD (12,26,9) main
  and signal, the close from the Bollinger and envelope (14, 0.1%) bands and from the
  highest high / lowest low of the 10, 20 and 50 bars before;
- **crossings** (1 up, -1 down, 0 none, as ``BcCross``): each MA pair, the close through each
  MA, %K through %D, MACD through its signal and through 0, +DI through -DI;
- **time** of the bar just closed, as whole numbers: hour (UTC) and weekday (0 Sunday);
- ``atr_14``, the ATR itself in price units: stops of ``k x ATR`` are linear in it.

Examples
--------
>>> names = [f.name for f in CATALOGUE]
>>> "rsi_7" in names and "rsi_7_prev" in names and "cross_ema_8_21" in names
True
>>> FEATURES_BY_NAME["close_sma_50"].mql4
'BcSafeDiv(Close[1]-iMA(NULL,0,50,0,MODE_SMA,PRICE_CLOSE,1),iATR(NULL,0,14,1),0.0)'
>>> len(CATALOGUE) > 100
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from botcopier.trainers import indicators as ind
from botcopier.trainers.feature_base import Feature, column, crossing, safe_div, shifted

Compute = Callable[[pd.DataFrame], np.ndarray]
ATR_PERIOD = 14
SMA_PERIODS = (5, 8, 10, 14, 20, 21, 30, 50, 100, 200)
# EMAs longer than 50 need thousands of bars before their seed fades to 1e-9 (ema_warmup).
EMA_PERIODS = (5, 8, 10, 13, 20, 21, 34, 50)
SMA_PAIRS = ((5, 20), (10, 20), (10, 30), (10, 50), (20, 50), (50, 200))
EMA_PAIRS = ((5, 20), (8, 21), (10, 50), (12, 26), (13, 34), (20, 50))
_MA_MODES = {"sma": ("MODE_SMA", ind.sma), "ema": ("MODE_EMA", ind.ema)}
# Where EAs put their thresholds: every 2.5 on 0..100 scales (RSI, stochastic, ADX, DI),
# every 2.5 on Williams %R's -100..0, every 25 on CCI, every 0.05 around momentum's 100.
PERCENT_LEVELS = tuple(2.5 * i for i in range(1, 40))
WPR_LEVELS = tuple(-level for level in reversed(PERCENT_LEVELS))
CCI_LEVELS = tuple(25.0 * i for i in range(-16, 17))
MOMENTUM_LEVELS = tuple(round(100.0 + 0.05 * i, 2) for i in range(-40, 41))


@dataclass(frozen=True)
class Series:
    """One number per bar: its value at shift 1 (``compute``) and its MQL4 at shift ``{s}``."""

    compute: Compute
    mql4: str  # str.format template with ``{s}`` (shift) and ``{s1}`` (shift + 1)
    warmup: int
    levels: tuple[float, ...] = ()  # round levels EAs compare it with (Feature.levels)

    def at(self, shift: int) -> str:
        return self.mql4.format(s=shift, s1=shift + 1)


def _cached(compute: Compute) -> Compute:
    """One computation per bar frame: a series feeds several features of one matrix."""
    memo: dict[int, tuple[pd.DataFrame, np.ndarray]] = {}

    def run(bars: pd.DataFrame) -> np.ndarray:
        hit = memo.get(id(bars))
        if hit is None or hit[0] is not bars:
            memo.clear()  # keep only the frame being featurised
            hit = memo[id(bars)] = (bars, compute(bars))
        return hit[1]

    return run


def _hlc(bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return column(bars, "high"), column(bars, "low"), column(bars, "close")


_ATR = Series(
    _cached(lambda b: ind.atr(*_hlc(b), ATR_PERIOD)), f"iATR(NULL,0,{ATR_PERIOD},{{s}})", 14
)
_CLOSE = Series(lambda b: column(b, "close"), "Close[{s}]", 0)


def _ma(kind: str, period: int) -> Series:
    mode, average = _MA_MODES[kind]
    warmup = period - 1 if kind == "sma" else ind.ema_warmup(period)
    return Series(
        _cached(lambda b: average(column(b, "close"), period)),
        f"iMA(NULL,0,{period},0,{mode},PRICE_CLOSE,{{s}})",
        warmup,
    )


def _minus(a: Series, b: Series) -> Series:
    return Series(
        lambda bars: a.compute(bars) - b.compute(bars),
        f"{a.mql4}-{b.mql4}",
        max(a.warmup, b.warmup),
    )


def _in_atr(x: Series) -> Series:
    return Series(
        lambda bars: safe_div(x.compute(bars), _ATR.compute(bars), 0.0),
        f"BcSafeDiv({x.mql4},{_ATR.mql4},0.0)",
        max(x.warmup, _ATR.warmup),
    )


def _with_prev(name: str, series: Series, doc: str) -> list[Feature]:
    """The value at shift 1 and, as ``<name>_prev``, at shift 2."""
    return [
        Feature(name, series.compute, series.at(1), series.warmup, doc, series.levels),
        Feature(
            f"{name}_prev",
            lambda bars: shifted(series.compute(bars)),
            series.at(2),
            series.warmup + 1,
            f"{doc}, one bar earlier",
            series.levels,
        ),
    ]


def _cross(name: str, spread: Series, doc: str) -> Feature:
    return Feature(
        name,
        lambda bars: crossing(spread.compute(bars)),
        f"(double)BcCross({spread.at(1)},{spread.at(2)})",
        spread.warmup + 1,
        f"1 when {doc} turned above 0 on this bar, -1 below, else 0",
    )


def _moving_averages() -> list[Feature]:
    out: list[Feature] = []
    for kind, periods in (("sma", SMA_PERIODS), ("ema", EMA_PERIODS)):
        for period in periods:
            gap = _minus(_CLOSE, _ma(kind, period))
            name = f"close_{kind}_{period}"
            doc = f"close minus its {period}-bar {kind.upper()}, in ATR({ATR_PERIOD})"
            out += _with_prev(name, _in_atr(gap), doc)
            out.append(_cross(f"cross_{name}", gap, f"the close minus its {period}-bar MA"))
    for kind, pairs in (("sma", SMA_PAIRS), ("ema", EMA_PAIRS)):
        for fast, slow in pairs:
            spread = _minus(_ma(kind, fast), _ma(kind, slow))
            name = f"{kind}_{fast}_{slow}"
            doc = f"{kind.upper()} {fast} minus {kind.upper()} {slow}, in ATR({ATR_PERIOD})"
            out += _with_prev(name, _in_atr(spread), doc)
            out.append(_cross(f"cross_{name}", spread, f"the {fast}-bar minus {slow}-bar MA"))
    return out


def _oscillators() -> list[Feature]:
    out: list[Feature] = []
    for period in (7, 14, 21):
        rsi = Series(
            _cached(lambda b, p=period: ind.rsi(column(b, "close"), p)),
            f"iRSI(NULL,0,{period},PRICE_CLOSE,{{s}})",
            # Wilder's smoothing decays like an EMA of alpha 1/period.
            period + int(np.ceil(np.log(1e-9) / np.log(1.0 - 1.0 / period))),
            PERCENT_LEVELS,
        )
        out += _with_prev(f"rsi_{period}", rsi, f"{period}-bar RSI (0..100)")
    for period in (14, 20):
        cci = Series(
            _cached(lambda b, p=period: ind.cci(*_hlc(b), p)),
            f"iCCI(NULL,0,{period},PRICE_TYPICAL,{{s}})",
            period - 1,
            CCI_LEVELS,
        )
        out += _with_prev(f"cci_{period}", cci, f"{period}-bar CCI of the typical price")
    wpr = Series(_cached(lambda b: ind.wpr(*_hlc(b), 14)), "iWPR(NULL,0,14,{s})", 13, WPR_LEVELS)
    out += _with_prev("wpr_14", wpr, "14-bar Williams %R (-100..0)")
    momentum = Series(
        _cached(lambda b: ind.momentum(column(b, "close"), 14)),
        "iMomentum(NULL,0,14,PRICE_CLOSE,{s})",
        14,
        MOMENTUM_LEVELS,
    )
    out += _with_prev("momentum_14", momentum, "14-bar momentum (100: unchanged)")
    for k, d, slowing in ((5, 3, 3), (14, 3, 3)):
        lines = _cached(
            lambda b, k=k, d=d, sl=slowing: np.vstack(ind.stochastic(*_hlc(b), k, d, sl))
        )
        call = f"iStochastic(NULL,0,{k},{d},{slowing},MODE_SMA,0,{{mode}},{{{{s}}}})"
        main = Series(
            lambda b, f=lines: f(b)[0], call.format(mode="MODE_MAIN"), k + slowing - 2,
            PERCENT_LEVELS,
        )  # fmt: skip
        signal = Series(
            lambda b, f=lines: f(b)[1], call.format(mode="MODE_SIGNAL"), k + slowing + d - 3,
            PERCENT_LEVELS,
        )  # fmt: skip
        tag = f"stoch_{k}_{d}_{slowing}"
        out += _with_prev(f"{tag}_main", main, f"stochastic ({k},{d},{slowing}) %K (0..100)")
        out += _with_prev(f"{tag}_signal", signal, f"stochastic ({k},{d},{slowing}) %D (0..100)")
        out.append(_cross(f"cross_{tag}", _minus(main, signal), f"%K({k},{d},{slowing}) - %D"))
    return out


def _macd_and_adx() -> list[Feature]:
    lines = _cached(lambda b: np.vstack(ind.macd(column(b, "close"), 12, 26, 9)))
    call = "iMACD(NULL,0,12,26,9,PRICE_CLOSE,{mode},{{s}})"
    warmup = ind.ema_warmup(26)
    main = Series(lambda b: lines(b)[0], call.format(mode="MODE_MAIN"), warmup)
    signal = Series(lambda b: lines(b)[1], call.format(mode="MODE_SIGNAL"), warmup + 8)
    out = _with_prev("macd_12_26_9_main", _in_atr(main), "MACD (12,26,9) main, in ATR(14)")
    out += _with_prev("macd_12_26_9_signal", _in_atr(signal), "MACD signal line, in ATR(14)")
    out.append(_cross("cross_macd_12_26_9", _minus(main, signal), "MACD main - signal"))
    out.append(_cross("cross_macd_12_26_9_zero", main, "the MACD main line"))
    adx = _cached(lambda b: np.vstack(ind.adx(*_hlc(b), 14)))
    call = "iADX(NULL,0,14,PRICE_CLOSE,{mode},{{s}})"
    adx_warmup = ind.adx_warmup(14)
    for index, mode, name in ((0, "MODE_MAIN", "adx_14"), (1, "MODE_PLUSDI", "adx_14_plus_di"),
                              (2, "MODE_MINUSDI", "adx_14_minus_di")):  # fmt: skip
        line = Series(
            lambda b, i=index: adx(b)[i], call.format(mode=mode), adx_warmup, PERCENT_LEVELS
        )
        out += _with_prev(name, line, f"ADX (14) {mode[5:].lower()} line (0..100)")
    plus = Series(lambda b: adx(b)[1], call.format(mode="MODE_PLUSDI"), adx_warmup)
    minus = Series(lambda b: adx(b)[2], call.format(mode="MODE_MINUSDI"), adx_warmup)
    out.append(_cross("cross_adx_14_di", _minus(plus, minus), "+DI minus -DI"))
    return out


def _bands_and_channels() -> list[Feature]:
    bands = _cached(lambda b: np.vstack(ind.bands(column(b, "close"), 20, 2.0)))
    call = "iBands(NULL,0,20,2,0,PRICE_CLOSE,{mode},{{s}})"
    lower = Series(lambda b: bands(b)[0], call.format(mode="MODE_LOWER"), 19)
    upper = Series(lambda b: bands(b)[2], call.format(mode="MODE_UPPER"), 19)
    out = _with_prev("close_bands_20_upper", _in_atr(_minus(_CLOSE, upper)),
                     "close minus the upper Bollinger band (20, 2), in ATR(14)")  # fmt: skip
    out += _with_prev("close_bands_20_lower", _in_atr(_minus(_CLOSE, lower)),
                      "close minus the lower Bollinger band (20, 2), in ATR(14)")  # fmt: skip
    envelopes = _cached(lambda b: np.vstack(ind.envelopes(column(b, "close"), 14, 0.1)))
    call = "iEnvelopes(NULL,0,14,MODE_SMA,0,PRICE_CLOSE,0.1,{mode},{{s}})"
    lower = Series(lambda b: envelopes(b)[0], call.format(mode="MODE_LOWER"), 13)
    upper = Series(lambda b: envelopes(b)[2], call.format(mode="MODE_UPPER"), 13)
    out += _with_prev("close_envelopes_14_upper", _in_atr(_minus(_CLOSE, upper)),
                      "close minus the upper envelope (SMA 14, 0.1%), in ATR(14)")  # fmt: skip
    out += _with_prev("close_envelopes_14_lower", _in_atr(_minus(_CLOSE, lower)),
                      "close minus the lower envelope (SMA 14, 0.1%), in ATR(14)")  # fmt: skip
    for period in (10, 20, 50):
        for side, roll, extreme, mode in (("high", "max", "iHighest", "MODE_HIGH"),
                                          ("low", "min", "iLowest", "MODE_LOW")):  # fmt: skip
            edge = Series(
                _cached(
                    lambda b, c=side, r=roll, p=period: (
                        b[c].rolling(p).agg(r).shift(1).to_numpy(dtype=float)
                    )
                ),
                f"{side.capitalize()}[{extreme}(NULL,0,{mode},{period},{{s1}})]",
                period,
            )
            out += _with_prev(f"close_{side}est_{period}", _in_atr(_minus(_CLOSE, edge)),
                              f"close minus the {side}est {side} of the {period} bars before, "
                              "in ATR(14)")  # fmt: skip
    doc = "14-bar average true range in price units (what ATR stops are made of)"
    out.append(Feature("atr_14", _ATR.compute, _ATR.at(1), _ATR.warmup, doc))
    body = Series(lambda b: column(b, "close") - column(b, "open"), "Close[{s}]-Open[{s}]", 0)
    out += _with_prev("body", _in_atr(body), "the bar's close minus its open, in ATR(14)")
    return out


def _time() -> list[Feature]:
    hour_ms, day_ms = 3_600_000, 86_400_000

    def hour(bars: pd.DataFrame) -> np.ndarray:
        return (bars["time_ms"].to_numpy(dtype=np.int64) % day_ms // hour_ms).astype(float)

    def weekday(bars: pd.DataFrame) -> np.ndarray:
        # 1970-01-01 was a Thursday: +4 days makes day 0 a Sunday, as TimeDayOfWeek counts.
        return ((bars["time_ms"].to_numpy(dtype=np.int64) // day_ms + 4) % 7).astype(float)

    return [
        Feature("hour", hour, "(double)TimeHour(BcUtc(Time[1]))", 0,
                "hour (UTC) the bar just closed opened in, 0..23"),
        Feature("weekday", weekday, "(double)TimeDayOfWeek(BcUtc(Time[1]))", 0,
                "weekday (UTC) of the bar just closed, 0 Sunday .. 6 Saturday"),
    ]  # fmt: skip


CATALOGUE: tuple[Feature, ...] = (
    *_moving_averages(),
    *_oscillators(),
    *_macd_and_adx(),
    *_bands_and_channels(),
    *_time(),
)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in CATALOGUE}
