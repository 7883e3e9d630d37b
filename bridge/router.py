"""The model router's core: a bandit over named models, its state kept in a file.

Arms are models. ``--models 3`` makes arms named ``"0"``, ``"1"``, ``"2"``;
``--models trend,range`` names them. Every reply gives both the arm's index (``arm``, what the
EA uses) and its ``name``; a request may name an arm either way. Names are therefore never
plain integers (``"7"`` would be ambiguous), except in the counted form where name and index
agree.

The state file is JSON written atomically (temporary file, fsync, rename, fsync of the folder)
after every reward and when the router stops, so a crash loses at most the choice counts
since the last reward, never a reward that was acknowledged. A file that cannot be read back
is an error and is left untouched. The statistics do not depend on the algorithm: restarting
with another ``--algorithm`` keeps what was learned. The arms must be the same, in the same
order.

Examples
--------
>>> import pathlib, tempfile
>>> state_file = pathlib.Path(tempfile.mkdtemp()) / "router.json"
>>> router = ModelRouter.open(state_file, arm_names("trend,range"), "ucb")
>>> router.choose()
{'arm': 0, 'name': 'trend', 'algorithm': 'ucb', 'pulls': 0}
>>> router.reward("trend", "12.5")["mean_reward"]
12.5
>>> restarted = ModelRouter.open(state_file, ["trend", "range"], "ucb")
>>> restarted.state() == router.state(), restarted.choose()["name"]
(True, 'range')
>>> router.reward("3", 1.0)
Traceback (most recent call last):
...
botcopier.bridge.exceptions.RouterError: no arm '3': arms are 0..1 or trend, range
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botcopier.atomic_file import write_atomic
from botcopier.bridge.bandit import Bandit, make_bandit
from botcopier.bridge.exceptions import RouterError, RouterStateError

STATE_FORMAT = "botcopier-router"
STATE_VERSION = 1


def arm_names(models: str) -> list[str]:
    """Arm names from ``--models``: a count (``"3"`` → ``0, 1, 2``) or names, comma-separated.

    Examples
    --------
    >>> arm_names("3"), arm_names(" trend, range ")
    (['0', '1', '2'], ['trend', 'range'])
    """
    text = models.strip()
    if text.isdigit():
        count = int(text)
        if count < 1:
            raise RouterError("--models needs at least one model")
        return [str(i) for i in range(count)]
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise RouterError(f"--models {models!r}: empty model name")
    numeric = [name for name in names if name.lstrip("+-").isdigit()]
    if numeric:
        raise RouterError(f"model names must not be integers (they name arms by index): {numeric}")
    if len(set(names)) != len(names):
        raise RouterError(f"--models {models!r}: a model is named twice")
    return names


class ModelRouter:
    """A bandit, a lock and a state file: what the HTTP service serves. Thread-safe."""

    def __init__(self, bandit: Bandit, state_file: Path) -> None:
        self.bandit = bandit
        self.state_file = Path(state_file)
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        state_file: Path,
        names: Sequence[str],
        algorithm: str,
        seed: int | None = None,
    ) -> ModelRouter:
        """A router over ``names``, continuing from ``state_file`` when it exists."""
        bandit = make_bandit(algorithm, names, seed)
        state = read_state(Path(state_file))
        if state is not None:
            try:
                bandit.load(state)
            except RouterError as exc:
                raise RouterStateError(
                    f"{state_file}: {exc}; the file is left as it is (pass the same --models, "
                    "or another --state-file to start afresh)"
                ) from exc
        return cls(bandit, Path(state_file))

    def choose(self) -> dict[str, Any]:
        with self._lock:
            arm = self.bandit.choose()
            return {
                "arm": arm,
                "name": self.bandit.arms[arm].name,
                "algorithm": self.bandit.algorithm,
                "pulls": self.bandit.arms[arm].pulls,
            }

    def reward(self, arm: str | int, reward: str | float) -> dict[str, Any]:
        """Learn a reward and save the state; returns the arm's updated summary.

        Nothing changes when the arm or reward is bad (`RouterError`) or the state cannot be
        saved (`OSError`).
        """
        index = self.resolve(arm)
        value = parse_reward(reward)
        with self._lock:
            before = dataclasses.replace(self.bandit.arms[index])
            stats = self.bandit.update(index, value)
            try:
                self._save_locked()
            except OSError:
                # An unsaved reward must not be acknowledged, nor counted twice when resent.
                self.bandit.arms[index] = before
                raise
            return stats.summary(index)

    def state(self) -> dict[str, Any]:
        """The statistics as the state file holds them, plus each arm's mean reward."""
        with self._lock:
            state = self._state_locked()
        for arm in state["arms"]:
            arm["mean_reward"] = arm["reward_sum"] / arm["pulls"] if arm["pulls"] else 0.0
        return state

    def save(self) -> None:
        with self._lock:
            self._save_locked()

    def resolve(self, arm: str | int) -> int:
        """The index of the arm named or numbered by ``arm``."""
        names = [stats.name for stats in self.bandit.arms]
        text = str(arm).strip()
        if text in names:
            return names.index(text)
        if isinstance(arm, int | str) and not isinstance(arm, bool) and text.isdigit():
            if int(text) < len(names):
                return int(text)
        raise RouterError(f"no arm {text!r}: arms are 0..{len(names) - 1} or {', '.join(names)}")

    def _state_locked(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "version": STATE_VERSION, **self.bandit.to_dict()}

    def _save_locked(self) -> None:
        write_atomic(self.state_file, json.dumps(self._state_locked(), indent=1) + "\n")


def parse_reward(reward: str | float) -> float:
    """A finite float from a JSON number or a form field.

    Examples
    --------
    >>> parse_reward("-3.5"), parse_reward(2)
    (-3.5, 2.0)
    """
    if isinstance(reward, bool) or not isinstance(reward, int | float | str):
        raise RouterError(f"reward must be a number, not {reward!r}")
    try:
        value = float(reward)
    except ValueError:
        raise RouterError(f"reward must be a number, not {reward!r}") from None
    if not math.isfinite(value):
        raise RouterError(f"reward must be a finite number, not {reward!r}")
    return value


def read_state(path: Path) -> dict[str, Any] | None:
    """The saved state, None when there is no file; `RouterStateError` when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RouterStateError(f"cannot read router state {path}: {exc}") from exc
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RouterStateError(
            f"{path} is not valid JSON ({exc}); the file is left as it is: move it away or "
            "pass another --state-file to start afresh"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise RouterStateError(f"{path} is not a router state file; the file is left as it is")
    if state.get("version") != STATE_VERSION:
        raise RouterStateError(f"{path}: unsupported state version {state.get('version')!r}")
    return state
