"""Bars for the EA simulator: the seeded random walk and the MT4 history CSV reader."""

from __future__ import annotations

import itertools

import pytest

from botcopier.bridge.simulator import (
    Bar,
    MarketDataError,
    parse_time_ms,
    random_walk_bars,
    read_bars_csv,
)
from botcopier.exceptions import BotCopierError
from botcopier.schemas import SchemaCatalogue, SingleObjectDeserializer, SingleObjectSerializer

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HOUR_MS = 3_600_000


def walk(seed: int = 0, count: int = 500, **kwargs) -> list[Bar]:
    return list(random_walk_bars("EURUSD", start_ms=START_MS, count=count, seed=seed, **kwargs))


def test_random_walk_is_ohlc_consistent_continuous_and_rounded():
    bars = walk(count=1_000, timeframe_minutes=15, digits=3, start_price=150.0)
    assert len(bars) == 1_000
    for index, bar in enumerate(bars):
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.low > 0
        assert bar.time_ms == START_MS + index * 15 * 60_000
        assert bar.end_ms == bar.time_ms + 15 * 60_000
        assert all(round(price, 3) == price for price in (bar.open, bar.high, bar.low, bar.close))
        assert bar.tick_volume > 0 and bar.spread_points > 0
    # No gaps: each bar opens where the previous one closed, as a continuous market would.
    assert all(later.open == earlier.close for earlier, later in itertools.pairwise(bars))
    assert len({bar.close for bar in bars}) > 500


def test_random_walk_is_deterministic_per_seed():
    assert walk(seed=3) == walk(seed=3)
    assert walk(seed=3) != walk(seed=4)
    assert [b.close for b in walk(seed=3)] != [b.close for b in walk(seed=4)]


def test_random_walk_without_count_never_ends():
    bars = list(itertools.islice(random_walk_bars("GBPUSD", start_ms=0, seed=1), 5_000))
    assert len(bars) == 5_000
    assert bars[:100] == list(random_walk_bars("GBPUSD", start_ms=0, seed=1, count=100))


def test_random_walk_rejects_nonsense_parameters():
    with pytest.raises(ValueError, match="count"):
        walk(count=-1)
    with pytest.raises(ValueError):
        walk(timeframe_minutes=0)


def test_bar_record_round_trips_through_the_bar_schema():
    catalogue = SchemaCatalogue.default()
    bar = walk(count=1)[0]
    record = bar.to_record("b-1")
    assert record["event_time_ms"] == bar.time_ms
    decoded = SingleObjectDeserializer(catalogue, "Bar").deserialize(
        SingleObjectSerializer(catalogue, "Bar").serialize(record)
    )
    assert {k: decoded[k] for k in record} == record


def write(tmp_path, text: str, name: str = "history.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_comma_separated_mt4_history_and_infers_the_timeframe(tmp_path):
    path = write(
        tmp_path,
        "Time,Open,High,Low,Close,Volume,Spread\n"
        "2024.01.02 13:00,1.10000,1.10200,1.09900,1.10100,1500,12\n"
        "2024.01.02 14:00:00,1.10100,1.10150,1.10000,1.10050,900,11\n"
        "\n"
        "2024.01.02 15:00,1.10050,1.10060,1.09800,1.09900,,\n",
    )
    bars = list(read_bars_csv(path, "EURUSD"))
    assert bars[0] == Bar("EURUSD", 1_704_200_400_000, 60, 1.1, 1.102, 1.099, 1.101, 1500, 12)
    assert [bar.time_ms for bar in bars] == [1_704_200_400_000 + i * HOUR_MS for i in range(3)]
    assert {bar.timeframe_minutes for bar in bars} == {60}
    assert (bars[2].tick_volume, bars[2].spread_points) == (0, 0)


def test_reads_semicolon_separated_rows_with_symbol_and_iso_times(tmp_path):
    path = write(
        tmp_path,
        "SYMBOL;time;open;high;low;close;tick_volume\n"
        "EURUSD;2024-01-02 13:00:00;1.1;1.2;1.0;1.15;10\n"
        "GBPUSD;2024-01-02 13:00:00;1.3;1.4;1.2;1.35;20\n"
        "EURUSD;2024-01-02T13:05:00;1.15;1.2;1.1;1.12;30\n",
    )
    bars = list(read_bars_csv(path))
    assert [(b.symbol, b.tick_volume, b.timeframe_minutes) for b in bars] == [
        ("EURUSD", 10, 5),
        ("GBPUSD", 20, 5),
        ("EURUSD", 30, 5),
    ]


def test_reads_epoch_ms_times_and_a_timeframe_column(tmp_path):
    path = write(
        tmp_path,
        "time,open,high,low,close,timeframe\n"
        f"{START_MS},1.1,1.2,1.0,1.15,240\n"
        f"{START_MS + 4 * HOUR_MS},1.15,1.2,1.1,1.12,240\n",
    )
    bars = list(read_bars_csv(path, symbol="USDJPY"))
    assert [(b.time_ms, b.timeframe_minutes, b.symbol) for b in bars] == [
        (START_MS, 240, "USDJPY"),
        (START_MS + 4 * HOUR_MS, 240, "USDJPY"),
    ]


def test_reads_mt5_export_with_tabs_and_separate_date_column(tmp_path):
    path = write(
        tmp_path,
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t00:00:00\t1.1\t1.2\t1.0\t1.15\t77\t0\t9\n",
    )
    (bar,) = read_bars_csv(path, "EURUSD", timeframe_minutes=1440)
    assert (bar.time_ms, bar.tick_volume, bar.spread_points) == (1_704_153_600_000, 77, 9)


def test_random_walk_survives_a_csv_round_trip(tmp_path):
    bars = walk(count=50)
    lines = ["time;open;high;low;close;volume;spread"] + [
        f"{b.time_ms};{b.open};{b.high};{b.low};{b.close};{b.tick_volume};{b.spread_points}"
        for b in bars
    ]
    assert list(read_bars_csv(write(tmp_path, "\n".join(lines)), "EURUSD")) == bars


GOOD = "2024.01.02 13:00,1.1,1.2,1.0,1.15\n"


@pytest.mark.parametrize(
    ("bad_row", "problem"),
    [
        ("2024.01.02 14:00,1.1,abc,1.0,1.15", "high is not a number: 'abc'"),
        ("2024.01.02 14:00,1.1,1.2,1.0", "expected 5 columns, found 4"),
        ("2024.01.02 14:00,1.1,1.12,1.0,1.15", "high 1.12 is below the open or close"),
        ("2024.01.02 14:00,1.1,1.2,1.11,1.15", "low 1.11 is above the open or close"),
        ("2024.01.02 14:00,-1.1,1.2,1.0,1.15", "open must be a positive price"),
        ("02/01/2024 14:00,1.1,1.2,1.0,1.15", "unreadable time '02/01/2024 14:00'"),
        ("2024.01.02 13:00,1.1,1.2,1.0,1.15", "out of order"),
        ("2024.01.02 12:00,1.1,1.2,1.0,1.15", "out of order"),
    ],
)
def test_a_bad_row_names_the_file_line_and_problem(tmp_path, bad_row, problem):
    path = write(tmp_path, "time,open,high,low,close\n" + GOOD + bad_row + "\n")
    reader = read_bars_csv(path, "EURUSD", timeframe_minutes=60)
    assert next(reader).close == 1.15  # rows before the bad one still arrive
    with pytest.raises(MarketDataError) as caught:
        next(reader)
    assert str(caught.value).startswith(f"{path}, line 3: ")
    assert problem in str(caught.value)
    assert (caught.value.path, caught.value.line) == (path, 3)
    assert isinstance(caught.value, BotCopierError)


def test_header_problems_are_reported_on_line_one(tmp_path):
    no_close = write(tmp_path, "time,open,high,low\n", "a.csv")
    with pytest.raises(MarketDataError, match=r"a\.csv, line 1: header lacks close"):
        list(read_bars_csv(no_close, "EURUSD"))
    with pytest.raises(MarketDataError, match="line 1: no header line"):
        list(read_bars_csv(write(tmp_path, "", "b.csv"), "EURUSD"))
    with pytest.raises(MarketDataError, match="line 1: no symbol column"):
        list(read_bars_csv(write(tmp_path, "time,open,high,low,close\n" + GOOD, "c.csv")))


def test_a_single_bar_without_a_timeframe_is_an_error(tmp_path):
    path = write(tmp_path, "time,open,high,low,close\n" + GOOD)
    with pytest.raises(MarketDataError, match="line 2: cannot infer the timeframe"):
        list(read_bars_csv(path, "EURUSD"))


def test_parse_time_ms_formats():
    assert parse_time_ms("2024.01.02 13:00:30") == 1_704_200_430_000
    assert parse_time_ms("2024-01-02") == 1_704_153_600_000
    with pytest.raises(ValueError, match="unreadable time"):
        parse_time_ms("yesterday")
