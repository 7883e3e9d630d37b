"""The bot zoo: rule-based EAs in the style of common MT4 retail EAs, to be cloned.

Each bot is a `ZooBot` (`base`) attached to a `Chart` (`chart`) of one history and reading
MT4's built-in indicators by shift at standard periods, decided on closed bars. Families:
`crosses` (MA and MACD line crosses, a pyramid), `oscillators` (RSI, stochastic, CCI,
Williams %R), `bands` (Bollinger, envelopes), `trend` (ADX, a conjunction), `sessions`
(clock and weekday rules). `ZOO` maps each bot's name (its order comment) to its class;
`runner` runs one over bars into trade events.

Stops given in pips follow MT4's convention, a pip being 10 points on 3- and 5-digit quotes
and one point otherwise: on GOOG (2 digits) a 20-pip stop is $0.20, tight for a daily bar,
so those bots stop out and re-enter more there than on EURUSD.

Examples
--------
>>> len(ZOO) >= 12, len({bot.magic for bot in ZOO.values()}) == len(ZOO)
(True, True)
>>> ZOO["ema-8-21"].magic
2101
"""

from botcopier.bridge.simulator.zoo.bands import (
    BollingerBreakoutBot,
    BollingerReversionBot,
    EnvelopeReversionBot,
)
from botcopier.bridge.simulator.zoo.base import ZooBot, crossed_above, crossed_below
from botcopier.bridge.simulator.zoo.chart import Chart, ChartError
from botcopier.bridge.simulator.zoo.crosses import (
    EmaCrossBot,
    MacdSignalBot,
    PyramidBot,
    SmaTrendCrossBot,
)
from botcopier.bridge.simulator.zoo.oscillators import (
    CciBreakoutBot,
    RsiLevelsBot,
    RsiSessionBot,
    StochasticCrossBot,
    StochasticTrendBot,
    WilliamsReversalBot,
)
from botcopier.bridge.simulator.zoo.registry import ZOO
from botcopier.bridge.simulator.zoo.runner import (
    ZooRun,
    make_zoo_bot,
    run_bot,
    run_zoo_bot,
)
from botcopier.bridge.simulator.zoo.sessions import SessionBreakoutBot
from botcopier.bridge.simulator.zoo.trend import AdxDiCrossBot, MomentumTrendBot, TripleConfirmBot

__all__ = [
    "ZOO",
    "AdxDiCrossBot",
    "CciBreakoutBot",
    "EnvelopeReversionBot",
    "MomentumTrendBot",
    "WilliamsReversalBot",
    "BollingerBreakoutBot",
    "BollingerReversionBot",
    "Chart",
    "ChartError",
    "EmaCrossBot",
    "MacdSignalBot",
    "PyramidBot",
    "RsiLevelsBot",
    "RsiSessionBot",
    "SessionBreakoutBot",
    "SmaTrendCrossBot",
    "StochasticCrossBot",
    "StochasticTrendBot",
    "TripleConfirmBot",
    "ZooBot",
    "ZooRun",
    "crossed_above",
    "crossed_below",
    "make_zoo_bot",
    "run_bot",
    "run_zoo_bot",
]
