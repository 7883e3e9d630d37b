"""`botcopier backtest`: the strategy EA on history, checked against trades computed by hand."""

from __future__ import annotations

import csv
import json
import math

import pandas as pd
import pytest

from botcopier.cli import main
from botcopier.codegen.strategy import StrategyInputs
from botcopier.trainers.backtest import BacktestError, BacktestInputs, run_backtest
from botcopier.trainers.backtest_data import MarketError, load_market
from botcopier.trainers.backtest_report import report
from botcopier.trainers.model_document import save_model, validate_model
from tests.clone_data import START_MS, simulated_bots

HOUR_MS = 3_600_000
PIP = 0.0001


def _scores() -> dict:
    per_class = {c: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
                 for c in ("none", "buy", "sell")}  # fmt: skip
    return {"rows": 10, "bar_agreement": 1.0, "entry_macro_f1": 1.0, "per_class": per_class}


def momentum_model(**extra) -> dict:
    """A hand-made linear clone on ``ret_1`` alone, so steep that its decisions are obvious.

    z = ret_1 / 0.0001; logits: none 0, buy 100 z - 50, sell -100 z - 50. A close that moved
    up (down) by a pip or more from the one before decides buy (sell) with probability 1.0;
    an unchanged close decides none. Risk parity gives EURUSD a weight of 0.25 of two
    symbols: 0.5 of an equal split.
    """
    doc = {
        "format": "botcopier.model",
        "format_version": 1,
        "name": "momentum",
        "version": "20240101T000000Z-00000000",
        "created_ms": START_MS,
        "bot": {"account": 7, "magic": 4242, "symbol": "EURUSD", "timeframe_minutes": 60},
        "classes": ["none", "buy", "sell"],
        "features": [{"name": "ret_1", "mql4": "Close[1]/Close[2]-1.0", "warmup": 1}],
        "scaler": {"mean": [0.0], "scale": [0.0001]},
        "estimator": {"family": "linear", "coefficients": [[0.0], [100.0], [-100.0]],
                      "intercepts": [0.0, -50.0, -50.0]},
        "thresholds": {"buy": 0.5, "sell": 0.5},
        "metrics": {"validation": _scores(), "test": None},
        "training": {"from_ms": 0, "until_ms": 1, "rows": 10, "class_counts": {"none": 10}},
        "feature_distributions": {"ret_1": {"edges": [0.0], "fractions": [0.5, 0.5]}},
        "importance": {"method": "hand", "values": {"ret_1": 1.0}},
        "mode": "standard",
        "feature_flags": {},
        "risk_parity": {"symbols": ["EURUSD", "GBPUSD"], "weights": [0.25, 0.75],
                        "covariance": [[1.0, 0.0], [0.0, 1.0]]},
        **extra,
    }  # fmt: skip
    return validate_model(doc)


def P(pips: float) -> float:  # noqa: N802 (a price written in pips above 1.1000)
    return round(1.1 + pips * PIP, 8)


# Bars in pips above 1.1000 (bid): open, high, low, close, spread in points. The trades, by
# hand (buys at the ask = bid + spread; sells closed at the ask; 1 pip = 10 points):
#
#  row 2 up 10 -> T1 buy at bar 3 open 10 + 1 = 11; SL 11 - 20 = -9, TP 11 + 40 = 51.
#      Bar 3's low -10 reaches -9: SL at -9.  -20 pips.
#  row 4 down -> T2 sell at bar 5 open 0; SL 20, TP -40. Bar 5's low -41.5 is -39.5 on the
#      ask (spread 20 points): no TP. Bar 6 (spread 10): ask low -40.5: TP at -40.  +40 pips.
#  row 7 up -> T3 buy at bar 8's 11; SL -9, TP 51. Bar 8 spans -12..55, both: SL first.  -20.
#  row 9 down -> T4 sell at bar 10's 0; SL 20. Bar 11 opens at 30 (ask 31), over the stop:
#      filled at the open's ask, 31.  -31 pips.
#  row 11 up -> T5 buy at bar 12's 31; SL 11, TP 71. Row 12 down: at bar 13's open the EA
#      reverses: T5 closed at the bid 20 (-11 pips) and T6 sold at 20; SL 40, TP -20.
#  T6: bar 13 closes at 3 (ask 4): 16 pips in profit >= break-even 15: SL -> 20 (the open).
#      Bar 14 closes at -8 (ask -7): 27 pips >= trailing 25: SL -> -7 + 25 = 18.
#      Bar 15 closes at -12 (ask -11): SL -> 14. Bar 16's high 14 (ask 15) hits it at 14.  +6.
#  row 17 up -> T7 buy at bar 18's -1; SL -21. Bar 18 closes at 16: 17 pips: break-even,
#      SL -> -1. Bar 19's low -2 hits it at -1.  0 pips.
#  row 20 down -> T8 sell at bar 21's 6. The data ends: closed at bar 22's close 2, ask 3.  +3.
#
# Lots: probability 1.0 -> max_lots 0.2, times the risk weight 0.5 -> 0.1 lots. At 1.0 per
# point per lot, a pip is 1.0 on 0.1 lots; commission 7.0 per lot round trip is 0.7 a trade.
# Profits: -20.7, 39.3, -20.7, -31.7, -11.7, 5.3, -0.7, 2.3.
BARS = [
    (0, 5, -5, 0, 10), (0, 5, -5, 0, 10), (0, 12, -2, 10, 10), (10, 12, -10, 10, 10),
    (10, 11, -1, 0, 10), (0, 1, -41.5, 0, 20), (0, 1, -41.5, 0, 10), (0, 10, 0, 10, 10),
    (10, 55, -12, 10, 10), (10, 10, 0, 0, 10), (0, 5, -5, 0, 10), (30, 32, 28, 30, 10),
    (30, 35, 18, 20, 10), (20, 21, 3, 3, 10), (4, 6, -9, -8, 10), (-8, -7, -14, -12, 10),
    (-12, 14, -13, -12, 10), (-12, -1, -13, -2, 10), (-2, 16, -3, 16, 10),
    (16, 17, -2, 16, 10), (16, 17, 5, 6, 10), (6, 8, 2, 4, 10), (4, 5, 1, 2, 10),
]  # fmt: skip
# side, bar it opened at, entry, hour it closed at (a bar's end for a stop inside it, its
# open for a gap or a reversal), exit, reason, pips
EXPECTED = [
    (1, 3, 11, 4, -9, "sl", -20), (-1, 5, 0, 7, -40, "tp", 40), (1, 8, 11, 9, -9, "sl", -20),
    (-1, 10, 0, 11, 31, "sl", -31), (1, 12, 31, 13, 20, "reverse", -11),
    (-1, 13, 20, 17, 14, "sl", 6), (1, 18, -1, 20, -1, "sl", 0), (-1, 21, 6, 23, 3, "end", 3),
]  # fmt: skip
INPUTS = BacktestInputs(
    strategy=StrategyInputs(min_lots=0.1, max_lots=0.2, lot_step=0.01, stop_loss_pips=20,
                            take_profit_pips=40, break_even_pips=15, trailing_pips=25),
    commission_per_lot=7.0,
)  # fmt: skip


def hand_bars() -> pd.DataFrame:
    return pd.DataFrame(
        [{"symbol": "EURUSD", "time_ms": START_MS + k * HOUR_MS, "timeframe_minutes": 60,
          "open": P(o), "high": P(h), "low": P(low), "close": P(c), "tick_volume": 100,
          "spread_points": s} for k, (o, h, low, c, s) in enumerate(BARS)]
    )  # fmt: skip


def test_every_trade_matches_the_hand_computed_one():
    result = run_backtest([momentum_model()], hand_bars(), INPUTS)
    assert len(result.trades) == len(EXPECTED)
    for trade, (side, opened, entry, closed, exit_, reason, pips) in zip(
        result.trades, EXPECTED, strict=True
    ):
        assert (trade.side, trade.reason, trade.lots) == (side, reason, 0.1)
        assert trade.open_time_ms == START_MS + opened * HOUR_MS
        assert trade.close_time_ms == START_MS + closed * HOUR_MS
        assert trade.open_price == pytest.approx(P(entry), abs=1e-9)
        assert trade.close_price == pytest.approx(P(exit_), abs=1e-9)
        assert trade.profit == pytest.approx(pips * 1.0 - 0.7, abs=1e-6)
    # The last level each had: T6's stop trailed 40 -> 20 (break-even) -> 18 -> 14.
    assert result.trades[5].sl == pytest.approx(P(14), abs=1e-9)
    assert result.trades[6].sl == pytest.approx(P(-1), abs=1e-9)


def test_the_totals_are_the_hand_computed_ones():
    doc = report([momentum_model()], run_backtest([momentum_model()], hand_bars(), INPUTS),
                 INPUTS, "bars")  # fmt: skip
    f = doc["figures"]
    assert f["trade_count"] == 8
    assert f["win_rate"] == pytest.approx(3 / 8)  # T2, T6, T8
    # Gross profit 39.3 + 5.3 + 2.3 = 46.9; gross loss 20.7 + 20.7 + 31.7 + 11.7 + 0.7 = 85.5.
    assert f["profit_factor"] == pytest.approx(46.9 / 85.5, rel=1e-9)
    assert f["total_profit"] == pytest.approx(-38.6, abs=1e-9)
    assert f["avg_profit"] == pytest.approx(-4.825, abs=1e-9)
    # Equity -20.7, 18.6, -2.1, -33.8, -45.5, -40.2, -40.9, -38.6: from the peak 18.6 down
    # to -45.5 is 64.1, of a peak balance of 10,018.6.
    assert f["max_drawdown"] == pytest.approx(64.1, abs=1e-9)
    assert f["max_drawdown_pct"] == pytest.approx(64.1 / 10_018.6 * 100, rel=1e-9)
    # Deviations from -4.825: -15.875, 44.125, -15.875, -26.875, -6.875, 10.125, 4.125,
    # 7.125; their squares sum to 3390.875; population std sqrt(3390.875 / 8) = 20.5878.
    assert f["sharpe"] == pytest.approx(-4.825 / math.sqrt(3390.875 / 8), rel=1e-9)
    assert f["sharpe"] == pytest.approx(-0.23436, abs=1e-5)
    assert doc["closes_by_reason"] == {"sl": 5, "tp": 1, "reverse": 1, "end": 1}


def test_without_spread_or_commission_the_same_bars_trade_differently_as_computed():
    """Spread 0: T2's TP is hit in bar 5 already (bid low -41.5), entries at the bid."""
    bars = hand_bars().assign(spread_points=0)
    terms = BacktestInputs(strategy=INPUTS.strategy)
    trades = run_backtest([momentum_model()], bars, terms).trades
    assert trades[0].open_price == pytest.approx(P(10), abs=1e-9)
    assert trades[0].profit == pytest.approx(-20.0, abs=1e-6)  # SL 10 - 20 = -10, no fee
    assert trades[1].close_time_ms == START_MS + 6 * HOUR_MS
    assert trades[1].profit == pytest.approx(40.0, abs=1e-6)


def test_the_position_feature_is_the_simulated_position():
    """A model that buys only when flat: after its first entry it never adds or reverses."""
    model = momentum_model(
        features=[{"name": "ret_1", "mql4": "Close[1]/Close[2]-1.0", "warmup": 1},
                  {"name": "position", "mql4": "(double)BcPositionSide(MagicNumber)",
                   "warmup": 0}],
        scaler={"mean": [0.0, 0.0], "scale": [0.0001, 1.0]},
        estimator={"family": "linear", "coefficients": [[0.0, 0.0], [100.0, -1000.0],
                   [0.0, 0.0]], "intercepts": [0.0, -50.0, -1000.0]},
        feature_distributions={"ret_1": {"edges": [0.0], "fractions": [0.5, 0.5]},
                               "position": {"edges": [0.0], "fractions": [0.5, 0.5]}},
    )  # fmt: skip
    bars = hand_bars()
    trades = run_backtest([model], bars, BacktestInputs()).trades
    # Flat, row 2 buys; nothing closes it but the end of the data (no stops, no sells).
    assert [(t.open_time_ms, t.reason) for t in trades] == [(START_MS + 3 * HOUR_MS, "end")]


def test_an_ensemble_averages_and_mismatched_markets_are_refused():
    def quiet(threshold: float) -> dict:  # never acts: p(none) ~ 1
        return momentum_model(name="quiet", thresholds={"buy": threshold, "sell": threshold},
                              estimator={"family": "linear", "coefficients": [[0.0]] * 3,
                                         "intercepts": [0.0, -50.0, -50.0]})  # fmt: skip

    # Entry probabilities average to 0.5: below thresholds averaging (0.5 + 0.6) / 2 = 0.55,
    # at or above (0.5 + 0.4) / 2 = 0.45 (then lots are at their minimum, 0.1, as before).
    assert run_backtest([momentum_model(), quiet(0.6)], hand_bars(), INPUTS).trades == []
    trades = run_backtest([momentum_model(), quiet(0.4)], hand_bars(), INPUTS).trades
    assert [(t.reason, t.lots) for t in trades] == [(e[5], 0.1) for e in EXPECTED]
    other = momentum_model(bot={"symbol": "GBPUSD", "timeframe_minutes": 60})
    with pytest.raises(BacktestError, match="one chart"):
        run_backtest([momentum_model(), other], hand_bars(), INPUTS)


def test_clear_errors_for_unknown_features_and_too_few_bars():
    odd = momentum_model(
        features=[{"name": "moon_phase", "mql4": "0", "warmup": 0}],
        feature_distributions={},
        importance={"method": "hand", "values": {}},
    )
    with pytest.raises(BacktestError, match=r"does not compute: \['moon_phase'\]"):
        run_backtest([odd], hand_bars(), INPUTS)
    with pytest.raises(BacktestError, match="at least 3"):
        run_backtest([momentum_model()], hand_bars().iloc[:2], INPUTS)


def _write_bars(path, frame: pd.DataFrame) -> None:
    frame.assign(time=frame["time_ms"], spread=frame["spread_points"])[
        ["symbol", "time", "open", "high", "low", "close", "spread"]
    ].to_csv(path, index=False)


def test_the_command_prints_writes_the_report_and_a_seed_metrics_row(tmp_path, capsys):
    model = save_model(momentum_model(), tmp_path / "momentum.model.json")
    bars = tmp_path / "bars.csv"
    _write_bars(bars, hand_bars())
    out, metrics = tmp_path / "report.json", tmp_path / "metrics.csv"
    args = ["backtest", str(model), str(bars), "--report", str(out), "--metrics-file",
            str(metrics), "--min-lots", "0.1", "--max-lots", "0.2", "--stop-loss-pips", "20",
            "--take-profit-pips", "40", "--break-even-pips", "15", "--trailing-pips", "25",
            "--commission-per-lot", "7"]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 0  # a second row under the same header
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("RESULT ")
    fields = dict(item.split("=", 1) for item in lines[-1].split()[1:])
    assert fields["trades"] == "8" and fields["win_rate"] == "0.3750"
    assert fields["max_drawdown"] == "64.10" and fields["total_profit"] == "-38.60"
    doc = json.loads(out.read_text())
    assert [t["reason"] for t in doc["trades"]] == [e[5] for e in EXPECTED]
    assert doc["trades"][0]["side"] == "buy"
    rows = list(csv.reader(metrics.open(), delimiter=";"))
    assert rows[0] == ["time", "magic", "win_rate", "avg_profit", "trade_count", "drawdown",
                       "sharpe"]  # fmt: skip
    assert rows[1] == rows[2]
    assert rows[1][:5] == ["2024.01.01 23:00:00", "4242", "0.375000", "-4.825000", "8"]
    assert rows[1][5] == "64.100000"


def test_ticks_become_bars_and_trade_as_those_bars_do(tmp_path):
    """Each hand bar as four ticks (open, high, low, close): the same eight trades."""
    path = tmp_path / "ticks_EURUSD.csv"
    with path.open("w") as out:
        out.write("time;bid;ask\n")
        for k, (o, h, low, c, s) in enumerate(BARS):
            for n, pips in enumerate((o, h, low, c)):
                ask = P(pips) + (s if n == 0 else 10) * 0.00001
                out.write(f"{START_MS + k * HOUR_MS + n * 60_000};{P(pips)};{ask:.6f}\n")
    bars, kind = load_market(path, symbol="EURUSD", timeframe_minutes=60, point=0.00001)
    assert kind == "ticks" and len(bars) == len(BARS)
    expected = hand_bars()
    for column in ("time_ms", "open", "high", "low", "close", "spread_points"):
        assert bars[column].tolist() == pytest.approx(expected[column].tolist())
    trades = run_backtest([momentum_model()], bars, INPUTS).trades
    assert [t.reason for t in trades] == [e[5] for e in EXPECTED]


def test_missing_market_and_bad_models_fail_with_the_reason(tmp_path, capsys):
    bars = tmp_path / "bars.csv"
    _write_bars(bars, hand_bars())
    with pytest.raises(MarketError, match="no GBPUSD bars"):
        load_market(bars, symbol="GBPUSD", timeframe_minutes=60, point=0.00001)
    with pytest.raises(MarketError, match="no EURUSD bars of 15 minutes"):
        load_market(bars, symbol="EURUSD", timeframe_minutes=15, point=0.00001)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "botcopier.model"')
    assert main(["backtest", str(broken), str(bars)]) == 2
    assert "not JSON" in capsys.readouterr().err
    model = save_model(momentum_model(), tmp_path / "m.json")
    assert main(["backtest", str(model), str(bars), "--from", "2030.01.01 00:00"]) == 2
    assert "no bar to trade" in capsys.readouterr().err


def test_a_lightgbm_clone_of_the_ma_cross_bot_trades_about_as_often_as_the_bot():
    from botcopier.trainers.batch import TrainOptions, train_clone
    from botcopier.trainers.dataset import build_dataset

    bars, events = simulated_bots(6_000)
    data = build_dataset(bars, events["ma-cross"])
    bot = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}
    doc = train_clone(data, bot, "ma", TrainOptions(family="lightgbm")).document
    start_ms = int(data.time_ms.iloc[-round(len(data) * 0.3)])  # the held-out test window
    inputs = BacktestInputs(strategy=StrategyInputs(min_lots=0.1, max_lots=0.1,
                                                    stop_loss_pips=60))  # as the bot  # fmt: skip
    trades = run_backtest([doc], bars, inputs, start_ms=start_ms).trades
    # The bot acts at a bar's close, which is the next bar's open the backtest acts at.
    bot_opens = [e for e in events["ma-cross"]
                 if e["action"] == "OPEN" and e["event_time_ms"] >= start_ms]  # fmt: skip
    assert len(bot_opens) >= 50
    assert abs(len(trades) - len(bot_opens)) <= 3
    bot_closes = [e for e in events["ma-cross"]
                  if e["action"] == "CLOSE" and e["event_time_ms"] > start_ms]  # fmt: skip
    bot_profit = sum(e["profit"] for e in bot_closes)
    # Fills differ only by which bar's spread they pay: within a pip (1.0) a trade on average.
    assert abs(sum(t.profit for t in trades) - bot_profit) / len(trades) < 1.0


# Three rising closes, then a falling one (pips, open = the close before, spread 1 pip): the
# momentum model buys on rows 2, 3 and 4 and sells on row 5.
PYRAMID_BARS = [(0, 0, 0, 0, 10), (0, 0, 0, 0, 10), (0, 10, 0, 10, 10), (10, 20, 10, 20, 10),
                (20, 30, 20, 30, 10), (30, 30, 20, 20, 10), (20, 20, 20, 20, 10)]  # fmt: skip


def pyramid_bars() -> pd.DataFrame:
    return hand_bars().iloc[: len(PYRAMID_BARS)].assign(
        open=[P(b[0]) for b in PYRAMID_BARS], high=[P(b[1]) for b in PYRAMID_BARS],
        low=[P(b[2]) for b in PYRAMID_BARS], close=[P(b[3]) for b in PYRAMID_BARS],
    )  # fmt: skip


def test_a_pyramiding_model_adds_orders_up_to_its_max_tickets_and_closes_them_all():
    """Row 2 buys (bar 3's ask 11), row 3 adds a second order (bar 4's ask 21), row 4 is
    refused at two orders, row 5 reverses: both buys close at bar 6's bid 20, a sell opens."""
    result = run_backtest([momentum_model(max_tickets=2)], pyramid_bars(), BacktestInputs())
    got = [(t.side, t.open_time_ms, t.open_price, t.close_time_ms, t.reason) for t in result.trades]
    at = [START_MS + k * HOUR_MS for k in range(8)]
    assert got == [(1, at[3], P(11), at[6], "reverse"), (1, at[4], P(21), at[6], "reverse"),
                   (-1, at[6], P(20), at[7], "end")]  # fmt: skip
    assert [t.close_price for t in result.trades[:2]] == [P(20), P(20)]
    assert dict(result.decisions)[at[3]] == "buy" and dict(result.decisions)[at[4]] == "none"
    # One order at a time (the default): row 3's entry on the side held does nothing.
    single = run_backtest([momentum_model()], pyramid_bars(), BacktestInputs())
    assert [(t.side, t.open_time_ms) for t in single.trades] == [(1, at[3]), (-1, at[6])]
    assert dict(single.decisions)[at[3]] == "none"
