"""`botcopier train --bars --events` on the seed's own ``trades_raw.csv``, with no Kafka."""

from __future__ import annotations

import pytest

from botcopier.cli import main
from botcopier.trainers.labels import position_state
from botcopier.trainers.model_document import load_model
from botcopier.trainers.sources import history_from_files
from tests.seed_files import ACCOUNT, write_bot_files


@pytest.fixture(scope="module")
def bot_files(tmp_path_factory):
    return write_bot_files(tmp_path_factory.mktemp("seed-files"))


def test_a_seed_trade_log_reads_as_the_same_history_as_our_events(bot_files):
    bars, trades_raw, jsonl = bot_files
    lines: list[str] = []
    seed = history_from_files(bars, trades_raw, account=ACCOUNT, magic=1003, say=lines.append)
    ours = history_from_files(bars, jsonl, account=ACCOUNT, magic=1003)
    assert lines == []  # no bad rows
    assert len(seed.events) == len(ours.events) > 50
    assert [e["event_time_ms"] for e in seed.events] == [e["event_time_ms"] for e in ours.events]
    # The importer's derivations: the ids are the seed's, the account comes from --account.
    ids = [e["event_id"] for e in seed.events]
    assert len(set(ids)) == len(ids) and all(i.startswith("import:trade:7:") for i in ids)
    assert {e["account"] for e in seed.events} == {ACCOUNT}
    # What the bot did and held on every bar is the same, whichever file it came from.
    labelled = position_state(seed.bars, seed.events)
    expected = position_state(ours.bars, ours.events)
    assert labelled.equals(expected)
    assert (labelled["label"] != "none").sum() > 50


def test_train_clones_a_bot_from_a_seed_trade_log_without_kafka(bot_files, tmp_path, capsys):
    bars, trades_raw, _ = bot_files
    args = ["train", "--bars", str(bars), "--events", str(trades_raw), "--account", "7"]
    options = ["--magic", "1001", "--model", "lightgbm", "--rounds", "60", "--out", str(tmp_path)]
    assert main([*args, *options]) == 0
    [path] = tmp_path.glob("clone-7-1001-*.model.json")
    model = load_model(path)
    assert model["bot"] == {
        "account": 7, "magic": 1001, "symbol": "EURUSD", "timeframe_minutes": 60
    }  # fmt: skip
    assert model["metrics"]["test"]["entry_macro_f1"] >= 0.95
    assert "trades_raw.csv" in model["training"]["source"]
    assert "wrote" in capsys.readouterr().out


def test_a_trade_log_that_cannot_train_is_refused_in_one_line(bot_files, tmp_path, capsys):
    bars, trades_raw, _ = bot_files

    def refusal(events, *more) -> str:
        assert main(["train", "--bars", str(bars), "--events", str(events), *more]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err  # no traceback
        return err

    # The seed's first EA logs no account: the option stands in for it, as for `import`.
    assert "trades header lacks account (or pass --account)" in refusal(trades_raw)
    # Two bots in one log: which one to clone is the user's to say.
    assert "holds the trades of 2 bots (account:magic 7:1001, 7:1003)" in refusal(
        trades_raw, "--account", "7"
    )
    unknown = tmp_path / "orders.csv"
    unknown.write_text("when;what\n2024.01.02 10:00;BUY\n")
    err = refusal(unknown, "--account", "7", "--magic", "1")
    assert f"{unknown}:1: trades header lacks event_time, action, ticket" in err
    broken = tmp_path / "events.jsonl"
    broken.write_text('{"action": "OPEN", "event_time_ms": 1}\nnot json\n')
    assert f"{broken}:2: not a trade event" in refusal(broken, "--magic", "1")


def test_bad_rows_of_a_seed_log_are_named_and_skipped_as_import_skips_them(bot_files, tmp_path):
    bars, trades_raw, _ = bot_files
    lines = trades_raw.read_text().splitlines()
    lines[3] = lines[3].replace(";OPEN;", ";OPENED;").replace(";CLOSE;", ";CLOSED;")
    damaged = tmp_path / "trades_raw.csv"
    damaged.write_text("\n".join(lines) + "\n")
    said: list[str] = []
    history = history_from_files(bars, damaged, account=7, magic=1001, say=said.append)
    assert said[0].startswith(f"{damaged}:4: unknown action")
    assert said[-1] == "trades_raw.csv: 1 bad rows skipped, as `botcopier import` skips them"
    assert history.events
