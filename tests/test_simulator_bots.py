"""The simulated bots: valid TradeEvent fields, consistent ticket lives, distinct behaviour."""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict

import pytest

from botcopier.bridge.simulator import (
    Bar,
    BreakoutBot,
    FadingEdgeBot,
    LedgerError,
    MovingAverageCrossBot,
    PaperAccount,
    RsiReversionBot,
    default_bots,
    random_walk_bars,
)
from botcopier.schemas import SchemaCatalogue, SingleObjectSerializer

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC, so bar ends fall on whole hours
ACTION_KEYS = {
    "magic", "ticket", "parent_ticket", "symbol", "action", "order_type", "lots", "open_price",
    "open_time_ms", "close_price", "close_time_ms", "sl", "tp", "profit", "swap", "commission",
    "comment", "spread_points", "remaining_lots",
}  # fmt: skip
SEEDS = (0, 1, 2)


@functools.cache
def simulate(seed: int, count: int = 1_000) -> tuple[tuple[str, dict], ...]:
    """(bot name, action) in the order the default bots acted over ``count`` H1 bars.

    Cached across tests, so the dicts must be treated as read-only.
    """
    bots = default_bots("EURUSD", seed=seed)
    bars = random_walk_bars("EURUSD", start_ms=START_MS, count=count, seed=seed)
    return tuple((bot.name, action) for bar in bars for bot in bots for action in bot.on_bar(bar))


def run(seed: int, count: int = 1_000) -> dict[str, list[dict]]:
    """Each default bot's actions, in order."""
    actions: dict[str, list[dict]] = defaultdict(list)
    for name, action in simulate(seed, count):
        actions[name].append(action)
    return dict(actions)


def all_actions(seed: int) -> list[dict]:
    return [action for _, action in simulate(seed)]


def test_default_bots_are_three_distinct_bots_on_one_account():
    bots = default_bots("GBPUSD")
    assert [type(bot) for bot in bots] == [MovingAverageCrossBot, RsiReversionBot, BreakoutBot]
    assert [bot.magic for bot in bots] == [1001, 1002, 1003]
    assert {bot.symbol for bot in bots} == {"GBPUSD"}
    assert len({id(bot.account) for bot in bots}) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_every_bot_trades_a_healthy_amount(seed):
    for name, events in run(seed).items():
        kinds = Counter(event["action"] for event in events)
        assert kinds["OPEN"] >= 20 and kinds["CLOSE"] >= 20, (name, kinds)


def test_actions_have_exactly_the_trade_event_fields_and_validate_with_the_envelope():
    serializer = SingleObjectSerializer(SchemaCatalogue.default(), "TradeEvent")
    for number, action in enumerate(all_actions(0)):
        assert set(action) == ACTION_KEYS
        envelope = {
            "event_id": f"e-{number}",
            "event_time_ms": action["close_time_ms"] or START_MS,
            "account": 123456,
            "broker": "Paper Ltd",
        }
        serializer.serialize({**action, **envelope})  # raises RecordValidationError if invalid


@pytest.mark.parametrize("seed", SEEDS)
def test_each_ticket_lives_a_consistent_life(seed):
    events = all_actions(seed)
    tickets = [event["ticket"] for event in events if event["action"] == "OPEN"]
    assert len(tickets) == len(set(tickets)), "tickets are unique across the shared account"
    assert tickets == sorted(tickets), "tickets only grow"
    state: dict[int, str] = {}
    lots_left: dict[int, float] = {}
    for previous, event in zip([None, *events[:-1]], events, strict=True):
        ticket = event["ticket"]
        if event["action"] == "OPEN":
            assert ticket not in state
            if event["parent_ticket"] is not None:
                # MT4's partial close: the remainder follows the close of its parent directly.
                assert previous["action"] == "CLOSE"
                assert previous["ticket"] == event["parent_ticket"]
                assert event["lots"] == previous["remaining_lots"] > 0
                assert event["comment"] == f"from #{previous['ticket']}"
                assert event["open_price"] == previous["open_price"]
                assert event["open_time_ms"] == previous["open_time_ms"]
            state[ticket], lots_left[ticket] = "open", event["lots"]
            assert event["remaining_lots"] == event["lots"]
            assert event["close_price"] is None and event["close_time_ms"] is None
        else:
            assert state.get(ticket) == "open", f"{event['action']} of #{ticket} while not open"
            if event["action"] == "CLOSE":
                assert event["close_price"] > 0 and event["close_time_ms"] >= event["open_time_ms"]
                assert event["remaining_lots"] == pytest.approx(lots_left[ticket] - event["lots"])
                state[ticket] = "closed"
            else:
                assert event["lots"] == event["remaining_lots"] == lots_left[ticket]


@pytest.mark.parametrize("seed", SEEDS)
def test_closed_lots_of_each_position_add_up_to_its_opened_lots(seed):
    root: dict[int, int] = {}
    opened: dict[int, float] = {}
    closed: defaultdict[int, float] = defaultdict(float)
    still_open = set()
    for event in all_actions(seed):
        ticket = event["ticket"]
        if event["action"] == "OPEN":
            parent = event["parent_ticket"]
            root[ticket] = ticket if parent is None else root[parent]
            opened.setdefault(root[ticket], event["lots"])
            still_open.add(ticket)
        elif event["action"] == "CLOSE":
            closed[root[ticket]] += event["lots"]
            still_open.discard(ticket)
    finished = set(opened) - {root[ticket] for ticket in still_open}
    assert len(finished) > 60
    for position in finished:
        assert closed[position] == pytest.approx(opened[position])


@pytest.mark.parametrize("seed", SEEDS)
def test_profit_follows_price_move_and_direction(seed):
    for event in all_actions(seed):
        if event["action"] != "CLOSE":
            assert event["profit"] == event["commission"] == 0.0
            continue
        sign = 1 if event["order_type"] == "BUY" else -1
        move = (event["close_price"] - event["open_price"]) * sign
        expected = move * event["lots"] * 100_000
        assert event["profit"] == pytest.approx(expected, abs=0.006)
        assert event["commission"] == pytest.approx(-7.0 * event["lots"])


def test_at_most_one_open_position_per_bot():
    for events in run(1).values():
        open_tickets: set[int] = set()
        for event in events:
            if event["action"] == "OPEN":
                open_tickets.add(event["ticket"])
            elif event["action"] == "CLOSE":
                open_tickets.discard(event["ticket"])
            assert len(open_tickets) <= 1


def test_same_seed_same_actions_and_other_seeds_differ():
    assert simulate(0, count=300) == simulate.__wrapped__(0, count=300)
    assert run(0, count=300) != run(1, count=300)


def test_bots_behave_distinctly():
    actions = run(0)
    ma_kinds = Counter(event["action"] for event in actions["ma-cross"])
    assert ma_kinds["MODIFY"] == 0
    # MA cross reverses: a close followed on the same bar by an open the other way.
    reversals = [
        (a, b)
        for a, b in itertools.pairwise(actions["ma-cross"])
        if a["action"] == "CLOSE"
        and b["action"] == "OPEN"
        and a["close_time_ms"] == b["open_time_ms"]
    ]
    assert len(reversals) > 10
    assert all(a["order_type"] != b["order_type"] for a, b in reversals)

    rsi = actions["rsi-reversion"]
    assert any(e["action"] == "CLOSE" and e["remaining_lots"] > 0 for e in rsi)
    break_evens = [e for e in rsi if e["action"] == "MODIFY"]
    assert break_evens and all(e["sl"] == e["open_price"] for e in break_evens)

    breakout = actions["breakout"]
    assert all(e["sl"] and e["tp"] for e in breakout if e["action"] == "OPEN")
    stop_of: dict[int, float] = {}
    for event in breakout:
        if event["action"] == "MODIFY":
            sign = 1 if event["order_type"] == "BUY" else -1
            assert (event["sl"] - stop_of[event["ticket"]]) * sign > 0, (
                "a trailing stop only tightens"
            )
        stop_of[event["ticket"]] = event["sl"]
    assert Counter(e["action"] for e in breakout)["MODIFY"] > 10
    exits = {e["close_price"] for e in breakout if e["action"] == "CLOSE"}
    assert exits & {e["tp"] for e in breakout} and exits & {e["sl"] for e in breakout}


def test_stops_close_at_their_price_when_the_bar_reaches_them():
    account = PaperAccount(first_ticket=500)
    bot = BreakoutBot("EURUSD", account=account, channel=2, sl_pips=10, tp_pips=20)
    flat = [Bar("EURUSD", i * 3_600_000, 60, 1.1, 1.1005, 1.0995, 1.1, 1, 0) for i in range(2)]
    assert [a for bar in flat for a in bot.on_bar(bar)] == []
    (opened,) = bot.on_bar(Bar("EURUSD", 7_200_000, 60, 1.1, 1.1012, 1.1, 1.101, 1, 0))
    assert (opened["ticket"], opened["order_type"], opened["open_price"]) == (500, "BUY", 1.101)
    assert (opened["sl"], opened["tp"], opened["open_time_ms"]) == (1.1, 1.103, 10_800_000)
    (closed,) = bot.on_bar(Bar("EURUSD", 10_800_000, 60, 1.101, 1.1035, 1.1008, 1.101, 1, 0))
    assert (closed["action"], closed["close_price"], closed["close_time_ms"]) == (
        "CLOSE",
        1.103,
        14_400_000,
    )
    assert closed["profit"] == pytest.approx(20.0) and account.balance == pytest.approx(19.3)
    assert bot.on_bar(Bar("GBPUSD", 14_400_000, 60, 1.3, 1.4, 1.2, 1.3, 1, 0)) == []


def test_paper_account_partial_close_and_sell_profit():
    account = PaperAccount(first_ticket=7)
    opened = account.open(
        magic=9, symbol="EURUSD", order_type="SELL", lots=0.3, price=1.2, time_ms=5, comment="x"
    )
    first, rest = account.close(7, price=1.19, time_ms=6, lots=0.1)
    assert (first["lots"], first["remaining_lots"], first["profit"]) == (0.1, 0.2, 100.0)
    assert (rest["ticket"], rest["parent_ticket"], rest["lots"], rest["comment"]) == (
        8,
        7,
        0.2,
        "from #7",
    )
    assert rest["open_price"] == opened["open_price"] and rest["open_time_ms"] == 5
    (last,) = account.close(8, price=1.21, time_ms=7)
    assert (last["remaining_lots"], last["profit"], last["commission"]) == (0.0, -200.0, -1.4)
    assert account.orders(9, "EURUSD") == []
    with pytest.raises(LedgerError, match="no open order #8"):
        account.modify(8, sl=1.0, tp=0.0)
    account.open(magic=9, symbol="EURUSD", order_type="BUY", lots=0.1, price=1.2, time_ms=8)
    with pytest.raises(LedgerError, match="cannot close 0.2 lots"):
        account.close(9, price=1.2, time_ms=9, lots=0.2)


def test_first_ticket_derives_from_the_seed():
    first = [all_actions(seed)[0]["ticket"] for seed in SEEDS]
    assert len(set(first)) == 3 and all(10_000_000 <= t < 11_000_000 for t in first)


def test_the_fading_edge_bot_wins_then_loses_on_cue():
    bars = list(random_walk_bars("EURUSD", start_ms=START_MS, count=400, seed=4))
    bot = FadingEdgeBot("EURUSD", bars, fade_after=200, seed=4)
    closes = [
        (bar.end_ms, action)
        for bar in bars
        for action in bot.on_bar(bar)
        if action["action"] == "CLOSE"
    ]
    fade_ms = bars[199].end_ms
    before = [a["profit"] > 0 for t, a in closes if t <= fade_ms]
    after = [a["profit"] > 0 for t, a in closes if t > fade_ms + 3_600_000]
    assert len(before) > 80 and len(after) > 80
    # Not 85%/10%: a move smaller than the spread loses even on the right side.
    assert sum(before) / len(before) > 0.6 and sum(after) / len(after) < 0.3
