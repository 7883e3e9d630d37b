"""`botcopier train` extras: machine mode and its flags, review weights, stops, risk parity."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from botcopier.bridge.simulator import random_walk_bars
from botcopier.cli import main
from botcopier.trainers.model_document import load_model
from tests.clone_data import START_MS, simulated_bots


def write_history(folder, second_symbol: bool = True):
    bars, events = simulated_bots(3_000)
    frames = [bars]
    if second_symbol:
        other = random_walk_bars("GBPUSD", start_ms=START_MS, count=3_000, seed=4)
        frames.append(pd.DataFrame([dataclasses.asdict(b) for b in other]))
    names = {"time_ms": "time", "spread_points": "spread", "timeframe_minutes": "timeframe"}
    columns = ["time", "open", "high", "low", "close", "spread", "symbol", "timeframe"]
    table = pd.concat(frames).sort_values(["time_ms", "symbol"], kind="stable")
    table.rename(columns=names)[columns].to_csv(folder / "bars.csv", index=False)
    with (folder / "events.jsonl").open("w") as out:
        for n, event in enumerate(events["ma-cross"]):
            out.write(json.dumps({**event, "event_id": f"e{n}"}) + "\n")
    return bars, events["ma-cross"]


def train(folder, *extra: str, name: str = "ma") -> dict:
    args = ["train", "--bars", str(folder / "bars.csv"), "--events", str(folder / "events.jsonl"),
            "--out", str(folder / "models"), "--name", name, *extra]  # fmt: skip
    assert main(args) == 0
    [path] = (folder / "models").glob(f"{name}-*.model.json")
    return load_model(path)


def test_stops_and_risk_parity_land_in_the_model(tmp_path):
    write_history(tmp_path)
    model = train(tmp_path, "--model", "lightgbm", "--regress-sl-tp", "--risk-parity")
    sl = model["stops"]["sl_distance"]
    assert abs(sl["intercept"] - 0.0060) < 1e-9 and sl["rows"] > 20  # the bot's 60-pip stop
    assert model["stops"]["tp_distance"] is None  # it sets no target: nothing invented
    parity = model["risk_parity"]
    assert parity["symbols"] == ["EURUSD", "GBPUSD"] and abs(sum(parity["weights"]) - 1) < 1e-9
    assert model["mode"] in ("lite", "standard", "heavy", "deep")


def test_lite_mode_forbids_trees_and_batches_the_training(tmp_path, capsys):
    write_history(tmp_path, second_symbol=False)
    model = train(tmp_path, "--model", "lightgbm", "--mode", "lite")
    assert model["mode"] == "lite" and model["feature_flags"]["lightgbm"] is False
    assert model["estimator"]["family"] == "linear" and model["training"]["lite"] is True
    output = capsys.readouterr().out
    assert "allows no tree models" in output and "lite pass 2/2" in output
    # An option that needs the whole history keeps the ordinary trainer, still linear.
    model = train(tmp_path, "--model", "lightgbm", "--mode", "lite", "--regress-sl-tp", name="s")
    assert model["mode"] == "lite" and model["estimator"]["family"] == "linear"
    assert "lite" not in model["training"] and model["stops"]["sl_distance"] is not None
    assert "--regress-sl-tp need the whole history; not batching it" in capsys.readouterr().out
    # The standard mode batches nothing.
    model = train(tmp_path, "--mode", "standard", name="std")
    assert model["mode"] == "standard" and "lite" not in model["training"]
    args = ["train", "--bars", str(tmp_path / "bars.csv"), "--events",
            str(tmp_path / "events.jsonl"), "--mode", "standard", "--search", "3"]  # fmt: skip
    assert main(args) == 2
    assert "does not allow --search" in capsys.readouterr().err


def test_review_files_weigh_rows_and_a_human_label_replaces_the_bots(tmp_path, capsys):
    bars, events = write_history(tmp_path, second_symbol=False)
    decided = int(bars["time_ms"].iloc[2_000] + 3_600_000)
    (tmp_path / "uncertain.csv").write_text(
        f"decision_time_ms,label\n{decided},buy\n{decided + 7 * 86_400_000 * 52},sell\nx,buy\n"
    )
    (tmp_path / "replay.csv").write_text(f"decision_time_ms\n{decided + 3_600_000}\n")
    model = train(tmp_path, "--uncertain-file", str(tmp_path / "uncertain.csv"),
                  "--replay-file", str(tmp_path / "replay.csv"))  # fmt: skip
    summary = model["training"]["sample_weights"]
    assert summary["label_overrides"] == 1 and summary["weighted_rows"] == 2
    assert summary["unmatched"] == 1 and summary["problems"] == 1
    out = capsys.readouterr().out
    assert "uncertain.csv:3: matches no training bar" in out and "uncertain.csv:4" in out
