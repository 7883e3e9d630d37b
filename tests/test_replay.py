"""Decision replay: a newer model re-scores an EA's decision log; divergences feed training."""

from __future__ import annotations

import numpy as np

from botcopier.cli import main
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.model_document import save_model
from botcopier.trainers.model_eval import decide, predict_proba
from botcopier.trainers.sample_weights import sample_weights
from tests.clone_data import simulated_bots

BOT = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}


def write_log(path, data, actions, names) -> None:
    """A decision log as the generated EA writes it (time = decision time, ms UTC)."""
    header = "time,symbol,model_version,action,probability,threshold,uncertain," + ",".join(names)
    lines = [header]
    decision_ms = data.time_ms.to_numpy() + 3_600_000
    for t, action, row in zip(decision_ms, actions, data.features[names].to_numpy(), strict=True):
        lines.append(f"{t},EURUSD,v0,{action},0.9,0.5,0," + ",".join(repr(float(v)) for v in row))
    lines.insert(5, "garbage,line")
    path.write_text("\n".join(lines) + "\n")


def test_replay_finds_exactly_the_decisions_a_model_now_makes_otherwise(tmp_path, capsys):
    bars, events = simulated_bots(2_000)
    data = build_dataset(bars, events["rsi-reversion"])
    model = train_clone(data, BOT, "rsi", TrainOptions(family="lightgbm", rounds=40)).document
    names = [f["name"] for f in model["features"]]
    now = decide(model, predict_proba(model, data.features[names].to_numpy(float)))
    logged = list(now)
    rng = np.random.default_rng(0)
    flipped = sorted(rng.choice(len(logged), size=25, replace=False).tolist())
    for i in flipped:  # the old model decided otherwise on these bars
        logged[i] = "sell" if logged[i] != "sell" else "none"
    log = tmp_path / "decisions.csv"
    write_log(log, data, logged, names)
    path = save_model(model, tmp_path / "model.json")
    out = tmp_path / "div.csv"
    code = main(["replay", str(log), str(path), "--weight", "3", "--out", str(out)])
    output = capsys.readouterr().out
    assert code == 1  # the garbage line is reported, not dropped
    assert "decisions.csv:6" in output and f"{len(flipped)} diverge" in output
    decision_ms = data.time_ms.to_numpy() + 3_600_000
    weighted = sample_weights(decision_ms, replay_file=out, replay_weight=3.0)
    assert weighted.matched == len(flipped) and not weighted.unmatched and not weighted.problems
    assert np.flatnonzero(weighted.weights == 3.0).tolist() == flipped
    assert f"--replay-file {out} --replay-weight 3" in output
