"""Each zoo bot's rule on hand-built bars: where it must act, and where it must not.

Bars are built from closes (`tests.zoo_data.bars_from_closes`): each opens at the previous
close with a 2-pip wick, hourly from a given UTC time (2024-01-01 is a Monday). A bot
decides at a bar's close, so "acts at bar i" means on seeing bar i close.
"""

from __future__ import annotations

import numpy as np

from botcopier.bridge.simulator.history import real_bars
from botcopier.bridge.simulator.zoo import (
    AdxDiCrossBot,
    BollingerBreakoutBot,
    BollingerReversionBot,
    CciBreakoutBot,
    EmaCrossBot,
    EnvelopeReversionBot,
    MacdSignalBot,
    MomentumTrendBot,
    PyramidBot,
    RsiLevelsBot,
    RsiSessionBot,
    SessionBreakoutBot,
    SmaTrendCrossBot,
    StochasticCrossBot,
    StochasticTrendBot,
    TripleConfirmBot,
    WilliamsReversalBot,
    ZooBot,
    run_bot,
)
from botcopier.trainers import indicators
from botcopier.trainers.labels import is_stop_fill
from tests.zoo_data import bars_from_closes, utc_ms

FLAT = [1.1] * 30


def ramp(start: float, step: float, count: int) -> list[float]:
    return [round(start + step * (i + 1), 5) for i in range(count)]


def run(cls: type[ZooBot], closes: list[float], **bars_kw):
    bars = bars_from_closes(closes, **bars_kw)
    bot = cls(bars)
    events = run_bot(bot, bars)
    acted = {i: d for i, d in enumerate(bot.decisions) if d != "none"}
    return bot, bars, events, acted


def kinds(events) -> list[str]:
    return [f"{e['action']} {e['order_type']}" for e in events]


def test_ema_cross_buys_the_golden_cross_and_reverses_on_the_death_cross():
    _, _, events, acted = run(EmaCrossBot, FLAT + [1.105] * 10 + [1.095] * 5)
    assert list(acted.items())[0] == (30, "buy")  # the jump lifts EMA 8 over EMA 21
    assert [d for i, d in acted.items() if i > 30] == ["sell"]
    assert kinds(events) == ["OPEN BUY", "CLOSE BUY", "OPEN SELL"]
    assert run(EmaCrossBot, FLAT * 2)[3] == {}


def test_sma_trend_cross_buys_only_above_sma_200_and_closes_flat_on_the_opposite_cross():
    up = ramp(1.0, 0.0002, 250)
    dip = ramp(up[-1], -0.0002, 15)
    rise = ramp(dip[-1], 0.0002, 20)
    bot, bars, events, acted = run(SmaTrendCrossBot, up + dip + rise + ramp(rise[-1], -0.0002, 20))
    assert list(acted.values()) == ["buy", "close"]  # the second cross closes, never sells
    buy_at = min(acted)
    assert 250 + 15 <= buy_at < 250 + 35
    closes = np.array([b.close for b in bars])
    assert closes[buy_at] > closes[buy_at - 199 : buy_at + 1].mean()
    assert events[0]["sl"] == round(events[0]["open_price"] - 0.0040, 5)
    assert events[0]["tp"] == round(events[0]["open_price"] + 0.0080, 5)
    down = ramp(1.25, -0.0002, 250)
    dip = ramp(down[-1], -0.0002, 15)
    assert run(SmaTrendCrossBot, down + dip + ramp(dip[-1], 0.0002, 20))[3] == {}


def test_pyramid_adds_a_second_ticket_one_atr_on_and_reverses_both():
    falling = ramp(1.11, -0.0002, 60)
    closes = falling + ramp(falling[-1], 0.0005, 60) + ramp(falling[-1] + 0.03, -0.001, 40)
    bot, _, events, acted = run(PyramidBot, closes)
    assert list(acted.values()) == ["buy", "buy", "sell", "sell"]
    assert kinds(events) == [
        "OPEN BUY", "OPEN BUY", "CLOSE BUY", "CLOSE BUY", "OPEN SELL", "OPEN SELL"
    ]  # fmt: skip
    second = [i for i, d in acted.items() if d == "buy"][1]
    assert bot.positions[second] == 1
    assert len(bot.orders) == 2


def test_rsi_levels_buys_the_cross_back_over_30_and_closes_at_50():
    falling = ramp(1.1, -0.0005, 30)
    closes = falling + [round(falling[-1] + 0.005, 5)] + ramp(falling[-1] + 0.005, 0.0005, 30)
    _, _, events, acted = run(RsiLevelsBot, closes)
    assert list(acted.items())[0] == (30, "buy")
    assert list(acted.values()) == ["buy", "close"]
    assert not is_stop_fill(events[1])
    # Oversold all along: RSI never crosses back over 30, so no entry.
    assert run(RsiLevelsBot, falling + ramp(falling[-1], -0.0005, 30))[3] == {}


def test_rsi_session_trades_only_07_to_16_utc_never_on_friday_and_exits_after_6_bars():
    # A slow slide from Thursday 00:00 to Friday's end: RSI 7 stays under 20 throughout.
    bot, bars, events, acted = run(RsiSessionBot, ramp(1.1, -0.00005, 48), start="2024-01-04 00:00")
    entries = [i for i, d in acted.items() if d == "buy"]
    assert entries
    for i in entries:
        opens_at = bars[i].end_ms  # Time[0], when the EA acts
        assert utc_ms("2024-01-04 07:00") <= opens_at < utc_ms("2024-01-04 16:00")
    for i, d in acted.items():
        if d == "close":
            assert i - max(e for e in entries if e < i) == 6
    assert "sell" not in acted.values()


def test_stochastic_cross_buys_exactly_where_k_crosses_d_under_20_when_flat():
    bars = real_bars("EURUSD", "H1")
    bot = StochasticCrossBot(bars)
    run_bot(bot, bars)
    high, low, close = (np.array([getattr(b, f) for b in bars]) for f in ("high", "low", "close"))
    k, d = indicators.stochastic(high, low, close, 5, 3, 3)
    k2, d2 = np.roll(k, 1), np.roll(d, 1)
    flat = np.array(bot.positions) == 0
    wanted_buy = flat & (k < 20) & (d < 20) & (k2 <= d2) & (k > d)
    wanted_sell = flat & (k > 80) & (d > 80) & (k2 >= d2) & (k < d)
    wanted_buy[0] = wanted_sell[0] = False
    decisions = np.array(bot.decisions)
    assert wanted_buy.sum() > 30
    assert ((decisions == "buy") == wanted_buy).all()
    assert ((decisions == "sell") == wanted_sell).all()


def test_stochastic_cross_closes_after_12_bars():
    # Buy a bounce in a slide, then a flat market: neither 20-pip stop nor 30-pip target.
    falling = ramp(1.1, -0.0005, 30)
    bounce = [round(falling[-1] + 0.0003, 5)]
    bot, _, events, acted = run(StochasticCrossBot, falling[:-4] + [falling[-4]] * 4 + bounce * 20)
    closes = [i for i, d in acted.items() if d == "close"]
    buys = [i for i, d in acted.items() if d == "buy"]
    assert closes and all(c - max(b for b in buys if b < c) == 12 for c in closes)


def test_stochastic_trend_buys_a_pullback_above_ema_50_trails_and_exits_over_80():
    up = ramp(1.0, 0.0005, 100)
    pullback = ramp(up[-1], -0.0008, 6)
    _, _, events, acted = run(StochasticTrendBot, up + pullback + ramp(pullback[-1], 0.0005, 40))
    assert list(acted.values()) == ["buy", "close"]
    assert "MODIFY BUY" in kinds(events)
    modified = [e["sl"] for e in events if e["action"] == "MODIFY"]
    assert modified == sorted(modified) and modified[0] > events[0]["sl"]
    down = ramp(1.1, -0.0005, 100)
    pullback = ramp(down[-1], -0.0008, 6)
    assert run(StochasticTrendBot, down + pullback + ramp(pullback[-1], 0.0005, 40))[3] == {}


def test_macd_buys_a_signal_cross_below_zero_and_only_stops_end_its_trades():
    bot, _, events, acted = run(MacdSignalBot, ramp(1.1, -0.0005, 60) + ramp(1.07, 0.0005, 60))
    assert acted == {60: "buy"}
    assert all(is_stop_fill(e) for e in events if e["action"] == "CLOSE")
    # Above zero an upward signal cross is no buy; the dip's downward one is a sell.
    rise = ramp(1.1, 0.0005, 60) + ramp(1.13, -0.0001, 5) + ramp(1.1295, 0.0005, 20)
    assert list(run(MacdSignalBot, rise)[3].values()) == ["sell"]


def test_bollinger_breakout_buys_the_break_and_trails_its_stop():
    closes = FLAT + [1.102] + ramp(1.102, 0.0005, 20) + ramp(1.112, -0.001, 15)
    _, _, events, acted = run(BollingerBreakoutBot, closes)
    assert list(acted.items())[0] == (30, "buy")
    stops = [e["sl"] for e in events if e["action"] == "MODIFY" and e["order_type"] == "BUY"]
    assert len(stops) >= 3 and stops == sorted(stops)
    closed = next(e for e in events if e["action"] == "CLOSE")
    assert is_stop_fill(closed)  # the trailed stop took it out, not the middle band
    assert run(BollingerBreakoutBot, FLAT * 2)[3] == {}


def test_bollinger_reversion_buys_the_close_back_inside_and_exits_at_the_middle():
    closes = FLAT + [1.098, 1.0995] + ramp(1.0995, 0.0001, 20)
    _, _, _, acted = run(BollingerReversionBot, closes)
    assert list(acted.items())[0] == (31, "buy")  # not on bar 30, the close outside
    assert list(acted.values()) == ["buy", "close"]


def test_cci_buys_above_100_and_closes_when_it_crosses_zero():
    _, _, _, acted = run(CciBreakoutBot, FLAT + [1.102] * 3 + [1.098] * 5)
    assert acted == {30: "buy", 33: "close"}


def test_williams_r_stops_and_reverses():
    closes = ramp(1.1, -0.0005, 30) + ramp(1.085, 0.0005, 30) + [1.099] * 3
    bot, _, events, acted = run(WilliamsReversalBot, closes)
    assert acted == {30: "buy", 60: "sell"}
    assert bot.positions[60] == 1 and kinds(events) == ["OPEN BUY", "CLOSE BUY", "OPEN SELL"]


def test_envelopes_fade_a_close_below_the_band_but_not_in_the_rollover_hours():
    closes = FLAT + [1.098] + [1.1] * 3  # 1.098 is 0.18% under the SMA 14
    assert run(EnvelopeReversionBot, closes, start="2024-01-02 00:00")[3] == {
        30: "buy",
        31: "close",
    }
    # The same bars from 16:00: bar 30 closes at 23:00 UTC.
    assert run(EnvelopeReversionBot, closes, start="2024-01-01 16:00")[3] == {}


def test_envelopes_time_exit_after_24_bars():
    closes = FLAT + [1.098] * 30
    _, _, _, acted = run(EnvelopeReversionBot, closes, start="2024-01-02 00:00")
    assert list(acted.items())[:2] == [(30, "buy"), (54, "close")]


def test_adx_buys_a_di_cross_in_a_strong_trend_only_after_its_warm_up():
    bot, _, events, acted = run(AdxDiCrossBot, ramp(1.2, -0.0005, 330) + ramp(1.035, 0.002, 20))
    assert list(acted.values()) == ["buy"] and min(acted) > 330
    assert kinds(events).count("MODIFY BUY") >= 3
    assert bot.min_bars == indicators.adx_warmup(14)
    # The same turn 250 bars in: ADX's averages have not warmed up, so no decision.
    assert run(AdxDiCrossBot, ramp(1.2, -0.0005, 250) + ramp(1.075, 0.002, 20))[3] == {}


def test_momentum_buys_a_cross_over_100_in_an_uptrend_but_never_on_monday():
    up = ramp(1.0, 0.0003, 130)
    dip = ramp(up[-1], -0.0005, 15)
    closes = up + dip + ramp(dip[-1], 0.0005, 20)
    # From Monday 00:00 the cross comes on Sunday; from Tuesday, on a Monday morning.
    assert list(run(MomentumTrendBot, closes, start="2024-01-01 00:00")[3].values()) == ["buy"]
    assert run(MomentumTrendBot, closes, start="2024-01-02 00:00")[3] == {}


def test_triple_confirm_enters_when_all_three_first_agree():
    bot, bars, _, acted = run(TripleConfirmBot, ramp(1.1, -0.0003, 80) + ramp(1.076, 0.0003, 80))
    assert list(acted.values()) == ["sell", "buy"]
    close = np.array([b.close for b in bars])
    sell, buy = sorted(acted)
    for i, side in ((sell, -1), (buy, 1)):
        trend = indicators.ema(close, 20)[i] - indicators.ema(close, 50)[i]
        main, signal = (a[i] for a in indicators.macd(close))
        assert np.sign(trend) == np.sign(indicators.rsi(close, 14)[i] - 50) == side
        assert np.sign(main - signal) == side


def test_asian_range_breakout_buys_the_london_morning_break_once_and_is_flat_by_20():
    night = [1.1, 1.101, 1.1, 1.1005, 1.1, 1.101, 1.1, 1.1005]  # 00:00-07:00, high 1.1012
    breaks = night + [1.1005, 1.1015, 1.1018] + [1.1018] * 13
    closes = [1.1] * 24 + breaks + night + [1.1005] * 16
    bot, bars, _, acted = run(SessionBreakoutBot, closes, start="2024-01-01 00:00")
    assert list(acted.values()) == ["buy", "close"]
    buy, close = sorted(acted)
    assert bars[buy].end_ms == utc_ms("2024-01-02 10:00")
    assert bars[close].end_ms == utc_ms("2024-01-02 20:00")
    # On a Friday, or breaking only at 14:00, it stays out.
    friday = [1.1] * 24 + breaks
    assert run(SessionBreakoutBot, friday, start="2024-01-04 00:00")[3] == {}
    late = [1.1] * 24 + night + [1.1005] * 6 + [1.1015, 1.1018] + [1.1018] * 13
    assert run(SessionBreakoutBot, late, start="2024-01-01 00:00")[3] == {}
