from __future__ import annotations

import pytest

from botcopier.streams.retrain_policy import RetrainPolicy, RetrainThresholds

HOUR = 3_600_000


def metrics(win_rate: float, drawdown: float = 0.0, trades: int = 50) -> dict:
    return {"trade_count": trades, "win_rate": win_rate, "max_drawdown": drawdown}


def test_a_flapping_win_rate_asks_once():
    policy = RetrainPolicy(RetrainThresholds(cooldown_ms=HOUR))
    rates = [0.55, 0.41, 0.39, 0.42, 0.38, 0.41, 0.39, 0.43, 0.37]  # hovers around 0.40
    fired = [policy.observe("1:7", metrics(r), i * 10 * HOUR) for i, r in enumerate(rates)]
    assert fired.count("win_rate") == 1 and fired.index("win_rate") == 2


def test_recovery_rearms_and_a_new_drop_fires_after_the_cooldown():
    policy = RetrainPolicy(RetrainThresholds(cooldown_ms=5 * HOUR))
    assert policy.observe("1:7", metrics(0.30), 0) == "win_rate"
    assert policy.observe("1:7", metrics(0.50), 1 * HOUR) is None  # recovered: re-armed
    assert policy.observe("1:7", metrics(0.30), 2 * HOUR) is None  # cooling down
    assert policy.observe("1:7", metrics(0.60), 3 * HOUR) is None
    assert policy.observe("1:7", metrics(0.30), 6 * HOUR) == "win_rate"


def test_drawdown_and_drift_share_the_cooldown():
    policy = RetrainPolicy(RetrainThresholds(max_drawdown=100, drawdown_rearm=80, cooldown_ms=HOUR))
    assert policy.observe("1:7", metrics(0.6, drawdown=150), 0) == "drawdown"
    assert policy.on_drift("1:7", HOUR // 2) is None
    assert policy.on_drift("1:7", 2 * HOUR) == "drift"
    assert policy.on_drift("2:7", 2 * HOUR) == "drift"  # bots are independent


def test_too_few_trades_are_not_judged():
    policy = RetrainPolicy(RetrainThresholds(min_trades=20))
    assert policy.observe("1:7", metrics(0.0, trades=19), 0) is None
    assert policy.observe("1:7", metrics(0.0, trades=20), 1) == "win_rate"


def test_state_round_trips():
    policy = RetrainPolicy(RetrainThresholds(cooldown_ms=HOUR))
    policy.observe("1:7", metrics(0.3), 0)
    restored = RetrainPolicy(RetrainThresholds(cooldown_ms=HOUR))
    restored.load_state(policy.to_state())
    assert restored.observe("1:7", metrics(0.3), HOUR * 2) is None  # still disarmed
    assert restored.on_drift("1:7", HOUR // 2) is None  # still cooling down


def test_inconsistent_hysteresis_is_refused():
    with pytest.raises(ValueError, match="win_rate_rearm"):
        RetrainThresholds(min_win_rate=0.5, win_rate_rearm=0.4)
