"""Bar labels and positions from trade events: hand-made cases and the simulated bots."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from botcopier.bridge.simulator import default_bots, random_walk_bars
from botcopier.trainers.labels import is_stop_fill, label_bars, most_open_tickets

H = 3_600_000
BARS = pd.DataFrame({"time_ms": [n * H for n in range(6)], "timeframe_minutes": 60})


def event(t: int, action: str, ticket: int, side: str = "BUY", **fields) -> dict:
    return {
        "event_time_ms": t,
        "action": action,
        "ticket": ticket,
        "order_type": side,
        "lots": 0.1,
        "close_price": 0.0,
        "sl": 0.0,
        "tp": 0.0,
        "comment": "",
        "parent_ticket": None,
        **fields,
    }


def labelled(events: list[dict]) -> list[tuple[str, int]]:
    frame = label_bars(BARS, events)
    return list(zip(frame["label"], frame["position"], strict=True))


def test_open_reversal_and_own_close():
    events = [
        event(1 * H, "OPEN", 1),  # bar 0 closes at 1 h: the bot buys
        event(3 * H, "CLOSE", 1, close_price=1.1),  # bar 2: closes, then sells: a reversal
        event(3 * H, "OPEN", 2, "SELL"),
        event(5 * H, "CLOSE", 2, "SELL", close_price=1.0),  # bar 4: closes itself
    ]
    assert labelled(events) == [
        ("buy", 0), ("none", 1), ("sell", 1), ("none", -1), ("close", -1), ("none", 0),
    ]  # fmt: skip


def test_stop_fills_change_the_position_not_the_label():
    events = [
        event(1 * H, "OPEN", 1, sl=1.0),
        # Stamped at bar 2's close, as the simulator does: flat before bar 2's decision.
        event(3 * H, "CLOSE", 1, close_price=0.998, sl=1.0),  # gap: filled beyond the stop
        event(4 * H, "OPEN", 2, "SELL", tp=0.9),
        # Real MT4: the take profit fills during bar 4, after the decision on bar 3's close.
        event(4 * H + 1_800_000, "CLOSE", 2, "SELL", close_price=0.9, tp=0.9),
    ]
    assert labelled(events) == [
        ("buy", 0), ("none", 1), ("none", 0), ("sell", 0), ("none", 0), ("none", 0),
    ]  # fmt: skip


def test_a_stop_before_a_new_decision_on_the_same_bar_counts_first():
    events = [
        event(1 * H, "OPEN", 1, sl=1.0),
        event(3 * H, "CLOSE", 1, close_price=0.99, sl=1.0),
        event(3 * H, "OPEN", 2),  # bought again right after being stopped out
    ]
    assert labelled(events)[2] == ("buy", 0)


def test_partial_closes_their_remainder_and_pending_orders_are_not_decisions():
    events = [
        event(0, "OPEN", 9, "BUYLIMIT"),  # a pending order before the first bar: holds nothing
        event(1 * H, "OPEN", 1, lots=0.3),
        event(2 * H, "CLOSE", 1, close_price=1.1, lots=0.1, remaining_lots=0.2),
        event(2 * H, "OPEN", 2, lots=0.2, parent_ticket=1, comment="from #1"),
        event(4 * H, "CLOSE", 2, close_price=1.2, comment="[tp]"),  # at bar 3's close
    ]
    assert labelled(events) == [
        ("buy", 0), ("none", 1), ("none", 1), ("none", 0), ("none", 0), ("none", 0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("side", "price", "sl", "tp", "stop"),
    [
        ("BUY", 0.99, 1.0, 0.0, True),
        ("BUY", 1.01, 1.0, 0.0, False),
        ("BUY", 1.2, 1.0, 1.2, True),
        ("SELL", 1.01, 1.0, 0.0, True),
        ("SELL", 0.8, 1.0, 0.85, True),
        ("SELL", 0.9, 1.0, 0.85, False),
    ],
)
def test_stop_fill_detection(side, price, sl, tp, stop):
    assert is_stop_fill(event(0, "CLOSE", 1, side, close_price=price, sl=sl, tp=tp)) is stop


def test_the_most_orders_held_at_once_counts_a_pyramid_not_a_partial_closes_remainder():
    assert most_open_tickets([]) == 1  # a bot seen holding nothing holds one when it trades
    single = [event(0, "OPEN", 1), event(10, "CLOSE", 1), event(20, "OPEN", 2, "SELL")]
    assert most_open_tickets(single) == 1
    pyramid = [event(0, "OPEN", 1), event(5, "OPEN", 2), event(8, "CLOSE", 1),
               event(9, "OPEN", 3), event(12, "OPEN", 4)]  # fmt: skip
    assert most_open_tickets(pyramid) == 3  # tickets 2, 3 and 4 from 12 on
    # Out of time order the events are still counted as they happened.
    assert most_open_tickets(list(reversed(pyramid))) == 3
    partial = [event(0, "OPEN", 1), event(5, "CLOSE", 1, remaining_lots=0.05),
               event(5, "OPEN", 2, parent_ticket=1)]  # fmt: skip
    assert most_open_tickets(partial) == 1


def test_unordered_bars_are_refused():
    with pytest.raises(ValueError, match="time order"):
        label_bars(BARS.iloc[::-1], [])


def test_the_simulated_bots_positions_and_decisions_are_recovered_exactly():
    """Over 5,000 bars, the labeller sees what each bot held and did, from its events alone."""
    bars = list(random_walk_bars("EURUSD", start_ms=1_704_067_200_000, count=5_000, seed=9))
    frame = pd.DataFrame([dataclasses.asdict(b) for b in bars])
    for bot in default_bots("EURUSD", seed=9):
        events, held_after, stopped = [], [], []
        for bar in bars:
            actions = bot.on_bar(bar)
            stamped = [{**a, "event_time_ms": a["close_time_ms"] or bar.end_ms} for a in actions]
            events += stamped
            position = bot.position
            held_after.append(0 if position is None else position.direction)
            stopped.append(any(a["action"] == "CLOSE" and is_stop_fill(a) for a in stamped))
        labels = label_bars(frame, events)
        for i in range(1, len(bars)):
            # The bots hold one position: a stop fill on a bar leaves them flat before deciding.
            expected = 0 if stopped[i] else held_after[i - 1]
            assert labels["position"].iloc[i] == expected, (bot.name, i)
        opens = [e for e in events if e["action"] == "OPEN" and not e.get("parent_ticket")]
        counts = labels["label"].value_counts()
        assert counts.get("buy", 0) + counts.get("sell", 0) == len(opens), bot.name
        assert counts.get("buy", 0) == sum(e["order_type"] == "BUY" for e in opens)
        assert len(opens) > 20, f"{bot.name} hardly traded: the check would be weak"
