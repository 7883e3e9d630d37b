"""PNG charts for people: a bot's metrics over time, a model's feature importance.

Drawn on matplotlib's Agg canvas through `matplotlib.figure.Figure` (no pyplot, so no
global figure state and no display needed): safe in services, cron jobs and tests.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> rows = [{"event_time_ms": 1_700_000_000_000 + n * 3_600_000, "win_rate": 0.5 + n / 100,
...          "max_drawdown": 10.0 * n, "sharpe": 0.1 * n, "trade_count": n} for n in range(5)]
>>> path = plot_bot_metrics((900001, 1001), {"agents": rows}, folder / "bot.png")
>>> path.read_bytes()[:8] == PNG_SIGNATURE
True
>>> plot_importance({"name": "m", "version": "1", "importance": {"method": "gain",
...                  "values": {}}}, folder / "none.png")
Traceback (most recent call last):
...
botcopier.infra.exceptions.PlotError: model m 1 has no feature importance values to plot
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from botcopier.atomic_file import write_atomic
from botcopier.infra.exceptions import PlotError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI = 100
# (column, axis label) of each panel of a bot's chart, top to bottom.
METRIC_PANELS = (
    ("win_rate", "win rate"),
    ("max_drawdown", "max drawdown"),
    ("sharpe", "Sharpe (per trade)"),
)
# Which line is which: the agents' rolling metrics, the Observer EA's own snapshots.
SOURCE_STYLES = {"agents": {"linestyle": "-"}, "ea": {"linestyle": "--"}}


def _value(row: Mapping[str, Any], column: str) -> float:
    value = row.get(column)
    # SQLite keeps a Sharpe of no trades as NULL: a gap in the line, not a zero.
    return math.nan if value is None else float(value)


def _save(figure: Figure, path: Path) -> Path:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    # Atomic: a dashboard or browser refreshing the file never shows half a PNG.
    return write_atomic(Path(path), buffer.getvalue())


def plot_bot_metrics(
    bot: tuple[int, int],
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    path: Path,
) -> Path:
    """Win rate, max drawdown and Sharpe of one bot over event time, one panel each.

    ``series`` maps a source (``agents``, ``ea``) to its rows, each with ``event_time_ms``
    and the metric columns; returns ``path``.
    """
    series = {source: rows for source, rows in series.items() if rows}
    if not series:
        raise PlotError(f"no metrics of bot {bot[0]}:{bot[1]} to plot")
    figure = Figure(figsize=(10, 8), layout="constrained")
    axes = figure.subplots(len(METRIC_PANELS), 1, sharex=True)
    for source, rows in sorted(series.items()):
        rows = sorted(rows, key=lambda row: row["event_time_ms"])
        times = [datetime.fromtimestamp(r["event_time_ms"] / 1000, tz=UTC) for r in rows]
        style = SOURCE_STYLES.get(source, {"linestyle": ":"})
        for axis, (column, _label) in zip(axes, METRIC_PANELS, strict=True):
            # A single point would draw no line at all without a marker.
            marker = "o" if len(rows) < 30 else None
            axis.plot(times, [_value(r, column) for r in rows], label=source, marker=marker,
                      markersize=3, **style)  # fmt: skip
    for axis, (_column, label) in zip(axes, METRIC_PANELS, strict=True):
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].legend(loc="best", title="source")
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes[-1].set_xlabel("event time (UTC)")
    counts = ", ".join(f"{source}: {len(rows)}" for source, rows in sorted(series.items()))
    figure.suptitle(f"bot {bot[0]}:{bot[1]} ({counts} records)")
    return _save(figure, path)


def plot_importance(doc: Mapping[str, Any], path: Path, top: int = 30) -> Path:
    """Horizontal bars of a model's ``importance`` values, largest on top; returns ``path``.

    ``doc`` is a model.json document (checked by the caller); ``top`` bounds the features
    shown, the rest are summed into one bar so the chart still says how much they hold.
    """
    if top < 1:
        raise PlotError(f"--top must be 1 or more, not {top}")
    importance = doc.get("importance") or {}
    values = importance.get("values") or {}
    title = f"{doc.get('name')} {doc.get('version')}"
    if not values:
        raise PlotError(f"model {title} has no feature importance values to plot")
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked[:top]
    rest = ranked[top:]
    if rest:
        shown.append((f"{len(rest)} others", sum(value for _name, value in rest)))
    total = sum(values.values())
    if total <= 0:
        raise PlotError(f"model {title}: every importance value is zero")
    names = [name for name, _value in shown][::-1]
    shares = [value / total for _name, value in shown][::-1]
    figure = Figure(figsize=(9, max(3.0, 0.32 * len(shown) + 1.5)), layout="constrained")
    axis = figure.subplots()
    bars = axis.barh(names, shares, color="#3a78b5")
    axis.bar_label(bars, labels=[f"{share:.1%}" for share in shares], padding=2, fontsize=8)
    axis.set_xlabel(f"share of the importance ({importance.get('method', 'unknown method')})")
    axis.set_xlim(0, max(shares) * 1.15)
    axis.grid(True, axis="x", alpha=0.3)
    figure.suptitle(f"feature importance of {title}")
    return _save(figure, path)
