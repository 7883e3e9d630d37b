"""`botcopier plot`: real PNGs of real metrics and of a trained clone's importance."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from botcopier.cli import main
from botcopier.infra.plots import PNG_SIGNATURE
from botcopier.streams.metrics_store import MetricsStore
from botcopier.streams.rolling import RollingTradeMetrics
from tests.shipping import trained_clone
from tests.test_agents import produce

HOUR_MS = 3_600_000
START_MS = 1_735_689_600_000


def bot_metrics(account: int, magic: int, closes: int, win_probability: float, seed: int):
    """BotMetrics rows as the agents publish them: one per close, from `streams.rolling`."""
    rng = random.Random(seed)
    rolling = RollingTradeMetrics(window_days=30)
    rows = []
    for n in range(closes):
        t = START_MS + n * 6 * HOUR_MS
        rolling.update(t, 25.0 if rng.random() < win_probability else -20.0)
        rows.append(
            {
                "event_id": f"bm-{account}-{magic}-{n}",
                "schema_version": 1,
                "event_time_ms": t,
                "account": account,
                "magic": magic,
                "window_days": 30,
                "last_event_id": f"close-{n}",
                **rolling.get(),
            }
        )
    return rows


def ea_snapshots(account: int, magic: int, rows: list[dict]) -> list[dict]:
    """The EA's own snapshots: every tenth of the agents' figures."""
    keep = ("event_time_ms", "account", "magic", "window_days", "trade_count", "win_rate")
    return [
        {
            **{k: row[k] for k in keep},
            "event_id": f"snap-{n}",
            "avg_profit": row["avg_profit"],
            "max_drawdown": row["max_drawdown"],
            "sharpe": row["sharpe"],
            "file_write_errors": 0,
            "socket_errors": 0,
        }
        for n, row in enumerate(rows[::10])
    ]


def assert_real_png(path: Path, width: int, height: int) -> np.ndarray:
    """A PNG of that size (header and decoded pixels) with a real drawing on it."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert struct.unpack(">II", data[16:24]) == (width, height)  # the IHDR chunk
    pixels = mpimg.imread(path)
    assert pixels.shape[:2] == (height, width)
    gray = pixels[..., :3].mean(axis=2)
    assert gray.std() > 0.05, "the image is blank"
    assert (gray < 0.5).mean() > 0.003, "almost nothing is drawn"
    return gray


@pytest.fixture
def database(tmp_path) -> Path:
    """The collector's SQLite history of two bots, filled through its own store."""
    path = tmp_path / "collector.sqlite"
    store = MetricsStore(path)
    fading = bot_metrics(900001, 1001, 200, 0.7, seed=1)
    steady = bot_metrics(900001, 1002, 120, 0.5, seed=2)
    store.add_many("bot_metrics", fading + steady)
    store.add_many("ea_metrics", ea_snapshots(900001, 1001, fading))
    store.close()
    return path


def test_metrics_plots_one_png_per_bot_from_the_collector_database(database, tmp_path, capsys):
    out = tmp_path / "plots"
    assert main(["plot", "metrics", "--database", str(database), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics-900001-1001.png",
        "metrics-900001-1002.png",
    ]
    first = assert_real_png(out / "metrics-900001-1001.png", 1000, 800)
    second = assert_real_png(out / "metrics-900001-1002.png", 1000, 800)
    assert np.abs(first - second).mean() > 0.001  # different histories, different pictures
    printed = capsys.readouterr().out
    assert "metrics-900001-1001.png (200 agents, 20 ea records)" in printed
    assert "metrics-900001-1002.png (120 agents records)" in printed


def test_metrics_for_one_bot_only(database, tmp_path):
    out = tmp_path / "one"
    code = main(["plot", "metrics", "--database", str(database), "--bot", "900001:1002",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    assert [p.name for p in out.iterdir()] == ["metrics-900001-1002.png"]


def test_no_metrics_fail_clearly(database, tmp_path, capsys):
    empty = tmp_path / "empty.sqlite"
    MetricsStore(empty).close()
    assert main(["plot", "metrics", "--database", str(empty), "--out", str(tmp_path)]) == 2
    assert "no metrics of any bot in the collector's history" in capsys.readouterr().err
    code = main(["plot", "metrics", "--database", str(database), "--bot", "1:2"])
    assert code == 2
    assert "no metrics of bot 1:2" in capsys.readouterr().err
    assert main(["plot", "metrics", "--database", str(tmp_path / "missing.sqlite")]) == 2
    assert "no collector database at" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite").exists()
    assert main(["plot", "metrics", "--database", str(database), "--bot", "900001"]) == 2
    assert "--bot must be ACCOUNT:MAGIC" in capsys.readouterr().err


def test_importance_of_a_trained_clone(tmp_path, capsys):
    doc = trained_clone("plot-clone")
    path = tmp_path / "plot-clone.model.json"
    path.write_text(json.dumps(doc))
    assert main(["plot", "importance", str(path)]) == 0
    picture = tmp_path / "plot-clone.model.importance.png"
    features = len(doc["importance"]["values"])
    shown = min(features, 30) + (features > 30)
    height = round(max(3.0, 0.32 * shown + 1.5) * 100)
    assert_real_png(picture, 900, height)
    assert f"wrote {picture}" in capsys.readouterr().out

    top = tmp_path / "top5.png"
    assert main(["plot", "importance", str(path), "--out", str(top), "--top", "5"]) == 0
    assert_real_png(top, 900, round(max(3.0, 0.32 * 6 + 1.5) * 100))


def test_an_invalid_model_fails_with_the_reason(tmp_path, capsys):
    broken = tmp_path / "broken.model.json"
    broken.write_text('{"format": "botcopier.model", "format_version": 1, "name": "x"}')
    assert main(["plot", "importance", str(broken)]) == 2
    assert "invalid model.json" in capsys.readouterr().err
    assert main(["plot", "importance", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    doc = trained_clone("no-importance")
    doc["importance"]["values"] = {}
    empty = tmp_path / "empty.model.json"
    empty.write_text(json.dumps(doc))
    assert main(["plot", "importance", str(empty)]) == 2
    assert "has no feature importance values to plot" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.broker
def test_metrics_from_the_kafka_topics(fresh_settings, tmp_path, monkeypatch):
    rows = bot_metrics(700, 1003, 60, 0.6, seed=3)
    # The link is at-least-once: a resent record is one point.
    produce(fresh_settings, "bot-metrics", "BotMetrics", rows + rows[:5],
            lambda r: (f"{r['account']}:{r['magic']}", None))  # fmt: skip
    monkeypatch.setenv("BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS", fresh_settings.bootstrap_servers())
    monkeypatch.setenv("BOTCOPIER_KAFKA__TOPIC_PREFIX", fresh_settings.kafka.topic_prefix)
    monkeypatch.setenv("BOTCOPIER_PATHS__STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "metrics", "--source", "kafka"]) == 0
    (picture,) = (tmp_path / "state" / "plots").iterdir()
    assert picture.name == "metrics-700-1003.png"
    assert_real_png(picture, 1000, 800)
