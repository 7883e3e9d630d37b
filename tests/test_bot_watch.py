"""The agents' per-bot logic without a broker: dedup, metrics, one retrain per degradation."""

from __future__ import annotations

import random

from botcopier.streams.bot_watch import BotWatch, WatchConfig
from botcopier.streams.drift import DriftConfig
from botcopier.streams.retrain_policy import RetrainThresholds
from botcopier.streams.watch_store import WatchStore

HOUR = 3_600_000


def scripted_bot(seed: int = 5, good: int = 60, bad: int = 60) -> list[dict]:
    """Opens and closes of one bot: a 70% win rate, then 20%."""
    rng = random.Random(seed)
    events, t = [], 1_735_689_600_000
    for n in range(good + bad):
        t += 4 * HOUR
        win = rng.random() < (0.7 if n < good else 0.2)
        base = {
            "account": 42,
            "magic": 1001,
            "ticket": 5000 + n,
            "swap": -0.1,
            "commission": -0.7,
            "event_time_ms": t,
        }
        events.append(
            {**base, "event_id": f"o{n}", "action": "OPEN", "profit": 0.0, "close_time_ms": None}
        )
        events.append(
            {
                **base,
                "event_id": f"c{n}",
                "action": "CLOSE",
                "profit": 25.0 if win else -20.0,
                "close_time_ms": t + HOUR,
            }
        )
    return events


# A five-day window is the last 30 trades of this bot: short enough to see the change.
CONFIG = WatchConfig(
    window_days=5,
    retention_days=10,
    thresholds=RetrainThresholds(
        min_win_rate=0.45, win_rate_rearm=0.55, min_trades=20, cooldown_ms=48 * HOUR
    ),
    drift=DriftConfig(adwin=None, page_hinkley=None),
)


def test_a_degrading_bot_triggers_exactly_one_retrain_request():
    watch = BotWatch(CONFIG)
    outputs = [out for e in scripted_bot() if (out := watch.on_event(e))]
    reasons = [o.retrain_reason for o in outputs if o.retrain_reason]
    assert reasons == ["win_rate"]
    fired_at = next(i for i, o in enumerate(outputs) if o.retrain_reason)
    assert fired_at >= 60  # only after the bot degraded
    assert outputs[fired_at].metrics["win_rate"] < 0.45


def test_net_profit_includes_swap_and_commission():
    watch = BotWatch(CONFIG)
    out = watch.on_event(
        {
            "event_id": "x",
            "action": "CLOSE",
            "account": 1,
            "magic": 2,
            "profit": 10.0,
            "swap": -1.0,
            "commission": -0.5,
            "close_time_ms": 1,
            "event_time_ms": 1,
        }
    )
    assert out.metrics["total_profit"] == 8.5 and out.last_event_id == "x"


def test_a_replayed_duplicate_changes_nothing():
    watch = BotWatch(CONFIG)
    events = scripted_bot(good=30, bad=0)
    for event in events:
        watch.on_event(event)
    before = watch.to_state(), watch.trades()
    assert all(watch.on_event(event) is None for event in events[-10:])
    assert (watch.to_state(), watch.trades()) == before


def test_a_restart_from_the_table_state_continues_identically():
    events = scripted_bot(seed=9)
    straight = BotWatch(CONFIG)
    expected = [straight.on_event(e) for e in events]
    first = BotWatch(CONFIG)
    produced = [first.on_event(e) for e in events[:100]]
    # What a restarted worker loads; the trades table has no order, hence the shuffle.
    stored = first.trades()
    random.Random(3).shuffle(stored)
    resumed = BotWatch(CONFIG, first.to_state(), stored)
    # The restart replays a few events it had already processed: they must change nothing.
    produced += [resumed.on_event(e) for e in events[95:100]][5:]
    produced += [resumed.on_event(e) for e in events[100:]]
    assert [p and (p.metrics, p.retrain_reason) for p in produced] == [
        e and (e.metrics, e.retrain_reason) for e in expected
    ]


def test_the_store_rewrites_a_bots_record_only_when_it_changed():
    class CountingDict(dict):
        writes = 0

        def __setitem__(self, key, value):
            CountingDict.writes += 1
            super().__setitem__(key, value)

    states, trades = CountingDict(), {}
    store = WatchStore(CONFIG, states, trades)
    events = [e for e in scripted_bot() if e["action"] == "CLOSE"]
    outputs = []
    for event in events:
        watch = store.get("42:1001")
        outputs.append(watch.on_event(event))
        store.save("42:1001", watch, outputs[-1])
    fired = sum(1 for o in outputs if o.retrain_reason)
    assert fired == 1 and len(trades) == 60  # a ten-day retention of closes 4 h apart
    assert 1 < CountingDict.writes <= 4  # first close, disarm and fire, maybe a re-arm
    store.forget_all()  # a restarted worker: the stored record resumes the same policy
    assert store.get("42:1001").to_state() == states["42:1001"]
