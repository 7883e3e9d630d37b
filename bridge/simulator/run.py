"""`botcopier simulate`: several simulated EAs, each with its own bots, talking to the bridge."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from botcopier.bridge.client import EaClient, tls_client_context
from botcopier.bridge.exceptions import BridgeError
from botcopier.bridge.simulator.bots import FadingEdgeBot, default_bots
from botcopier.bridge.simulator.ea import EaReport, SimulatedEa
from botcopier.bridge.simulator.ledger import PaperAccount
from botcopier.bridge.simulator.market import Bar, random_walk_bars, read_bars_csv
from botcopier.config import Settings

SYMBOLS = ("EURUSD", "GBPUSD", "AUDUSD", "USDCHF", "EURGBP", "NZDUSD")
# Random walks start at a fixed instant so a seed gives the same events on every run.
_START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z


@dataclass(frozen=True)
class SimulationPlan:
    eas: int = 3
    bars: int = 500
    seed: int = 0
    csv: Path | None = None
    bars_per_second: float | None = None  # None: as fast as the bridge acks
    ea_prefix: str = "sim"
    account_base: int = 900_000
    # Give the first EA a FadingEdgeBot too, whose win rate collapses a third of the way in.
    fading_bot: bool = False

    def ea_id(self, index: int) -> str:
        return f"{self.ea_prefix}-{index + 1}"


@dataclass(frozen=True)
class SimulationResult:
    reports: list[EaReport]
    acked: dict[str, int]
    unacked: dict[str, int]
    seconds: float

    @property
    def complete(self) -> bool:
        return not any(self.unacked.values())


def _bars_for(plan: SimulationPlan, index: int, symbol: str) -> Iterator[Bar]:
    if plan.csv is not None:
        return islice(read_bars_csv(plan.csv, symbol=symbol), plan.bars)
    return random_walk_bars(
        symbol, start_ms=_START_MS, count=plan.bars, seed=plan.seed * 1000 + index
    )


def _token(settings: Settings, ea_id: str) -> str:
    token = settings.bridge.current_token(ea_id)
    if token is None:
        if settings.bridge.allow_unknown_eas:
            return ""
        raise BridgeError(
            f'no token for {ea_id}: add `{ea_id} = "<token>"` under [bridge.tokens] in '
            "botcopier.toml (the same file for the bridge and the simulator)"
        )
    return token


async def simulate(
    settings: Settings,
    plan: SimulationPlan,
    spool_dir: Path,
    progress: Callable[[str], None] = lambda _line: None,
    ack_timeout_s: float = 120.0,
) -> SimulationResult:
    """Run every EA over its bars, then wait for the bridge to ack everything."""
    started = time.monotonic()
    eas: list[SimulatedEa] = []
    feeds = []
    for index in range(plan.eas):
        ea_id = plan.ea_id(index)
        client = EaClient(
            settings.bridge.host,
            settings.bridge.port,
            ea_id,
            plan.account_base + index + 1,
            _token(settings, ea_id),
            spool_dir=spool_dir,
            # On the bridge's own host: its certificate is the CA to trust.
            tls=tls_client_context(settings.bridge.tls_cert_file) if settings.bridge.tls else None,
        )
        symbol = SYMBOLS[index % len(SYMBOLS)] if plan.csv is None else None
        bars = list(_bars_for(plan, index, symbol or ""))
        symbol = symbol or (bars[0].symbol if bars else "EURUSD")
        account = PaperAccount(plan.seed * 1000 + index)
        bots = default_bots(symbol, account=account)
        if plan.fading_bot and index == 0:
            fade_after = len(bars) // 3
            bots.append(FadingEdgeBot(symbol, bars, fade_after=fade_after, account=account))
        eas.append(SimulatedEa(client, bots))
        feeds.append(bars)
    pace_s = 1.0 / plan.bars_per_second if plan.bars_per_second else 0.0
    for ea in eas:
        ea.client.start()
    reporter = asyncio.create_task(_report_progress(eas, plan.bars, progress))
    try:
        await asyncio.gather(*(ea.run(bars, pace_s) for ea, bars in zip(eas, feeds, strict=True)))
        for ea in eas:
            await ea.client.wait_acked(ack_timeout_s)
    finally:
        reporter.cancel()
        for ea in eas:
            await ea.client.close()
    result = SimulationResult(
        reports=[ea.report for ea in eas],
        acked={ea.client.ea_id: ea.client.acked_seq for ea in eas},
        unacked={ea.client.ea_id: ea.client.unacked_count for ea in eas},
        seconds=time.monotonic() - started,
    )
    for ea in eas:
        if ea.client.fatal:
            progress(f"{ea.client.ea_id}: refused by the bridge: {ea.client.fatal['reason']}")
    return result


async def _report_progress(
    eas: list[SimulatedEa], total_bars: int, progress: Callable[[str], None]
) -> None:
    while True:
        await asyncio.sleep(2.0)
        parts = [
            f"{ea.client.ea_id} {ea.report.bars}/{total_bars} bars, {ea.report.trades} trades, "
            f"acked {ea.client.acked_seq}/{ea.client.next_seq - 1}"
            for ea in eas
        ]
        progress("  " + " | ".join(parts))
