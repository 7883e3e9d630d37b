"""The demo's shipping step: a trained clone published, synced into MT4's Files folder,
generated as a strategy EA, and backtested on the bars it never learned from.

Publish puts the model on the compacted ``models`` topic; ``filesync --once`` writes it into
the demo ``MQL4/Files`` folder atomically and checks its SHA-256; ``generate`` writes the EA
that reads that file; the backtest trades the clone over the bot's bars after its training
window, with the EA's rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botcopier.codegen.generate import generate
from botcopier.config import Settings
from botcopier.streams.filesync import run_filesync
from botcopier.trainers.backtest import BacktestInputs, run_backtest
from botcopier.trainers.backtest_report import describe, report
from botcopier.trainers.model_document import load_model
from botcopier.trainers.publishing import RecordPublisher, model_published_record
from botcopier.trainers.sources import history_from_kafka

Say = Callable[[str], None]


@dataclass(frozen=True)
class Shipped:
    synced: Path | None  # the model file file-sync wrote, when its bytes match the record
    expert: Path | None
    backtest_trades: int


def ship_clone(settings: Settings, model_path: Path, mt4_root: Path, say: Say) -> Shipped:
    model = load_model(model_path)
    record = model_published_record(model)
    publisher = RecordPublisher(settings)
    publisher.send("models", "ModelPublished", model["name"], record)
    publisher.flush()
    say(f"published {model['name']} {model['version']} (sha256 {record['sha256'][:12]}…)")

    files = mt4_root / "MQL4" / "Files"
    files.mkdir(parents=True, exist_ok=True)
    run_filesync(settings, say, extra_dirs=[files], once=True, metrics_port=0)
    synced = files / f"{model['name']}.model.json"
    matches = (
        synced.exists() and hashlib.sha256(synced.read_bytes()).hexdigest() == record["sha256"]
    )
    say(f"file-sync wrote {synced}: checksum matches the published record: {matches}")

    expert = generate([model], mt4_root).expert
    say(f"strategy EA: {expert} (MQL4 lint and frame parity passed)")

    bot = model["bot"]
    history = history_from_kafka(settings, bot["account"], bot["magic"], symbol=bot["symbol"])
    inputs = BacktestInputs()
    result = run_backtest([model], history.bars, inputs, start_ms=model["training"]["until_ms"])
    document = report([model], result, inputs, market="demo bars from Kafka")
    say("backtest on the bars after the training window:")
    for line in describe(document):
        say(f"  {line}")
    return Shipped(synced if matches else None, expert, len(result.trades))
