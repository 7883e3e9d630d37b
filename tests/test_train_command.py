"""`botcopier train` and `botcopier evaluate` from files and from Kafka fed by the bridge."""

from __future__ import annotations

import asyncio
import json

import pytest

from botcopier.bridge.simulator.run import SimulationPlan, simulate
from botcopier.cli import build_parser, main
from botcopier.trainers.model_document import load_model
from botcopier.trainers.train_command import run_evaluate, run_train
from tests.bridge_harness import ThreadedBridge
from tests.clone_data import simulated_bots
from tests.test_simulate import sim_settings


@pytest.fixture(scope="module")
def bot_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    bars, events = simulated_bots(6_000)
    columns = {"time_ms": "time", "spread_points": "spread", "timeframe_minutes": "timeframe"}
    bars.rename(columns=columns)[
        ["time", "open", "high", "low", "close", "spread", "symbol", "timeframe"]
    ].to_csv(folder / "bars.csv", index=False)
    with (folder / "events.jsonl").open("w") as out:
        for name, mine in events.items():
            for n, event in enumerate(mine):
                out.write(json.dumps({**event, "account": 7, "event_id": f"{name}-{n}"}) + "\n")
    return folder / "bars.csv", folder / "events.jsonl"


def result_fields(output: str) -> dict[str, str]:
    line = [x for x in output.splitlines() if x.startswith("RESULT ")][-1]
    return dict(pair.split("=", 1) for pair in line.split()[1:])


def test_evaluate_scores_a_clone_from_files_and_ends_with_a_result_line(bot_files, capsys):
    bars, events = bot_files
    code = main(["evaluate", "--bars", str(bars), "--events", str(events), "--magic", "1002"])
    output = capsys.readouterr().out
    assert code == 0
    assert output.splitlines()[-1].startswith("RESULT ")
    fields = result_fields(output)
    assert fields["bot"] == "None:1002" and fields["family"] in ("linear", "lightgbm")
    assert float(fields["entry_macro_f1"]) >= 0.95 and float(fields["bar_agreement"]) >= 0.99
    assert "buy_precision" in fields and "close_recall" in fields
    # The entry timing comes last, after the keys that were there before it.
    timing = ["timing_matched_share", "timing_unmatched", "timing_mean_bars",
              "timing_median_bars"]  # fmt: skip
    assert list(fields)[-4:] == timing and list(fields)[:2] == ["bot", "family"]
    assert float(fields["timing_matched_share"]) >= 0.95
    assert float(fields["timing_median_bars"]) == 0.0
    assert "entry timing" in output


def test_train_writes_a_versioned_model_that_evaluate_can_score(bot_files, tmp_path, capsys):
    bars, events = bot_files
    common = ["--bars", str(bars), "--events", str(events), "--magic", "1003"]
    args = ["train", *common, "--model", "lightgbm", "--out", str(tmp_path), "--name", "brk"]
    assert main(args) == 0
    [path] = tmp_path.glob("brk-*.model.json")
    model = load_model(path)
    assert path.name == f"brk-{model['version']}.model.json"
    assert model["bot"]["magic"] == 1003 and model["training"]["source"].startswith("files")
    capsys.readouterr()
    assert main(["evaluate", *common, "--score-model", str(path)]) == 0
    fields = result_fields(capsys.readouterr().out)
    assert fields["family"] == "lightgbm"
    # The same window the trainer kept for its test: the same score.
    expected = model["metrics"]["test"]["entry_macro_f1"]
    assert float(fields["entry_macro_f1"]) == pytest.approx(expected, abs=5e-5)  # 4 decimals


def test_incomplete_or_missing_data_fails_with_a_clear_error(bot_files, tmp_path, capsys):
    bars, events = bot_files
    assert main(["evaluate", "--bars", str(bars)]) == 2
    assert "--bars and --events go together" in capsys.readouterr().err
    assert main(["train", "--bars", str(bars), "--events", str(events), "--magic", "42"]) == 2
    assert "no trade events of the bot" in capsys.readouterr().err
    assert main(["train", "--incremental", "--out", str(tmp_path), "--name", "none",
                 "--bars", str(bars), "--events", str(events), "--magic", "1001"]) == 2  # fmt: skip
    assert "no none-*.model.json" in capsys.readouterr().err


@pytest.mark.broker
def test_train_and_evaluate_read_a_bot_the_bridge_published(fresh_settings, tmp_path):
    settings = sim_settings(fresh_settings)
    plan = SimulationPlan(eas=1, bars=3_000, seed=5)
    with ThreadedBridge(settings):
        result = asyncio.run(simulate(settings, plan, tmp_path / "spool"))
    assert result.complete
    account = plan.account_base + 1
    lines: list[str] = []
    parser = build_parser()
    bot = ["--account", str(account), "--magic", "1001"]
    args = parser.parse_args(["evaluate", *bot, "--model", "lightgbm"])
    assert run_evaluate(settings, args, lines.append) == 0
    fields = result_fields("\n".join(lines))
    assert fields["bot"] == f"{account}:1001"
    assert float(fields["entry_macro_f1"]) >= 0.95
    assert any("trade-events:" in line and "kept" in line for line in lines)  # progress

    args = parser.parse_args(["train", *bot, "--out", str(tmp_path / "models"), "--name", "ma"])
    assert run_train(settings, args, lines.append) == 0
    [path] = (tmp_path / "models").glob("ma-*.model.json")
    training = load_model(path)["training"]
    events_topic = settings.topic("trade-events")
    assert sum(training["offsets"][events_topic].values()) >= sum(r.trades for r in result.reports)
    assert training["last_event_id"] and training["source"] == "kafka"


def test_evaluate_with_a_family_that_is_not_installed_warns_and_uses_lightgbm(
    bot_files, capsys, monkeypatch
):
    from botcopier.trainers import batch

    monkeypatch.setattr(batch.xgboost_family, "available", lambda: False)
    bars, events = bot_files
    common = ["--bars", str(bars), "--events", str(events), "--magic", "1001"]
    assert main(["evaluate", *common, "--model", "xgboost"]) == 0
    output = capsys.readouterr().out
    assert "warning: xgboost is not installed (pip install xgboost-cpu): using LightGBM" in output
    assert result_fields(output)["family"] == "lightgbm"


def test_evaluate_scores_an_eas_decision_log_against_what_the_bot_did(bot_files, tmp_path, capsys):
    from botcopier.trainers.dataset import build_dataset
    from botcopier.trainers.sources import history_from_files

    bars, events = bot_files
    history = history_from_files(bars, events, account=None, magic=1001)
    data = build_dataset(history.bars, history.events)
    truth = list(data.labels)[-500:]
    said = list(truth)
    entries = [i for i, label in enumerate(truth) if label in ("buy", "sell")]
    for i in entries[:4]:
        said[i] = "none"  # the EA missed four of the bot's entries
    times = data.time_ms.to_numpy()[-500:] + 3_600_000
    lines = ["time,symbol,model_version,action,probability,threshold,uncertain,rsi_14"]
    lines += [f"{t},EURUSD,v1,{a},0.9,0.5,0,50" for t, a in zip(times, said, strict=True)]
    lines.append("1,EURUSD,v1,buy,0.9,0.5,0,50")  # not a time: reported
    lines.append("4102444800000,EURUSD,v1,buy,0.9,0.5,0,50")  # 2100: no bar of the bot's
    log = tmp_path / "decisions.csv"
    log.write_text("\n".join(lines) + "\n")
    common = ["--bars", str(bars), "--events", str(events), "--magic", "1001"]
    assert main(["evaluate", *common, "--decisions", str(log)]) == 0
    output = capsys.readouterr().out
    assert "500 logged decisions on the bot's bars; 1 on no bar of its history" in output
    assert "unreadable: " in output and "decisions.csv:502" in output
    fields = result_fields(output)
    assert fields["family"] == "decisions" and fields["test_bars"] == "500"
    assert float(fields["bar_agreement"]) == pytest.approx(496 / 500)
    support = int(fields["buy_support"]) + int(fields["sell_support"])
    assert support == len(entries)
