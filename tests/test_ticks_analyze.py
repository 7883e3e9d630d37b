"""`botcopier ticks analyze` on a file in the exporter's format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd

from tests.test_cli import run_cli

HEADER = "symbol,time,open,high,low,close,tick_volume,spread"


def write_history(path) -> pd.DataFrame:
    """H1 EURUSD from Thu 2025-01-02 to Mon 2025-01-06: weekend closed, Fri 10-11 missing."""
    rows = []
    start = datetime(2025, 1, 2, tzinfo=UTC)
    for hour in range(24 * 5):
        t = start + timedelta(hours=hour)
        weekend = (
            (t.weekday() == 4 and t.hour >= 22)
            or t.weekday() == 5
            or (t.weekday() == 6 and t.hour < 22)
        )
        hole = t.weekday() == 4 and t.hour in (10, 11)
        if weekend or hole:
            continue
        spread = 8 + (hour * 7) % 13
        rows.append(("EURUSD", t.strftime("%Y.%m.%d %H:%M"), 1.1, 1.2, 1.0, 1.15, 100, spread))
    frame = pd.DataFrame(rows, columns=HEADER.split(","))
    frame.to_csv(path, index=False)
    return frame


def test_analyze_reports_bars_spreads_and_gaps(tmp_path):
    path = tmp_path / "bars_EURUSD_H1.csv"
    frame = write_history(path)
    result = run_cli("ticks", "analyze", str(path), "--json")
    assert result.returncode == 0, result.stderr
    (stats,) = json.loads(result.stdout)
    spreads = frame["spread"]
    assert stats["bars"] == len(frame)
    assert stats["timeframe_minutes"] == 60
    assert stats["spread_min"] == spreads.min() and stats["spread_max"] == spreads.max()
    assert stats["spread_p50"] == spreads.quantile(0.5)
    assert stats["spread_p90"] == spreads.quantile(0.9)
    assert stats["spread_mean"] == round(spreads.mean(), 2)
    assert (stats["gaps"], stats["missing_bars"], stats["weekend_breaks"]) == (1, 2, 1)
    assert stats["largest_gaps"] == [["2025-01-03 09:00", "2025-01-03 12:00"]]

    text = run_cli("ticks", "analyze", str(path)).stdout
    assert "EURUSD M60:" in text and "1 inside the week (2 bars missing)" in text


def test_a_bad_row_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        f"{HEADER}\nEURUSD,2025.01.02 00:00,1.1,1.2,1.0,1.15,100,8\n"
        "EURUSD,yesterday,1.1,1.2,1.0,1.15,100,8\n"
    )
    result = run_cli("ticks", "analyze", str(path))
    assert result.returncode == 2
    assert "line 3" in result.stderr and "Traceback" not in result.stderr
