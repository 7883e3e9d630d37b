"""`ZOO`: every zoo bot by name (its order comment), in the order the zoo's tables list them."""

from __future__ import annotations

from botcopier.bridge.simulator.zoo.bands import (
    BollingerBreakoutBot,
    BollingerReversionBot,
    EnvelopeReversionBot,
)
from botcopier.bridge.simulator.zoo.base import ZooBot
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
from botcopier.bridge.simulator.zoo.sessions import SessionBreakoutBot
from botcopier.bridge.simulator.zoo.trend import AdxDiCrossBot, MomentumTrendBot, TripleConfirmBot

ZOO: dict[str, type[ZooBot]] = {
    bot.name: bot
    for bot in (
        EmaCrossBot,
        SmaTrendCrossBot,
        PyramidBot,
        RsiLevelsBot,
        RsiSessionBot,
        StochasticCrossBot,
        StochasticTrendBot,
        MacdSignalBot,
        BollingerBreakoutBot,
        BollingerReversionBot,
        TripleConfirmBot,
        SessionBreakoutBot,
        CciBreakoutBot,
        WilliamsReversalBot,
        EnvelopeReversionBot,
        AdxDiCrossBot,
        MomentumTrendBot,
    )
}
