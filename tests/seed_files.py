"""The simulator's bots written as a user brings them: an MT4 bars CSV and the seed's
``trades_raw.csv`` (its first Observer EA's ``;`` layout, MT4 times), beside our JSON lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.clone_data import simulated_bots

SEED_HEADER = (
    "event_id;event_time;broker_time;local_time;action;ticket;magic;source;symbol;order_type;"
    "lots;price;sl;tp;profit;comment;remaining_lots"
)
ACCOUNT = 7


def mt4_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y.%m.%d %H:%M:%S")


def seed_row(n: int, event: dict) -> str:
    price = event["close_price"] if event["action"] == "CLOSE" else event["open_price"]
    at = mt4_time(event["event_time_ms"])
    cells = [
        n, at, at, at, event["action"], event["ticket"], event["magic"], "mt4", event["symbol"],
        0 if event["order_type"] == "BUY" else 1, f"{event['lots']:.2f}", f"{price:.5f}",
        f"{event['sl']:.5f}", f"{event['tp']:.5f}", f"{event['profit']:.2f}", event["comment"],
        f"{event['remaining_lots']:.2f}",
    ]  # fmt: skip
    return ";".join(str(cell) for cell in cells)


def write_bot_files(folder: Path, bots=("ma-cross", "breakout"), count: int = 6_000):
    """``bars.csv``, ``trades_raw.csv`` (seed layout) and ``events.jsonl`` of ``bots``."""
    bars, events = simulated_bots(count)
    columns = {"time_ms": "time", "spread_points": "spread", "timeframe_minutes": "timeframe"}
    bars.rename(columns=columns)[
        ["time", "open", "high", "low", "close", "spread", "symbol", "timeframe"]
    ].to_csv(folder / "bars.csv", index=False)
    mine = sorted(
        (event for name in bots for event in events[name]), key=lambda e: e["event_time_ms"]
    )
    rows = [seed_row(n, event) for n, event in enumerate(mine, 1)]
    (folder / "trades_raw.csv").write_text("\n".join([SEED_HEADER, *rows]) + "\n")
    with (folder / "events.jsonl").open("w") as out:
        for n, event in enumerate(mine):
            out.write(json.dumps({**event, "account": ACCOUNT, "event_id": f"e-{n}"}) + "\n")
    return folder / "bars.csv", folder / "trades_raw.csv", folder / "events.jsonl"
