"""Lite mode: chunked rows equal the whole history's, streamed scores equal clone_scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from botcopier.bridge.simulator.exceptions import MarketDataError
from botcopier.bridge.simulator.market import read_bars_csv
from botcopier.cli import main
from botcopier.trainers.batch import train_clone
from botcopier.trainers.dataset import NotEnoughDataError, build_dataset, time_split
from botcopier.trainers.labels import LABELS
from botcopier.trainers.lite import ChunkedFeatures, LiteModeError, frame_chunks, train_lite
from botcopier.trainers.lite_files import read_bar_chunks
from botcopier.trainers.lite_stats import Reservoir, RunningMoments, StreamingScores
from botcopier.trainers.model_document import load_model, save_model
from botcopier.trainers.model_eval import decide, predict_proba
from botcopier.trainers.scores import clone_scores
from tests.clone_data import simulated_bots

CHART = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}
# Recursive indicators: a chunk's context seeds them afresh, and their warm-up is the number
# of bars after which the seed weighs under 1e-9. Every other feature is a window of bars.
RECURSIVE = {"ema_gap_20", "rsi_14", "macd_main", "macd_signal"}


def all_bots_as_one(count: int) -> tuple[pd.DataFrame, list[dict]]:
    """Every simulated bot's events as one bot's: positions overlap, net, outlive chunks."""
    bars, events = simulated_bots(count)
    merged = sorted((e for mine in events.values() for e in mine), key=lambda e: e["event_time_ms"])
    return bars, merged


SIZES = [(7, 1_500), (97, 3_000), (304, 3_000), (1_000, 3_000), (5_000, 3_000)]


@pytest.mark.parametrize(("chunk_rows", "bars_count"), SIZES)
def test_chunked_rows_equal_the_whole_historys(chunk_rows, bars_count):
    bars, events = all_bots_as_one(bars_count)
    full = build_dataset(bars, events)
    stream = ChunkedFeatures(events)
    blocks = list(stream.rows(frame_chunks(bars, chunk_rows)()))
    assert stream.bars == len(bars) and stream.skipped == 0
    index = np.concatenate([b.index for b in blocks])
    assert index.tolist() == list(range(len(full)))
    np.testing.assert_array_equal(np.concatenate([b.labels for b in blocks]), full.labels)
    np.testing.assert_array_equal(np.concatenate([b.time_ms for b in blocks]), full.time_ms)
    x = np.concatenate([b.x for b in blocks])
    for j, name in enumerate(full.features.columns):
        expected = full.features[name].to_numpy()
        if name in RECURSIVE:
            tolerance = 1e-9 * max(1.0, float(np.abs(expected).max()))
            assert np.abs(x[:, j] - expected).max() <= tolerance, name
        else:
            np.testing.assert_array_equal(x[:, j], expected, err_msg=name)
    assert set(full.labels) == set(LABELS), "every label should occur"


def test_streamed_events_give_the_rows_a_list_gives_and_must_come_in_time_order():
    bars, events = all_bots_as_one(2_000)
    listed = list(ChunkedFeatures(events).rows(frame_chunks(bars, 300)()))
    streamed = list(ChunkedFeatures(lambda: iter(events)).rows(frame_chunks(bars, 300)()))
    for a, b in zip(listed, streamed, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.labels, b.labels)
    swapped = [events[1], events[0], *events[2:]]
    assert swapped[0]["event_time_ms"] > swapped[1]["event_time_ms"]
    with pytest.raises(LiteModeError, match="event 2 .* streamed events must come in time order"):
        list(ChunkedFeatures(lambda: swapped).rows(frame_chunks(bars, 300)()))


def test_streaming_scores_equal_clone_scores_over_the_same_rows():
    rng = np.random.default_rng(4)
    truth = rng.choice(["none", "none", "none", "buy", "sell", "close"], size=5_000)
    said = np.where(rng.random(5_000) < 0.8, truth, rng.choice(["none", "buy"], size=5_000))
    scores = StreamingScores()
    for start in range(0, 5_000, 613):
        scores.update(truth[start : start + 613], said[start : start + 613])
    assert scores.get() == clone_scores(list(truth), list(said))
    # A class nobody said and nobody did scores 1, as clone_scores has it.
    only = StreamingScores()
    only.update(["none", "buy"], ["none", "none"])
    assert only.get() == clone_scores(["none", "buy"], ["none", "none"])
    with pytest.raises(ValueError, match="labels outside"):
        only.update(["hold"], ["none"])


def test_running_moments_match_numpy_over_all_rows():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(10_000, 3)) * [1.0, 1e-4, 50.0] + [0.0, 1.1, 1e3]
    moments = RunningMoments(3)
    for start in range(0, len(x), 777):
        moments.update(x[start : start + 777])
    assert moments.count == len(x)
    np.testing.assert_allclose(moments.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.std(), x.std(axis=0), rtol=1e-10)


def test_the_reservoir_keeps_every_row_until_full_then_a_uniform_sample():
    small = Reservoir(100, 1, seed=1)
    small.update(np.arange(60.0)[:, None])
    assert small.sample()[:, 0].tolist() == list(range(60))
    sample = Reservoir(1_000, 1, seed=1)
    for start in range(0, 100_000, 4_096):
        sample.update(np.arange(start, min(start + 4_096, 100_000), dtype=float)[:, None])
    values = sample.sample()[:, 0]
    assert len(values) == 1_000 and len(set(values)) == 1_000
    # Uniform over 0..99,999: mean 50,000 with a standard error of ~913; every tenth visited.
    assert abs(values.mean() - 50_000) < 4_000
    assert set((values // 10_000).astype(int)) == set(range(10))


@pytest.fixture(scope="module")
def ma_cross():
    bars, events = simulated_bots(6_000)
    return bars, events["ma-cross"]


@pytest.mark.parametrize("tune_rows", [150, 50_000])
def test_a_lite_clone_of_the_ma_cross_bot_scores_what_its_saved_document_scores(
    ma_cross, tmp_path, tune_rows
):
    bars, events = ma_cross
    said: list[str] = []
    result = train_lite(frame_chunks(bars, 700), events, CHART, "lite-ma", total_rows=len(bars),
                        batch_rows=1_000, tune_rows=tune_rows, progress=said.append)  # fmt: skip
    assert any(line.startswith("lite pass 2/2") for line in said)
    document = load_model(save_model(result.document, tmp_path / "lite.model.json"))
    training = document["training"]
    assert training["lite"] is True and training["batch_rows"] == 1_000
    assert training["batches"] == -(-training["rows"] // 1_000)
    assert training["threshold_rows"] == min(tune_rows, len(time_split(5_696).validation))
    assert document["mode"] == "lite" and document["feature_flags"]["lightgbm"] is False
    # Scores from the saved document alone, over the rows batch mode would test on.
    data = build_dataset(bars, events)
    split = time_split(len(data))
    names = [f["name"] for f in document["features"]]
    for part, rows in (("validation", split.validation), ("test", split.test)):
        window = data.rows(rows)
        proba = predict_proba(document, window.features[names].to_numpy(float))
        expected = clone_scores(list(window.labels), decide(document, proba))
        assert document["metrics"][part] == expected
    assert result.test == document["metrics"]["test"]
    assert result.test["entry_macro_f1"] >= 0.95
    # Same training rows as batch mode: the same scaler and class counts.
    batch = train_clone(data, CHART, "batch-ma").document
    np.testing.assert_allclose(document["scaler"]["mean"], batch["scaler"]["mean"], rtol=1e-9)
    np.testing.assert_allclose(document["scaler"]["scale"], batch["scaler"]["scale"], rtol=1e-9)
    assert training["class_counts"] == batch["training"]["class_counts"]
    assert training["from_ms"] == batch["training"]["from_ms"]
    assert training["until_ms"] == batch["training"]["until_ms"]


def test_a_bar_count_that_disagrees_with_the_chunks_is_refused(ma_cross):
    bars, events = ma_cross
    with pytest.raises(NotEnoughDataError, match="the chunks held 6000 bars, not the 6001"):
        train_lite(frame_chunks(bars, 2_000), events, CHART, "x", total_rows=len(bars) + 1)
    with pytest.raises(NotEnoughDataError, match="at least 200 are needed"):
        train_lite(frame_chunks(bars, 2_000), events, CHART, "x", total_rows=400)


def write_history(folder, bars: pd.DataFrame, events: list[dict], *, magic: int) -> tuple:
    """An MT4 export (date and time columns, ';'-separated) and the events as JSON lines."""
    stamps = pd.to_datetime(bars["time_ms"], unit="ms")
    table = pd.DataFrame({
        "<DATE>": stamps.dt.strftime("%Y.%m.%d"), "<TIME>": stamps.dt.strftime("%H:%M"),
        "<OPEN>": bars["open"], "<HIGH>": bars["high"], "<LOW>": bars["low"],
        "<CLOSE>": bars["close"], "<TICKVOL>": bars["tick_volume"],
        "<SPREAD>": bars["spread_points"],
    })  # fmt: skip
    table.to_csv(folder / "bars.csv", sep=";", index=False)
    with (folder / "events.jsonl").open("w") as out:
        for n, event in enumerate(events):
            out.write(json.dumps({**event, "magic": magic, "event_id": f"e-{n}"}) + "\n")
    return folder / "bars.csv", folder / "events.jsonl"


def test_bar_chunks_of_a_csv_are_the_bars_read_bars_csv_reads(ma_cross, tmp_path):
    bars, events = ma_cross
    path, _ = write_history(tmp_path, bars.iloc[:2_500], events, magic=1001)
    chunks = list(read_bar_chunks(path, symbol="EURUSD", chunk_rows=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    got = pd.concat(chunks, ignore_index=True)
    expected = pd.DataFrame([vars(b) for b in read_bars_csv(path, symbol="EURUSD")])
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    lines = path.read_text().splitlines()
    cells = lines[1_500].split(";")
    broken = [*lines[:1_500], ";".join([*cells[:3], *cells[4:5] * 2, *cells[5:]]), *lines[1_501:]]
    swapped = lines[:1_700] + [lines[1_701], lines[1_700]] + lines[1_702:]
    for text, problem in ((broken, "line 1501: high is below"), (swapped, "out of order")):
        path.write_text("\n".join(text) + "\n")
        with pytest.raises(MarketDataError, match=problem):
            list(read_bar_chunks(path, symbol="EURUSD", chunk_rows=1_000))


@pytest.mark.parametrize(
    ("header", "row", "time_ms"),
    [
        ("time,open,high,low,close", "2300.01.02 13:00,1.1,1.2,1.0,1.1", 10_413_925_200_000),
        ("time,open,high,low,close", "2024-01-02T13:00:00,1.1,1.2,1.0,1.1", 1_704_200_400_000),
        ("date;time;open;high;low;close", "2024.01.02;13:00:30;1.1;1.2;1.0;1.1", 1_704_200_430_000),
        ("time,open,high,low,close", "1704200400000,1.1,1.2,1.0,1.1", 1_704_200_400_000),
    ],
)
def test_bar_times_read_as_read_bars_csv_reads_them(tmp_path, header, row, time_ms):
    path = tmp_path / "bars.csv"
    path.write_text(f"{header}\n{row}\n")
    [bars] = read_bar_chunks(path, symbol="EURUSD", timeframe_minutes=60)
    assert bars["time_ms"].tolist() == [time_ms]
    assert [b.time_ms for b in read_bars_csv(path, symbol="EURUSD", timeframe_minutes=60)] == [
        time_ms
    ]


def test_botcopier_train_lite_mode_streams_the_csv_and_writes_a_lite_model(
    ma_cross, tmp_path, capsys
):
    bars, events = ma_cross
    bars_path, events_path = write_history(tmp_path, bars, events, magic=1001)
    common = ["train", "--bars", str(bars_path), "--events", str(events_path), "--magic", "1001"]
    args = [*common, "--lite-mode", "--batch-rows", "1500", "--out", str(tmp_path), "--name", "m"]
    assert main(args) == 0
    output = capsys.readouterr().out
    assert "lite pass 1/2" in output and "lite pass 2/2" in output
    [path] = tmp_path.glob("m-*.model.json")
    document = load_model(path)
    assert document["training"]["lite"] is True and document["training"]["batch_rows"] == 1_500
    assert document["training"]["source"] == "files bars.csv + events.jsonl (streamed)"
    assert document["bot"] == {"account": None, "magic": 1001, "symbol": "EURUSD",
                               "timeframe_minutes": 60}  # fmt: skip
    assert document["metrics"]["test"]["entry_macro_f1"] >= 0.95
    assert "not in time order" not in output  # streamed
    # Events out of order are read whole and sorted: the same model.
    lines = events_path.read_text().splitlines()
    events_path.write_text("\n".join(lines[::-1]) + "\n")
    assert main([*args[:-1], "shuffled"]) == 0
    assert "events.jsonl: the bot's events are not in time order" in capsys.readouterr().out
    [again] = tmp_path.glob("shuffled-*.model.json")
    assert load_model(again)["metrics"] == document["metrics"]
    assert main([*common, "--lite-mode", "--model", "lightgbm"]) == 2
    assert "drop --model lightgbm" in capsys.readouterr().err
