"""Scripted EA traffic: many EAs, each a real `EaClient` (spool, resend) sending trade events.

No bar simulation: each EA walks its bots round robin through OPEN, MODIFY, MODIFY, CLOSE,
so 100,000 events are generated in a few seconds and a quarter of them are closes the
agents count. Everything is a pure function of the plan, so the test knows exactly which
event ids each EA sent and which closes each bot made.

A fault is an async function given the running `Traffic`; it runs beside the EAs and may
wait for progress (`Traffic.wait_acked`) before it strikes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botcopier.bridge.client import EaClient

START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_STEPS = ("OPEN", "MODIFY", "MODIFY", "CLOSE")
_MINUTE_MS = 60_000


@dataclass(frozen=True)
class TrafficPlan:
    eas: int = 8
    events_per_ea: int = 12_500
    bots_per_ea: int = 4
    # Total offered load; None sends as fast as the bridge acks.
    events_per_second: float | None = None
    ea_prefix: str = "fault"
    account_base: int = 810_000

    @property
    def total(self) -> int:
        return self.eas * self.events_per_ea

    def ea_id(self, index: int) -> str:
        return f"{self.ea_prefix}-{index + 1}"

    def account(self, index: int) -> int:
        return self.account_base + index + 1

    def tokens(self) -> dict[str, str]:
        return {self.ea_id(i): f"token-{self.ea_id(i)}" for i in range(self.eas)}

    def bridge_env(self) -> dict[str, str]:
        """The BOTCOPIER_* variables that register this plan's EAs with a bridge process."""
        return {f"BOTCOPIER_BRIDGE__TOKENS__{ea}": tok for ea, tok in self.tokens().items()}


def scripted_event(plan: TrafficPlan, index: int, n: int) -> dict[str, Any]:
    """The ``n``-th (from 0) trade event of EA ``index``: its bots take turns.

    >>> plan = TrafficPlan(eas=1, bots_per_ea=2)
    >>> [(e["magic"], e["action"], e["ticket"]) for e in
    ...  (scripted_event(plan, 0, n) for n in range(8))][:5]
    [(100, 'OPEN', 1000000), (101, 'OPEN', 1000001), (100, 'MODIFY', 1000000), \
(101, 'MODIFY', 1000001), (100, 'MODIFY', 1000000)]
    """
    bot, k = n % plan.bots_per_ea, n // plan.bots_per_ea
    step, trade_no = k % len(_STEPS), k // len(_STEPS)
    action = _STEPS[step]
    t = START_MS + trade_no * _MINUTE_MS + step * 10_000
    # Deterministic, varied results: wins and losses of different sizes.
    net = ((trade_no * 7919 + bot * 104_729 + index * 15_485_863) % 61) - 28.0
    event = {
        "event_time_ms": t,
        "account": plan.account(index),
        "broker": "Fault Broker",
        "magic": 100 + bot,
        "ticket": 1_000_000 + trade_no * plan.bots_per_ea + bot,
        "symbol": "EURUSD",
        "action": action,
        "order_type": "BUY" if trade_no % 2 else "SELL",
        "lots": 0.1,
        "open_price": 1.1,
    }
    if action == "MODIFY":
        event["sl"] = 1.09
    if action == "CLOSE":
        event |= {
            "close_price": 1.1 + net / 1e4,
            "close_time_ms": t,
            "profit": net + 0.9,
            "swap": -0.2,
            "commission": -0.7,
            "remaining_lots": 0.0,
        }
    return event


def event_id(plan: TrafficPlan, index: int, seq: int) -> str:
    """What `EaClient` names the event of ``seq`` (a fresh spool numbers from 1)."""
    return f"{plan.account(index)}-{plan.ea_id(index)}-{seq}"


def sent_event_ids(plan: TrafficPlan, sent: dict[str, int]) -> dict[str, list[str]]:
    """Per EA, the ids of the events it submitted, in submission order."""
    return {
        plan.ea_id(i): [event_id(plan, i, seq) for seq in range(1, sent[plan.ea_id(i)] + 1)]
        for i in range(plan.eas)
    }


def closes_by_bot(plan: TrafficPlan, sent: dict[str, int]) -> dict[str, list[str]]:
    """Per bot (``account:magic``), the ids of its CLOSE events among those sent."""
    closes: dict[str, list[str]] = {}
    for index in range(plan.eas):
        for n in range(sent[plan.ea_id(index)]):
            event = scripted_event(plan, index, n)
            if event["action"] == "CLOSE":
                bot = f"{event['account']}:{event['magic']}"
                closes.setdefault(bot, []).append(event_id(plan, index, n + 1))
    return closes


@dataclass
class Traffic:
    """The running EAs, as a fault sees them."""

    plan: TrafficPlan
    clients: list[EaClient]
    started_s: float = field(default_factory=time.monotonic)
    submitted: int = 0
    most_spooled: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def acked(self) -> int:
        return sum(client.acked_seq for client in self.clients)

    @property
    def unacked(self) -> int:
        return sum(client.unacked_count for client in self.clients)

    async def wait_acked(self, fraction: float, timeout_s: float = 120.0) -> None:
        """Until ``fraction`` of the plan's events are acked."""
        deadline = time.monotonic() + timeout_s
        while self.acked < fraction * self.plan.total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.acked} of {self.plan.total} acked")
            await asyncio.sleep(0.02)

    async def wait_submitted(self, fraction: float, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.submitted < fraction * self.plan.total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.submitted} of {self.plan.total} submitted")
            await asyncio.sleep(0.02)


Fault = Callable[[Traffic], Awaitable[None]]


@dataclass(frozen=True)
class TrafficResult:
    sent: dict[str, int]  # ea_id -> events submitted (seqs 1..n)
    acked: dict[str, int]
    reconnects: int
    most_spooled: int
    seconds: float
    notes: dict[str, Any]

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())


async def _feed(traffic: Traffic, index: int, client: EaClient) -> None:
    plan = traffic.plan
    rate = plan.events_per_second / plan.eas if plan.events_per_second else None
    started = time.monotonic()
    for n in range(plan.events_per_ea):
        await client.submit("trade", scripted_event(plan, index, n))
        traffic.submitted += 1
        if n % 100 == 99:
            traffic.most_spooled = max(traffic.most_spooled, traffic.unacked)
            if rate is not None:
                ahead_s = (n + 1) / rate - (time.monotonic() - started)
                await asyncio.sleep(max(ahead_s, 0.0))
            else:
                await asyncio.sleep(0)  # a disconnected EA never waits: let the others run


async def run_traffic(
    plan: TrafficPlan,
    port: int,
    spool_dir: Path,
    fault: Fault | None = None,
    ack_timeout_s: float = 240.0,
) -> TrafficResult:
    """Every EA sends its script to ``127.0.0.1:port`` while ``fault`` strikes; returns
    once every event is acked (or raises `TimeoutError` naming what was not)."""
    tokens = plan.tokens()
    clients = [
        EaClient(
            "127.0.0.1",
            port,
            plan.ea_id(i),
            plan.account(i),
            tokens[plan.ea_id(i)],
            spool_dir=spool_dir,
        )  # fmt: skip
        for i in range(plan.eas)
    ]
    traffic = Traffic(plan, clients)
    for client in clients:
        client.start()
    try:
        feeding = asyncio.gather(*(_feed(traffic, i, c) for i, c in enumerate(clients)))
        if fault is not None:
            await asyncio.gather(feeding, fault(traffic))
        else:
            await feeding
        for client in clients:
            if not await client.wait_acked(ack_timeout_s):
                raise TimeoutError(
                    f"{client.ea_id}: {client.unacked_count} events unacked after "
                    f"{ack_timeout_s:.0f} s (errors: {client.errors[-3:]})"
                )
        return TrafficResult(
            sent={c.ea_id: c.next_seq - 1 for c in clients},
            acked={c.ea_id: c.acked_seq for c in clients},
            reconnects=sum(c.connects for c in clients) - len(clients),
            most_spooled=traffic.most_spooled,
            seconds=time.monotonic() - traffic.started_s,
            notes=traffic.notes,
        )
    finally:
        for client in clients:
            await client.close()
