"""Real clone documents and a `botcopier` runner for the shipping tests."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from botcopier.cli import main
from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.streams.filesync import FileSync, serve
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.model_document import model_version, validate_model
from botcopier.trainers.publishing import RecordPublisher, model_published_record
from tests.clone_data import simulated_bots
from tests.helpers import consume_to_end

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


def published(settings: Settings) -> list[dict[str, Any]]:
    """Every record on the models topic, decoded, oldest first."""
    codec, topic = ValueCodec.from_settings(settings), settings.topic("models")
    return [codec.decode(m.value(), topic=topic).record for m in consume_to_end(settings, topic)]


def publish_docs(settings: Settings, *docs: dict[str, Any]) -> None:
    publisher = RecordPublisher(settings)
    for doc in docs:
        publisher.send("models", "ModelPublished", doc["name"], model_published_record(doc))
    publisher.flush()


def sync_once(settings: Settings, files: Path, keep: int = 5) -> FileSync:
    """`botcopier filesync --once` into ``files``; the FileSync, to read its counters."""
    sync = FileSync([files], keep, say=print)
    serve(settings, sync, print, once=True)
    return sync
