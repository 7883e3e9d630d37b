"""Multi-armed bandits that choose which model a strategy EA trades with.

An arm is one model. The EA asks which arm to use (`choose`), trades with it, and reports the
trade's outcome as a reward (`update`). The reward is any finite real number: the trade's
profit in account currency, in pips, or as a multiple of the risk taken; the unit does not
matter as long as every report uses the same one.

What the bandits maximise
-------------------------
Both algorithms look for the arm with the highest **mean reward per trade** (the expected
profit), because that is what a trader lives on: a win rate would prefer a model with many
small wins and rare ruinous losses. Both are scale-free: multiplying every reward by 100 (pips
instead of points) changes no choice.

- `ThompsonSampling` (Gaussian): each arm's mean has a normal posterior with centre the arm's
  mean reward and variance ``var / pulls``; ``var`` is the arm's own sample variance
  shrunk towards the variance pooled over all arms by one pseudo-observation, so a new arm
  with one lucky trade is not taken as certain. It draws one mean per arm and picks the
  highest. Rewards of only 0 and 1 behave much like Beta-Bernoulli Thompson sampling.
- `UCB1`: arms never rewarded first (lowest index first), then the highest
  ``mean + range * sqrt(2 ln total / pulls)``, ``range`` being the spread of all rewards seen
  (UCB1's bonus assumes rewards in [0, 1]; scaling by the range keeps it scale-free).

``pulls`` counts rewards, the evidence the estimates rest on; ``choices`` counts how often an
arm was handed out (an EA may ask without trading, and rewards come when trades close).
UCB1 is deterministic, so many choices before the first rewards all go to the same arm;
Thompson sampling spreads them, which is why it is the router's default.

The state (`to_dict` / `from_dict`) is plain data and the same for both algorithms, so a
router can switch algorithm and keep what it learned.

Examples
--------
>>> bandit = make_bandit("ucb", ["trend", "range"], seed=1)
>>> bandit.choose(), bandit.update(0, 5.0).pulls
(0, 1)
>>> bandit.choose()  # the unexplored arm next
1
>>> bandit.update(1, -2.0).mean_reward
-2.0
>>> bandit.choose()
0
>>> make_bandit("thompson", ["a", "b"]).to_dict()["arms"][0]
{'name': 'a', 'pulls': 0, 'choices': 0, 'reward_sum': 0.0, 'reward_m2': 0.0, 'min_reward': None, 'max_reward': None}
"""  # noqa: E501

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from botcopier.bridge.exceptions import RouterError

ALGORITHMS = ("thompson", "ucb")


@dataclass
class ArmStats:
    """Running statistics of one arm (Welford's mean and sum of squared deviations)."""

    name: str
    pulls: int = 0
    choices: int = 0
    reward_sum: float = 0.0
    reward_m2: float = 0.0
    min_reward: float | None = None
    max_reward: float | None = None

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.pulls if self.pulls else 0.0

    def update(self, reward: float) -> None:
        old_mean = self.mean_reward
        self.pulls += 1
        self.reward_sum += reward
        self.reward_m2 += (reward - old_mean) * (reward - self.mean_reward)
        self.min_reward = reward if self.min_reward is None else min(self.min_reward, reward)
        self.max_reward = reward if self.max_reward is None else max(self.max_reward, reward)

    def summary(self, index: int) -> dict[str, Any]:
        """What the HTTP replies show of the arm."""
        return {
            "arm": index,
            "name": self.name,
            "pulls": self.pulls,
            "choices": self.choices,
            "mean_reward": self.mean_reward,
        }


class Bandit:
    """Base class: arms' statistics, rewards, state; subclasses implement `_pick`."""

    algorithm = ""

    def __init__(self, names: Sequence[str], seed: int | None = None) -> None:
        if not names:
            raise RouterError("a bandit needs at least one arm")
        if len(set(names)) != len(names):
            raise RouterError(f"arm names must be distinct: {list(names)}")
        self.arms = [ArmStats(str(name)) for name in names]
        self._rng = random.Random(seed)  # noqa: S311 - exploration, not secrets

    def choose(self) -> int:
        """The arm to use next (its index); counts the choice."""
        arm = self._pick()
        self.arms[arm].choices += 1
        return arm

    def update(self, arm: int, reward: float) -> ArmStats:
        """Learn ``reward`` for ``arm``; returns the arm's updated statistics."""
        if not 0 <= arm < len(self.arms):
            raise RouterError(f"no arm {arm}: arms are 0..{len(self.arms) - 1}")
        if not math.isfinite(reward):
            raise RouterError(f"reward must be a finite number, not {reward!r}")
        self.arms[arm].update(float(reward))
        return self.arms[arm]

    def to_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "arms": [asdict(arm) for arm in self.arms]}

    def load(self, state: dict[str, Any]) -> None:
        """Take over the arms' statistics of ``state`` (same arm names, same order)."""
        try:
            names = [arm["name"] for arm in state["arms"]]
            if names != [arm.name for arm in self.arms]:
                raise RouterError(
                    f"the saved state has arms {names}, not {[arm.name for arm in self.arms]}"
                )
            self.arms = [_arm_from_dict(arm) for arm in state["arms"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise RouterError(f"not a bandit state: {exc!r}") from exc

    def _pick(self) -> int:
        raise NotImplementedError

    def _unexplored(self) -> int | None:
        return next((i for i, arm in enumerate(self.arms) if arm.pulls == 0), None)

    def _argmax(self, scores: list[float]) -> int:
        best = max(scores)
        # Random among ties, so equal arms share the traffic instead of the first taking all.
        return self._rng.choice([i for i, score in enumerate(scores) if score == best])


class ThompsonSampling(Bandit):
    """Gaussian Thompson sampling on the mean reward (see the module docstring)."""

    algorithm = "thompson"

    def _pick(self) -> int:
        unexplored = self._unexplored()
        if unexplored is not None:
            return unexplored
        pooled = self._pooled_variance()
        draws = []
        for arm in self.arms:
            variance = (arm.reward_m2 + pooled) / arm.pulls
            draws.append(self._rng.gauss(arm.mean_reward, math.sqrt(variance / arm.pulls)))
        return self._argmax(draws)

    def _pooled_variance(self) -> float:
        m2 = sum(arm.reward_m2 for arm in self.arms)
        dof = sum(arm.pulls - 1 for arm in self.arms if arm.pulls)
        pooled = m2 / dof if dof > 0 else 0.0
        # No spread seen yet: keep exploring on the scale of the rewards themselves.
        if pooled <= 0.0:
            scale = max(abs(arm.mean_reward) for arm in self.arms)
            pooled = scale * scale if scale > 0 else 1.0
        return pooled


class UCB1(Bandit):
    """UCB1 on the mean reward, its bonus scaled by the range of rewards seen."""

    algorithm = "ucb"

    def _pick(self) -> int:
        unexplored = self._unexplored()
        if unexplored is not None:
            return unexplored
        low = min(arm.min_reward for arm in self.arms if arm.min_reward is not None)
        high = max(arm.max_reward for arm in self.arms if arm.max_reward is not None)
        spread = (high - low) or 1.0
        log_total = math.log(sum(arm.pulls for arm in self.arms))
        return self._argmax(
            [arm.mean_reward + spread * math.sqrt(2.0 * log_total / arm.pulls) for arm in self.arms]
        )


def _arm_from_dict(data: dict[str, Any]) -> ArmStats:
    def number(key: str, kind: type, optional: bool = False) -> Any:
        value = data.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RouterError(f"arm {data.get('name')!r}: {key} {value!r} is not a number")
        if kind is int and value != int(value):
            raise RouterError(f"arm {data.get('name')!r}: {key} {value!r} is not a count")
        if not math.isfinite(value) or (kind is int and value < 0):
            raise RouterError(f"arm {data.get('name')!r}: {key} {value!r} is out of range")
        return kind(value)

    arm = ArmStats(
        name=str(data["name"]),
        pulls=number("pulls", int),
        choices=number("choices", int),
        reward_sum=number("reward_sum", float),
        reward_m2=number("reward_m2", float),
        min_reward=number("min_reward", float, optional=True),
        max_reward=number("max_reward", float, optional=True),
    )
    if arm.pulls and (arm.min_reward is None or arm.max_reward is None or arm.reward_m2 < 0):
        raise RouterError(f"arm {arm.name!r}: inconsistent statistics {data}")
    return arm


def make_bandit(algorithm: str, names: Sequence[str], seed: int | None = None) -> Bandit:
    """A bandit of ``algorithm`` (``thompson`` or ``ucb``) over arms ``names``."""
    if algorithm == "thompson":
        return ThompsonSampling(names, seed)
    if algorithm == "ucb":
        return UCB1(names, seed)
    raise RouterError(f"unknown algorithm {algorithm!r} (one of {', '.join(ALGORITHMS)})")
