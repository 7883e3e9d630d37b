"""The EA's model reader (ModelFile.mqh, mirrored in codegen/model_mirror.py) reads every
family's model.json into what the trainer's reference evaluator computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from botcopier.codegen import model_mirror as mirror
from botcopier.codegen.strategy import max_tickets, risk_weight
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.features import DEFAULT_FEATURES
from botcopier.trainers.model_document import dumps_model
from botcopier.trainers.model_eval import predict_proba
from botcopier.trainers.stop_targets import predict_stop
from tests.test_batch_training import BOT, dataset_of

EA_FEATURES = [f.name for f in DEFAULT_FEATURES]


@pytest.fixture(scope="module")
def rsi_data():
    return dataset_of("rsi-reversion", 2_500)


def _with_extras(document: dict) -> dict:
    """The document with SL/TP regressors and risk-parity weights, as --regress-sl-tp and
    --risk-parity add them."""
    width = len(document["features"])
    rng = np.random.default_rng(1)
    return {
        **document,
        "stops": {
            "sl_distance": {"intercept": 4e-3, "coefficients": rng.normal(0, 1e-3, width).tolist()},
            "tp_distance": None,
        },
        "risk_parity": {"symbols": ["EURUSD", "GBPUSD"], "weights": [0.55, 0.45],
                        "covariance": [[1e-4, 2e-5], [2e-5, 2e-4]]},
        "max_tickets": 3,
        "management": {"break_even_distance": 0.0012, "trailing_distance": None},
    }  # fmt: skip


@pytest.mark.parametrize("family", ["linear", "lightgbm", "xgboost", "catboost"])
def test_the_ea_reads_each_family_into_the_reference_evaluators_probabilities(rsi_data, family):
    result = train_clone(rsi_data, BOT, "rsi", TrainOptions(family=family, rounds=40))
    document = json.loads(dumps_model(_with_extras(result.document)))
    model = mirror.parse_model_text(dumps_model(document), EA_FEATURES)
    assert model.error == ""
    assert model.classes == document["classes"] and model.version == document["version"]
    names = [f["name"] for f in document["features"]]
    assert [EA_FEATURES[s] for s in model.slots] == names
    x = rsi_data.features[names].to_numpy(float)[-300:]
    expected = predict_proba(document, x)
    got = np.array([mirror.model_proba(model, row) for row in x])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert model.thresholds[1:] == [document["thresholds"][c] for c in document["classes"][1:]]
    z = (x - np.array(document["scaler"]["mean"])) / np.array(document["scaler"]["scale"])
    sl = predict_stop(document["stops"]["sl_distance"], z)
    assert [mirror.stop_distance(model, True, row) for row in x] == pytest.approx(sl, rel=1e-12)
    assert not model.has_tp
    assert mirror.risk_weight(model, "GBPUSD") == pytest.approx(risk_weight(document, "GBPUSD"))
    assert model.max_tickets == max_tickets(document) == 3
    assert (model.break_even_distance, model.trailing_distance) == (0.0012, 0.0)
    assert mirror.parse_model_text(dumps_model(result.document), EA_FEATURES).max_tickets == 1


@pytest.fixture(scope="module")
def tree_text(rsi_data):
    return dumps_model(
        train_clone(rsi_data, BOT, "rsi", TrainOptions(family="lightgbm", rounds=10)).document
    )


def _edited(text: str, change) -> str:
    document = json.loads(text)
    change(document)
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t[: len(t) // 2], "not valid JSON"),
        (lambda t: t + "}", "not valid JSON"),
        (lambda t: t.replace('"format_version":1', '"format_version":2'), "format_version 2 is"),
        (lambda t: t.replace('"botcopier.model"', '"other"'), "not a botcopier model"),
        (lambda t: t.replace('"name":"rsi_14"', '"name":"rsi_15"'), "rsi_15 is not compiled"),
        (lambda t: t.replace('"decision_type":"<="', '"decision_type":"=="', 1), "split =="),
        (lambda t: _edited(t, lambda d: d["estimator"].update(num_class=9)), "num_class does not"),
        (lambda t: t.replace('"left_child":{', '"left_kid":{', 1), "lacks a child"),
        (lambda t: _edited(t, lambda d: d.update(max_tickets=0)), "max_tickets must be at"),
    ],
)  # fmt: skip
def test_an_unusable_file_is_refused_with_the_reason_the_ea_prints(tree_text, change, reason):
    assert mirror.parse_model_text(tree_text, EA_FEATURES).error == ""
    assert reason in mirror.parse_model_text(change(tree_text), EA_FEATURES).error
