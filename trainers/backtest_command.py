"""`botcopier backtest MODEL.json [MODEL2.json …] BARS_OR_TICKS.csv`: the strategy EA on history.

Several models trade as an ensemble (probabilities and thresholds averaged). The market
file is a bars CSV or a ticks CSV (bars are built from it, see `backtest_data`); only the
models' symbol and timeframe are traded. Prints a summary and ends with one ``RESULT``
line; ``--report`` writes the figures and every trade as JSON, ``--metrics-file`` appends
the figures as a row of the seed's ``metrics.csv``, to set beside the live ones.

Money: ``--point`` is the price of one point (default 0.00001, EURUSD's fifth digit) and
``--money-per-point`` what a point is worth on one lot (default 1.0: EURUSD, 100,000 units,
in USD). A pip, for the pip inputs, is ten points unless ``--pip-size`` says otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from botcopier.config import Settings


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "backtest",
        help="trade model.json(s) on a bars or ticks CSV as the generated EA would",
        description="Simulates the generated strategy EA bar by bar: decisions at each bar's "
        "open from the bars closed so far, fills at bid/ask with the bar's spread, stops "
        "from the bar's high and low (stop loss first when both are inside one bar), "
        "break-even and trailing from each bar's close. Several models: an ensemble.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="one or more model files, then the bars or ticks CSV")  # fmt: skip
    parser.add_argument("--report", type=Path, help="write figures and trades as JSON here")
    parser.add_argument("--metrics-file", type=Path, help="append a seed metrics.csv row here")
    parser.add_argument("--from", dest="start", help="trade from this time (UTC; MT4 or ISO)")
    parser.add_argument("--until", help="ignore bars opening after this time (UTC)")
    money = parser.add_argument_group("account")
    money.add_argument("--point", type=float, default=0.00001, help="default 0.00001")
    money.add_argument("--pip-size", type=float, help="default ten points")
    money.add_argument("--money-per-point", type=float, default=1.0,
                       help="value of one point on one lot (default 1.0)")  # fmt: skip
    money.add_argument("--commission-per-lot", type=float, default=0.0,
                       help="round trip, money per lot (default 0)")  # fmt: skip
    money.add_argument("--balance", type=float, default=10_000.0,
                       help="initial balance, for drawdown in %% (default 10000)")  # fmt: skip
    ea = parser.add_argument_group("EA inputs (as the generated EA's)")
    ea.add_argument("--min-lots", type=float, default=0.01)
    ea.add_argument("--max-lots", type=float, default=0.10)
    ea.add_argument("--lot-step", type=float, default=0.01)
    ea.add_argument("--stop-loss-pips", type=float, default=0.0, help="without regressors")
    ea.add_argument("--take-profit-pips", type=float, default=0.0, help="without regressors")
    ea.add_argument("--break-even-pips", type=float, default=0.0)
    ea.add_argument("--trailing-pips", type=float, default=0.0)
    ea.add_argument("--uncertainty-margin", type=float, default=0.05)
    parser.set_defaults(handler=run_backtest_command)


def _say(line: str) -> None:
    print(line, flush=True)


def inputs_from(args: argparse.Namespace):
    from botcopier.codegen.strategy import StrategyInputs
    from botcopier.trainers.backtest import BacktestError, BacktestInputs

    if args.point <= 0 or (args.pip_size is not None and args.pip_size <= 0):
        raise BacktestError("--point and --pip-size must be > 0")
    if not 0 < args.min_lots <= args.max_lots or args.lot_step <= 0:
        raise BacktestError("need 0 < --min-lots <= --max-lots and --lot-step > 0")
    strategy = StrategyInputs(
        min_lots=args.min_lots,
        max_lots=args.max_lots,
        lot_step=args.lot_step,
        stop_loss_pips=args.stop_loss_pips,
        take_profit_pips=args.take_profit_pips,
        break_even_pips=args.break_even_pips,
        trailing_pips=args.trailing_pips,
        uncertainty_margin=args.uncertainty_margin,
        pip_size=args.pip_size if args.pip_size is not None else args.point * 10,
    )
    return BacktestInputs(
        strategy=strategy,
        point=args.point,
        money_per_point_per_lot=args.money_per_point,
        commission_per_lot=args.commission_per_lot,
        initial_balance=args.balance,
    )


def run_backtest_command(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.bridge.simulator.market import parse_time_ms
    from botcopier.trainers import backtest_report as out
    from botcopier.trainers.backtest import BacktestError, check_models, run_backtest
    from botcopier.trainers.backtest_data import load_market
    from botcopier.trainers.model_document import load_model

    if len(args.files) < 2:
        raise BacktestError("give at least one model file and then the bars or ticks CSV")
    inputs = inputs_from(args)
    *model_paths, market_path = args.files
    models = [load_model(path) for path in model_paths]
    symbol, timeframe = check_models(models)
    try:
        start_ms = parse_time_ms(args.start) if args.start else None
        until_ms = parse_time_ms(args.until) if args.until else None
    except ValueError as exc:
        raise BacktestError(str(exc)) from exc
    bars, kind = load_market(
        market_path, symbol=symbol, timeframe_minutes=timeframe, point=inputs.point
    )
    if until_ms is not None:
        bars = bars[bars["time_ms"] <= until_ms]
    names = ", ".join(f"{m['name']} {m.get('version', '')}".strip() for m in models)
    _say(f"backtesting {names} on {len(bars)} {symbol} M{timeframe} bars from {kind}")
    result = run_backtest(models, bars, inputs, progress=_say, start_ms=start_ms)
    doc = out.report(models, result, inputs, kind)
    for line in out.describe(doc):
        _say(line)
    if args.report:
        out.write_report(doc, args.report)
        _say(f"report: {args.report}")
    if args.metrics_file:
        out.metrics_row(doc, models[0]["bot"].get("magic") or 0, args.metrics_file)
        _say(f"metrics row appended to {args.metrics_file}")
    _say(out.result_line(doc))
    return 0
