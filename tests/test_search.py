"""The optional Optuna search: judged on validation bars, summarised, optional for real."""

from __future__ import annotations

import sys

import pytest

from botcopier.trainers.batch import TrainOptions
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.model_document import validate_model
from botcopier.trainers.search import SearchUnavailableError, search_clone
from tests.clone_data import simulated_bots

BOT = {"symbol": "EURUSD", "timeframe_minutes": 60}


def test_the_search_keeps_the_best_validation_trial_and_summarises_the_study(tmp_path):
    bars, events = simulated_bots(6_000)
    data = build_dataset(bars.iloc[:2_500], events["ma-cross"])
    lines: list[str] = []
    result = search_clone(
        data, BOT, "ma", TrainOptions(rounds=40), trials=5, say=lines.append,
        summary_path=tmp_path / "study.json",
    )  # fmt: skip
    summary = result.document["training"]["search"]
    assert summary["trials"] == 5 and len(summary["values"]) == 5
    assert summary["best_value"] == max(v for v in summary["values"] if v is not None)
    assert result.validation["entry_macro_f1"] == summary["best_value"]
    kept = {f["name"] for f in result.document["features"]}
    chosen = {k[4:] for k, v in summary["best_params"].items() if k.startswith("use_") and v}
    assert kept == (chosen or kept)
    assert result.document["estimator"]["family"] == summary["best_params"]["family"]
    validate_model(result.document)
    assert (tmp_path / "study.json").exists() and len(lines) == 5


def test_without_optuna_the_search_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` fail
    bars, events = simulated_bots(6_000)
    data = build_dataset(bars.iloc[:1_000], events["ma-cross"])
    with pytest.raises(SearchUnavailableError, match="pip install optuna"):
        search_clone(data, BOT, "ma", TrainOptions(), trials=2)


def test_installed_optional_families_join_the_search(monkeypatch):
    from botcopier.trainers import batch
    from botcopier.trainers.search import searched_families

    assert searched_families() == ["linear", "lightgbm", "xgboost", "catboost"]
    monkeypatch.setattr(batch.xgboost_family, "available", lambda: False)
    assert searched_families() == ["linear", "lightgbm", "catboost"]
    bars, events = simulated_bots(6_000)
    data = build_dataset(bars.iloc[:2_500], events["ma-cross"])
    result = search_clone(data, BOT, "ma", TrainOptions(rounds=30), trials=8)
    summary = result.document["training"]["search"]
    assert summary["searched_families"] == ["linear", "lightgbm", "catboost"]
    assert len(summary["families"]) == 8 and "xgboost" not in summary["families"]
