"""A minimal Faust app run as a worker subprocess by ``tests/test_faust_smoke.py``.

One agent reads ``{"bot": str, "amount": int}`` records from the input topic, keeps a
running count and sum per bot in two tables backed by changelog topics, and after every
update sends ``{"bot", "count", "total"}`` to the output topic.

Everything that changes between runs (app id, broker, topics, data dir) comes from the
environment, because the Faust CLI imports this module by name and takes no arguments for it.
"""

from __future__ import annotations

import os

import faust


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set; tests/test_faust_smoke.py sets it")
    return value


class Trade(faust.Record, serializer="json"):
    bot: str
    amount: int


app = faust.App(
    _env("FAUST_SMOKE_APP_ID"),
    broker=_env("FAUST_SMOKE_BROKER"),
    datadir=_env("FAUST_SMOKE_DATADIR"),
    # The test's topics have one partition; tables must be co-partitioned with their source.
    topic_partitions=1,
    # Kafka here is a single node, so internal topics cannot have more replicas.
    topic_replication_factor=1,
    store="memory://",
    web_enabled=False,
)

trades = app.topic(_env("FAUST_SMOKE_INPUT"), key_type=str, key_serializer="raw", value_type=Trade)
totals_out = app.topic(
    _env("FAUST_SMOKE_OUTPUT"), key_type=str, key_serializer="raw", value_serializer="json"
)

counts = app.Table("counts", default=int, partitions=1)
totals = app.Table("totals", default=int, partitions=1)


@app.agent(trades)
async def accumulate(stream: faust.StreamT[Trade]) -> None:
    async for trade in stream:
        counts[trade.bot] += 1
        totals[trade.bot] += trade.amount
        await totals_out.send(
            key=trade.bot,
            value={"bot": trade.bot, "count": counts[trade.bot], "total": totals[trade.bot]},
        )
