"""Feature declarations: no look-ahead, the MT4 meaning of each, MQL4 expressions that lint."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from botcopier.bridge.simulator import random_walk_bars
from botcopier.codegen.checks.lint import lint_sources
from botcopier.codegen.checks.source import SourceFile, load_sources, tokenize
from botcopier.trainers import indicators as ind
from botcopier.trainers.features import DEFAULT_FEATURES, FEATURES, feature_matrix, warmup

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    walk = random_walk_bars("GBPUSD", start_ms=1_704_067_200_000, count=900, seed=3)
    frame = pd.DataFrame([dataclasses.asdict(bar) for bar in walk])
    frame["position"] = np.resize([0, 1, 1, 0, -1], len(frame))
    return frame


def test_no_feature_looks_ahead(bars):
    """A row's values are the same whether or not later bars exist."""
    full = feature_matrix(bars)
    for cut in (warmup() + 1, 400, 899):
        truncated = feature_matrix(bars.iloc[:cut])
        pd.testing.assert_series_equal(truncated.iloc[-1], full.iloc[cut - 1], check_names=False)


def test_values_after_the_warmup_are_finite_and_nan_only_leads(bars):
    matrix = feature_matrix(bars)
    assert np.isfinite(matrix.iloc[warmup() :].to_numpy()).all()
    for name, column in matrix.items():
        first = column.first_valid_index()
        assert first is not None and np.isfinite(column.loc[first:]).all(), name


def test_features_mean_what_mt4_means(bars):
    matrix = feature_matrix(bars)
    close = bars["close"].to_numpy()
    i = 700  # any row past the warm-ups; MT4 evaluates it at shift 1 when bar i + 1 opens
    assert matrix["ret_5"][i] == pytest.approx(close[i] / close[i - 5] - 1)
    assert matrix["sma_gap_10"][i] == pytest.approx(close[i] / close[i - 9 : i + 1].mean() - 1)
    window = close[i - 19 : i + 1]
    lower, upper = window.mean() - 2 * window.std(), window.mean() + 2 * window.std()
    assert matrix["bands_pos_20"][i] == pytest.approx((close[i] - lower) / (upper - lower))
    assert matrix["rsi_14"][i] == pytest.approx(ind.rsi(close, 14)[i])
    decided = dt.datetime.fromtimestamp(
        (bars["time_ms"][i] + bars["timeframe_minutes"][i] * 60_000) / 1000, tz=dt.UTC
    )
    assert matrix["hour_sin"][i] == pytest.approx(np.sin(2 * np.pi * decided.hour / 24))
    weekday = (decided.weekday() + 1) % 7  # MQL4: Sunday is 0
    assert matrix["weekday_cos"][i] == pytest.approx(np.cos(2 * np.pi * weekday / 7))
    assert matrix["position"][i] == bars["position"][i]


def test_signal_features_fire_on_the_bar_of_the_event(bars):
    """Crosses and breakouts, recomputed bar by bar as a bot (or MT4's shift 1 and 2) sees them."""
    matrix = feature_matrix(bars)
    close, high, low = (bars[c].to_numpy() for c in ("close", "high", "low"))
    crosses = breakouts = 0
    for i in range(warmup(), len(bars)):
        now = close[i - 4 : i + 1].mean() - close[i - 19 : i + 1].mean()
        before = close[i - 5 : i].mean() - close[i - 20 : i].mean()
        expected = 1 if before <= 0 < now else (-1 if before >= 0 > now else 0)
        assert matrix["sma_cross_5_20"][i] == expected, i
        crosses += expected != 0
        above, below = close[i] > high[i - 20 : i].max(), close[i] < low[i - 20 : i].min()
        assert (matrix["channel_high_20"][i] > 0) == above, i
        assert (matrix["channel_low_20"][i] < 0) == below, i
        breakouts += above or below
    assert crosses > 10 and breakouts > 10  # otherwise the check proves little


def test_a_flat_band_gives_the_middle_not_a_division_by_zero():
    flat = pd.DataFrame(
        {
            "time_ms": np.arange(30) * 3_600_000,
            "timeframe_minutes": 60,
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "spread_points": 10,
            "position": 0,
        }
    )
    assert feature_matrix(flat, (FEATURES["bands_pos_20"],))["bands_pos_20"].iloc[-1] == 0.5


def test_a_frame_without_bars_columns_is_refused():
    with pytest.raises(ValueError, match="lacks columns"):
        feature_matrix(pd.DataFrame({"close": [1.0]}))


def test_every_mql4_expression_lints_with_the_feature_helpers(tmp_path):
    """Each expression, in a function of its own, uses only MT4 built-ins and Features.mqh."""
    body = "\n".join(
        f"double Feature_{n}()\n{{\n   return {f.mql4};\n}}\n"
        for n, f in enumerate(DEFAULT_FEATURES)
    )
    program = tmp_path / "FeatureProbe.mq4"
    program.write_text(
        "#property strict\n#include <BotCopier\\Features.mqh>\ninput int MagicNumber = 1;\n" + body
    )
    includes = load_sources(REPO / "mql4" / "Include")
    findings = lint_sources([*includes, SourceFile.read(program)])
    assert findings == []
    # The lint must see a wrong expression, or this test proves nothing.
    broken = SourceFile(program, tuple(tokenize("double F() { return iRSX(NULL,0,14,1); }")))
    assert [f.rule for f in lint_sources([*includes, broken])] == ["undefined-call"]


def test_feature_names_are_unique_and_documented():
    names = [f.name for f in DEFAULT_FEATURES]
    assert len(names) == len(set(names))
    assert all(f.doc and f.mql4 for f in DEFAULT_FEATURES)
