"""Real clone documents and a `botcopier` runner for the shipping tests."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest

from botcopier.cli import main
from botcopier.config import Settings
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.model_document import model_version, validate_model
from tests.clone_data import simulated_bots

BOT = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}


@cache
def _trained(bot: str, name: str, c: float) -> dict[str, Any]:
    bars, events = simulated_bots(2_000)
    options = TrainOptions(family="linear", c=c)
    return train_clone(build_dataset(bars, events[bot]), BOT, name, options).document


def trained_clone(name: str, bot: str = "ma-cross", c: float = 1.0) -> dict[str, Any]:
    """A linear clone of a simulated bot, trained for real (cached per arguments)."""
    return copy.deepcopy(_trained(bot, name, c))


def variant(doc: dict[str, Any], index: int, test_f1: float) -> dict[str, Any]:
    """``doc`` as if trained ``index`` seconds later and scored ``test_f1`` on its test bars."""
    out = copy.deepcopy(doc)
    out["created_ms"] = doc["created_ms"] + 1000 * index
    out["metrics"]["test"]["entry_macro_f1"] = test_f1
    out["version"] = model_version(out["created_ms"], {"of": doc["version"], "i": index})
    return validate_model(out)


class Cli:
    """Runs `botcopier ARGS` in this process against the test's broker and topics."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path):
        self.capsys = capsys
        monkeypatch.chdir(tmp_path)  # no stray ./botcopier.toml
        for key, value in {
            "KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "PATHS__STATE_DIR": str(tmp_path / "state"),
            "FILESYNC__METRICS_PORT": "0",
        }.items():
            monkeypatch.setenv(f"BOTCOPIER_{key}", value)
        monkeypatch.delenv("BOTCOPIER_CONFIG", raising=False)

    def __call__(self, *args: object) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([str(a) for a in args])
        out = self.capsys.readouterr()
        return code, out.out, out.err
