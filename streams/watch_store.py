"""Where the agents keep each bot's `BotWatch`: two tables, and live objects in front of them.

``states`` maps a bot (``account:magic``) to its small record; ``trades`` holds one entry
per kept trade, keyed ``bot/event_id``. In Faust both are changelog-backed tables; any
mutable mapping works, which is how the tests use it. Live `BotWatch` objects are cached
so River's detectors are not rebuilt on every event; after a rebalance the tables may
have moved on without us, so `forget_all` drops the cache and the next event of each bot
rebuilds it from the tables.

Examples
--------
>>> from botcopier.streams.bot_watch import WatchConfig
>>> states, trades = {}, {}
>>> store = WatchStore(WatchConfig(), states, trades)
>>> close = {"event_id": "c1", "action": "CLOSE", "account": 1, "magic": 7, "profit": 5.0,
...          "swap": 0.0, "commission": 0.0, "close_time_ms": 1000, "event_time_ms": 1000}
>>> watch = store.get("1:7")
>>> store.save("1:7", watch, watch.on_event(close))
>>> sorted(trades), sorted(states)
(['1:7/c1'], ['1:7'])
>>> store.forget_all()
>>> store.get("1:7").on_event(close) is None  # rebuilt from the tables: already counted
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import MutableMapping
from typing import Any

from botcopier.streams.bot_watch import BotWatch, Trade, WatchConfig, WatchOutput


class WatchStore:
    def __init__(
        self,
        config: WatchConfig,
        states: MutableMapping[str, Any],
        trades: MutableMapping[str, Any],
    ) -> None:
        self.config = config
        self.states = states
        self.trades = trades
        self._live: dict[str, BotWatch] = {}
        self._unclaimed: dict[str, list[Trade]] | None = None

    def get(self, bot: str) -> BotWatch:
        watch = self._live.get(bot)
        if watch is None:
            if self._unclaimed is None:
                self._unclaimed = self._trades_by_bot()
            state = self.states.get(bot) or None
            watch = BotWatch(self.config, state, self._unclaimed.pop(bot, []))
            self._live[bot] = watch
        return watch

    def save(self, bot: str, watch: BotWatch, output: WatchOutput | None) -> None:
        """Write what ``output`` changed: the bot's record, its new trade, forgotten ones."""
        if output is None:
            return
        close_ms, result, event_id = output.trade
        self.trades[f"{bot}/{event_id}"] = [close_ms, result]
        for forgotten in output.forgotten:
            self.trades.pop(f"{bot}/{forgotten}", None)
        # Most closes change only the trades: each changelog record costs the worker time,
        # so the bot's record is written only when its retrain policy moved.
        state = watch.to_state()
        if state != self.states.get(bot):
            self.states[bot] = state

    @property
    def live_bots(self) -> int:
        return len(self._live)

    def forget_all(self) -> None:
        self._live.clear()
        self._unclaimed = None

    def _trades_by_bot(self) -> dict[str, list[Trade]]:
        # One pass over the table for all bots: rebuilding bot by bot would scan it per bot.
        grouped: dict[str, list[Trade]] = defaultdict(list)
        for key, value in self.trades.items():
            if value is None:
                continue
            bot, _, event_id = key.partition("/")
            grouped[bot].append((int(value[0]), float(value[1]), event_id))
        return dict(grouped)
