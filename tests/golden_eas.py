"""The strategy EAs `botcopier generate` renders for each model family, kept under
``tests/golden/strategy_eas/Experts`` so that a change to the template shows in review
(``tests/test_golden_eas.py`` checks they match; the ``mql4_compiler`` tests compile them).

Regenerate them after a deliberate template or feature change with one command::

    make goldens        # i.e. .venv/bin/python -m tests.golden_eas
"""

from __future__ import annotations

import shutil
import sys
from functools import cache
from pathlib import Path

import numpy as np

from botcopier.codegen.generate import generate
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import build_dataset
from tests.clone_data import simulated_bots

GOLDEN_EAS = Path(__file__).resolve().parent / "golden" / "strategy_eas"
BOT = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}
# Pinned, so the file names and headers do not change with the training time.
VERSION = "20260101T000000Z-00000000"
FAMILIES = ("linear", "lightgbm", "xgboost", "catboost")
# Each EA and the models it reads ("+sltp": the model with SL/TP regressors).
CASES = {
    "linear": ["linear"],
    "lightgbm": ["lightgbm"],
    "xgboost": ["xgboost"],
    "catboost": ["catboost"],
    "ensemble": ["lightgbm", "linear"],
    "sltp": ["lightgbm+sltp"],
    "ensemble-sltp": ["xgboost+sltp", "catboost"],
}


def _with_stops(document: dict) -> dict:
    """The document with SL/TP regressors, as ``--regress-sl-tp`` adds them."""
    width = len(document["features"])
    rng = np.random.default_rng(1)
    return {
        **document,
        "name": document["name"] + "-sltp",
        "stops": {
            "sl_distance": {"intercept": 4e-3, "coefficients": rng.normal(0, 1e-3, width).tolist()},
            "tp_distance": {"intercept": 8e-3, "coefficients": rng.normal(0, 1e-3, width).tolist()},
        },
    }


@cache
def golden_models() -> dict[str, dict]:
    """One small model of each family (and with stops), trained on the simulated MA-cross bot."""
    bars, events = simulated_bots(1_500)
    data = build_dataset(bars.reset_index(drop=True), events["ma-cross"])
    models = {}
    for family in FAMILIES:
        options = TrainOptions(family=family, rounds=10, contribution_importance=False)
        document = train_clone(data, BOT, f"golden-{family}", options).document
        models[family] = {**document, "version": VERSION}
        models[family + "+sltp"] = _with_stops(models[family])
    return models


def render_goldens(out: Path) -> list[Path]:
    """Generate every case under ``out``; the EAs written (MQL4/Experts/*.mq4)."""
    models = golden_models()
    return [generate([models[key] for key in keys], out).expert for keys in CASES.values()]


def main() -> int:
    scratch = GOLDEN_EAS / ".render"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        experts = render_goldens(scratch)
        target = GOLDEN_EAS / "Experts"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for expert in experts:
            shutil.copyfile(expert, target / expert.name)
            print(f"wrote {target / expert.name}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
