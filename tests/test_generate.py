"""`botcopier generate`: a strategy EA whose rendered formulas compute what the trainer did."""

from __future__ import annotations

import re

import numpy as np
import pytest

from botcopier.cli import main
from botcopier.codegen import model_mirror
from botcopier.codegen.chart_mirror import ChartMirror
from botcopier.codegen.expression import evaluate, parse
from botcopier.codegen.generate import GenerateError, compiled_features, generate
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.features import FEATURES
from botcopier.trainers.labels import FLAT_STATE
from botcopier.trainers.model_document import load_model, save_model
from botcopier.trainers.model_eval import predict_proba
from tests.clone_data import simulated_bots

BOT = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}


@pytest.fixture(scope="module")
def history():
    bars, events = simulated_bots(1_500)
    return bars.reset_index(drop=True), events


@pytest.fixture(scope="module")
def models(history):
    bars, events = history
    data = build_dataset(bars, events["ma-cross"])
    trained = {}
    for name, family in (("clone-7-1001", "lightgbm"), ("clone-7-1001-linear", "linear")):
        options = TrainOptions(family=family, rounds=30)
        trained[family] = train_clone(data, BOT, name, options).document
    return trained


def rendered_features(expert_text: str) -> dict[str, str]:
    """The ``values[i] = <expr>; // name`` lines of the generated EA."""
    lines = re.findall(r"values\[(\d+)\] = (.+); // (\w+)", expert_text)
    return {name: expression for _index, expression, name in lines}


def test_the_generated_ea_computes_the_trainers_features_from_its_rendered_formulas(
    tmp_path, history, models
):
    bars, _events = history
    result = generate([models["lightgbm"]], tmp_path)
    text = result.expert.read_text()
    formulas = rendered_features(text)
    assert list(formulas) == [f.name for f in compiled_features()]
    frame = bars.copy().assign(**FLAT_STATE)  # an EA with no orders and no history yet
    frame["position"] = 0.0
    mirror = ChartMirror(frame)
    rows = range(400, len(bars), 97)
    for name, expression in formulas.items():
        if name == "position":
            continue  # the EA's own position, not a bar's: BcPositionSide
        expected = FEATURES[name].compute(frame)
        got = [evaluate(parse(expression), mirror.environment(r)) for r in rows]
        np.testing.assert_allclose(got, expected[list(rows)], rtol=1e-9, atol=1e-12, err_msg=name)
    assert f"MagicNumber         = {BOT['magic'] + 1_000_000};" in text
    assert 'ModelFiles          = "clone-7-1001.model.json"' in text


def test_the_ea_reads_the_written_model_into_the_golden_probabilities(tmp_path, models):
    result = generate([models["lightgbm"]], tmp_path)
    files = tmp_path / "MQL4" / "Files"
    written = files / "clone-7-1001.model.json"
    assert load_model(written) == load_model(save_model(models["lightgbm"], tmp_path / "m.json"))
    eaf = [f.name for f in compiled_features()]
    model = model_mirror.parse_model_text(written.read_text(), eaf)
    assert model.error == ""
    lines = (files / "clone-7-1001.golden.csv").read_text().splitlines()
    header, rows = lines[0].split(","), [list(map(float, line.split(","))) for line in lines[1:]]
    width = len(models["lightgbm"]["features"])
    assert header[width:] == [f"p_{c}" for c in models["lightgbm"]["classes"]]
    x = np.array([row[:width] for row in rows])
    expected = np.array([row[width:] for row in rows])
    np.testing.assert_allclose(predict_proba(models["lightgbm"], x), expected, rtol=1e-15)
    mirrored = np.array([model_mirror.model_proba(model, r) for r in x])
    np.testing.assert_allclose(mirrored, expected, rtol=1e-12, atol=1e-15)
    assert result.expert in tmp_path.rglob("*.mq4")


def test_an_ensemble_is_one_ea_reading_every_model(tmp_path, models):
    result = generate([models["lightgbm"], models["linear"]], tmp_path)
    text = result.expert.read_text()
    assert result.expert.name.endswith("_plus1.mq4")
    assert 'ModelFiles          = "clone-7-1001.model.json,clone-7-1001-linear.model.json"' in text
    assert {p.name for p in (tmp_path / "MQL4" / "Files").glob("*.model.json")} == {
        "clone-7-1001.model.json", "clone-7-1001-linear.model.json"}  # fmt: skip


def test_generated_eas_are_never_overwritten_and_a_new_version_gets_a_new_file(tmp_path, models):
    first = generate([models["lightgbm"]], tmp_path).expert
    before = first.read_bytes()
    assert generate([models["lightgbm"]], tmp_path).expert == first  # same models: same file
    newer = {**models["lightgbm"], "version": "20990101T000000Z-00000000"}
    second = generate([newer], tmp_path).expert
    assert second != first and first.read_bytes() == before
    first.write_text(before.decode() + "// edited by hand\n")
    with pytest.raises(GenerateError, match="never overwritten"):
        generate([models["lightgbm"]], tmp_path)


def test_models_an_ea_cannot_run_are_refused_with_the_reason(tmp_path, models):
    features = models["linear"]["features"]
    renamed = [{**features[0], "name": "vwap_gap"}, *features[1:]]
    unknown = {**models["linear"], "features": renamed}
    with pytest.raises(GenerateError, match="feature vwap_gap has no MQL4 form"):
        generate([unknown], tmp_path)
    two_classes = {**models["linear"], "name": "other", "classes": ["none", "buy"]}
    with pytest.raises(GenerateError, match="same classes"):
        generate([models["lightgbm"], two_classes], tmp_path)
    with pytest.raises(GenerateError, match="different names"):
        generate([models["lightgbm"], models["lightgbm"]], tmp_path)
    assert not (tmp_path / "MQL4").exists()


def test_botcopier_generate_writes_the_ea_and_says_where(tmp_path, models, capsys):
    path = save_model(models["lightgbm"], tmp_path / "model.json")
    assert main(["generate", str(path), "--out", str(tmp_path / "mt4"), "--magic", "4242"]) == 0
    output = capsys.readouterr().out
    assert "MQL4 lint and frame parity passed" in output
    [expert] = (tmp_path / "mt4" / "MQL4" / "Experts").glob("*.mq4")
    assert "MagicNumber         = 4242;" in expert.read_text()
    (tmp_path / "broken.json").write_text('{"format": "botcopier.model"')
    assert main(["generate", str(tmp_path / "broken.json"), "--out", str(tmp_path / "x")]) == 2
    assert "not JSON" in capsys.readouterr().err
