"""`botcopier import`: the seed project's log formats, bad rows by line, strict mode, Kafka."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from botcopier.schemas.codec import ValueCodec
from botcopier.trainers import importer
from botcopier.trainers.importer import ImportOptions, check_files, run_import
from botcopier.trainers.seed_logs import Mapped
from tests.helpers import consume_topic

# The seed's later Observer EA (';', 38 columns): what it writes into trades_raw.csv.
EA_HEADER = (
    "event_id;event_time;broker_time;local_time;action;ticket;magic;source;symbol;order_type;"
    "lots;price;sl;tp;profit;profit_after_trade;spread;trace_id;span_id;comment;remaining_lots;"
    "slippage;volume;open_time;book_bid_vol;book_ask_vol;book_imbalance;sl_hit_dist;"
    "tp_hit_dist;decision_id;is_anomaly;equity;margin_level;commission;swap;risk_weight;"
    "trend_estimate;trend_variance"
)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EA_OPEN = (
    f"7;2024.01.02 10:00:05;2024.01.02 10:00:05;2024.01.02 12:00:05;OPEN;555;12345;mt4;"
    f"EURUSD;0;0.10;1.10000;1.09000;1.12000;0.00;10000.00;0.00012;{TRACE};00f067aa0ba902b7;"
    "span=00f067aa0ba902b7;0.10;0.00000;120;;0.00;0.00;0.00000;0.00000;0.00000;0;0;10000.00;"
    "0.00;0.00;0.00;1.00;1.10000;0.00001"
)
EA_CLOSE = (
    f"8;2024.01.02 11:00:00;2024.01.02 11:00:00;2024.01.02 13:00:00;CLOSE;555;12345;mt4;"
    f"EURUSD;0;0.10;1.10500;1.09000;1.12000;4.00;10004.00;0.00012;{TRACE};00f067aa0ba902b8;"
    "span=00f067aa0ba902b8;0.00;0.00000;120;2024.01.02 10:00:05;0.00;0.00;0.00000;0.00500;"
    "0.01500;0;0;10000.00;0.00;-0.50;-0.20;1.00;1.10000;0.00001"
)
# The first Observer EA (';', 17 columns).
FIRST_EA = (
    "event_id;event_time;broker_time;local_time;action;ticket;magic;source;symbol;order_type;"
    "lots;price;sl;tp;profit;comment;remaining_lots\n"
    "1;2024.01.02 10:00:00;2024.01.02 10:00:00;2024.01.02 12:00:00;OPEN;11;777;mt4;GBPUSD;1;"
    "0.20;1.27000;1.28000;1.26000;0.00;;0.20\n"
    "2;2024.01.02 10:30:00;2024.01.02 10:30:00;2024.01.02 12:30:00;MODIFY;11;777;mt4;GBPUSD;1;"
    "0.00;1.27000;1.27500;1.26000;0.00;;0.20\n"
    "3;2024.01.02 11:00:00;2024.01.02 11:00:00;2024.01.02 13:00:00;CLOSE;11;777;mt4;GBPUSD;1;"
    "0.20;1.26500;1.27500;1.26000;9.80;;0.00\n"
)
# The seed's Python stream listener (',').
LISTENER = (
    "event_id,event_time,broker_time,local_time,action,ticket,magic,source,symbol,order_type,"
    "lots,price,sl,tp,profit,comment,remaining_lots,decision_id,trace_id,span_id\n"
    f"21,2024.01.03 09:00:00,b,l,OPEN,31,42,mt4,USDJPY,0,0.5,145.123,0,0,0.0,hi,0.5,,{TRACE},\n"
    "22,2024.01.03 09:30:00,b,l,CLOSE,31,42,mt4,USDJPY,0,0.5,145.223,0,0,35.5,hi,0,,,\n"
)
# The seed's notebook sample (';', no magic and no price).
NOTEBOOK = (
    "schema_version;event_id;event_time;action;ticket;symbol;order_type;lots;profit\n"
    "1;1001;2024.01.01 12:00;OPEN;101;EURUSD;1;0.10;12.5\n"
    "1;1002;2024.01.01 12:15;CLOSE;101;EURUSD;1;0.10;-4.1\n"
)
FIRST_METRICS = (
    "time;magic;win_rate;avg_profit;trade_count;drawdown;sharpe\n"
    "2024.01.02 10:00;777;0.600;2.50;10;7.25;0.410\n"
    "2024.01.02 10:15;777;0.550;2.10;11;7.25;0.380\n"
)
# The seed EA that logs cpu_load writes fallback_events but leaves it out of its header.
CPU_METRICS_HEADER = (
    "time;magic;win_rate;avg_profit;trade_count;drawdown;sharpe;sortino;expectancy;"
    "file_write_errors;socket_errors;cpu_load;book_refresh_seconds;var_breach_count;"
    "trade_queue_depth;metric_queue_depth;fallback_logging;trace_id;span_id"
)
CPU_METRICS_ROW = (
    f"2024.01.02 11:00;12345;0.500;1.20;4;3.00;0.400;0.500;0.10;1;2;0.05;5;0;0;0;3;0;{TRACE};"
    "00f067aa0ba902b7"
)
LISTENER_METRICS = (
    "time,magic,win_rate,avg_profit,trade_count,drawdown,sharpe,file_write_errors,"
    "socket_errors,queue_backlog,book_refresh_seconds,trace_id,span_id\n"
    "2024.01.02 10:00,42,0.25,-1.5,8,12.0,-0.2,0,3,0,5,,\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def records(paths, kind="auto", **options) -> list[Mapped]:
    """Every good row of ``paths`` in order, checked as the import checks it."""
    scan = importer._Pass(kind, ImportOptions(**options))
    found = []
    for path in paths:
        for _log, item in scan.scan(importer.FileCheck(Path(path))):
            if isinstance(item, Mapped):
                found.append(item)
    return found


def problems(checked) -> list[tuple[str, int, str]]:
    return [(p.path.name, p.line, p.reason) for p in checked.problems]


def test_rotated_ea_log_in_utf16_with_metadata_line_becomes_trade_events(tmp_path):
    # MT4 writes FILE_CSV text as UTF-16; rotated copies start with a JSON metadata line.
    meta = '{"schema_version":1,"commit":"","start_time":"a","end_time":"b"}'
    text = "\r\n".join([meta, EA_HEADER, EA_OPEN, EA_CLOSE]) + "\r\n"
    path = write(tmp_path / "2024-01-02_1100_8.csv", text, "utf-16")

    opened, closed = records([path], account=900)

    assert (opened.line, closed.line) == (3, 4)
    assert opened.key == closed.key == "900:12345"
    assert opened.record["event_id"] == "import:trade:900:7"
    expected = {
        "event_time_ms": 1704189605000,
        "action": "OPEN",
        "order_type": "BUY",
        "open_price": 1.1,
        "open_time_ms": 1704189605000,
        "remaining_lots": 0.1,
        "spread_points": 0,  # ask - bid as a price: unknown in points
        "trace_id": TRACE,
        "span_id": "00f067aa0ba902b7",
        "ea_id": "import",
    }
    assert {name: opened.record[name] for name in expected} == expected
    close = closed.record
    assert close["event_id"] == "import:trade:900:8"
    assert (close["open_price"], close["close_price"]) == (1.1, 1.105)
    assert (close["open_time_ms"], close["close_time_ms"]) == (1704189605000, 1704193200000)
    # The seed's profit is net of swap and commission; ours keeps them apart.
    assert (close["profit"], close["swap"], close["commission"]) == (4.7, -0.2, -0.5)
    assert close["profit"] + close["swap"] + close["commission"] == pytest.approx(4.0)


def test_first_ea_column_set_opens_modifies_and_closes(tmp_path):
    path = write(tmp_path / "trades_raw.csv", FIRST_EA)

    rows = [m.record for m in records([path], account=5)]

    assert [(r["action"], r["order_type"]) for r in rows] == [
        ("OPEN", "SELL"),
        ("MODIFY", "SELL"),
        ("CLOSE", "SELL"),
    ]
    assert [r["sl"] for r in rows] == [1.28, 1.275, 1.275]
    assert [r["remaining_lots"] for r in rows] == [0.2, 0.2, 0.0]
    assert rows[2]["open_price"] == 1.27 and rows[2]["close_price"] == 1.265
    assert {r["trace_id"] for r in rows} == {None}


def test_comma_separated_listener_log_and_its_trace_ids(tmp_path):
    path = write(tmp_path / "trades_raw.csv", LISTENER)

    checked = check_files([path], "trades", ImportOptions(account=5))
    opened, closed = records([path], account=5)

    assert checked.files[0].delimiter == ","
    assert opened.record["trace_id"] == TRACE and closed.record["trace_id"] is None
    assert closed.record["open_price"] == 145.123 and closed.record["close_price"] == 145.223
    assert closed.record["profit"] == 35.5


def test_a_close_finds_its_open_in_an_earlier_file_of_the_same_import(tmp_path):
    first = write(tmp_path / "a.csv", "\n".join([EA_HEADER, EA_OPEN]) + "\n")
    second = write(tmp_path / "b.csv", "\n".join([EA_HEADER, EA_CLOSE]) + "\n")

    together = records([first, second], account=1)[1].record
    alone = records([second], account=1)[0].record

    assert (together["open_price"], together["open_time_ms"]) == (1.1, 1704189605000)
    # Alone, the logged open_time still gives the open time; the open price is unknown.
    assert (alone["open_price"], alone["open_time_ms"]) == (0.0, 1704189605000)
    assert together["event_id"] == alone["event_id"]


def test_notebook_sample_without_magic_fails_the_file_naming_the_columns(tmp_path):
    path = write(tmp_path / "trades_raw.csv", NOTEBOOK)

    checked = check_files([path], "trades", ImportOptions())

    assert checked.records == 0 and checked.failed_files
    ((name, line, reason),) = problems(checked)
    assert (name, line) == ("trades_raw.csv", 1)
    assert "lacks magic, account" in reason and "--magic, --account" in reason

    rows = [m.record for m in records([path], account=3, magic=9)]
    assert [(r["magic"], r["open_price"], r.get("close_price")) for r in rows] == [
        (9, 0.0, None),
        (9, 0.0, None),
    ]


def test_metric_snapshots_from_the_first_ea_and_the_listener(tmp_path):
    first = write(tmp_path / "metrics.csv", FIRST_METRICS)
    listener = write(tmp_path / "listener_metrics.csv", LISTENER_METRICS)

    rows = records([first, listener], account=77)

    assert [m.key for m in rows] == ["77:777", "77:777", "77:42"]
    assert rows[0].record == {
        "event_id": "import:metrics:77:777:1704189600000",
        "event_time_ms": 1704189600000,
        "account": 77,
        "magic": 777,
        "window_days": 7,
        "win_rate": 0.6,
        "avg_profit": 2.5,
        "trade_count": 10,
        "max_drawdown": 7.25,
        "sharpe": 0.41,
        "file_write_errors": 0,
        "socket_errors": 0,
        "ea_id": "import",
        "trace_id": None,
        "span_id": None,
    }
    assert (rows[2].record["avg_profit"], rows[2].record["socket_errors"]) == (-1.5, 3)


def test_metrics_row_with_one_cell_more_than_its_header_reads_as_the_ea_meant(tmp_path):
    path = write(tmp_path / "metrics.csv", f"{CPU_METRICS_HEADER}\n{CPU_METRICS_ROW}\n")

    (row,) = records([path], account=1)

    assert (row.record["file_write_errors"], row.record["socket_errors"]) == (1, 2)
    assert (row.record["trace_id"], row.record["span_id"]) == (TRACE, "00f067aa0ba902b7")


def test_bad_rows_are_reported_with_their_line_numbers_and_the_rest_imported(tmp_path):
    lines = FIRST_EA.splitlines()
    bad = [
        lines[0],
        lines[1],  # 2: good
        lines[2].replace("MODIFY", "HEDGE"),  # 3
        "",  # 4: blank, not a row
        lines[3].replace(";1;0.20;", ";9;0.20;"),  # 5: order type 9
        lines[3].replace("0.20;1.26500", "lots;1.26500"),  # 6
        lines[3].replace("2024.01.02 11:00:00;", "yesterday;", 1),  # 7
        lines[3] + ";extra",  # 8
        "event_id;event_time;action",  # 9: a header among the rows
        lines[3].replace("3;", "4;", 1),  # 10: good
    ]
    path = write(tmp_path / "trades_raw.csv", "\n".join(bad) + "\n")

    checked = check_files([path], "auto", ImportOptions(account=1))

    assert (checked.records, checked.bad_rows) == (2, 6)
    assert [(line, reason.split(" (")[0]) for _, line, reason in problems(checked)] == [
        (3, "unknown action 'HEDGE'"),
        (5, "unknown order type '9'"),
        (6, "lots is not a number: 'lots'"),
        (7, "unreadable time 'yesterday'"),
        (8, "18 cells where the header has 17"),
        (9, "a header line among the rows: event_id;event_time;action"),
    ]


def test_a_row_the_avro_schema_refuses_is_a_problem_too(tmp_path):
    path = write(tmp_path / "metrics.csv", FIRST_METRICS)

    checked = check_files([path], "metrics", ImportOptions(account=2**63))

    assert checked.records == 0
    assert all("account: expected long" in reason for _, _, reason in problems(checked))


def test_a_repeated_event_is_reported_not_published_twice(tmp_path):
    path = write(tmp_path / "metrics.csv", FIRST_METRICS + FIRST_METRICS.splitlines()[1] + "\n")

    checked = check_files([path], "metrics", ImportOptions(account=1))

    assert (checked.records, checked.bad_rows) == (2, 1)
    assert problems(checked)[0][1:] == (
        4,
        "event_id 'import:metrics:1:777:1704189600000' again: the same event as line 2",
    )


def test_each_kind_is_told_apart_by_its_header_and_an_unknown_header_fails(tmp_path):
    files = [
        write(tmp_path / "trades_raw.csv", FIRST_EA),
        write(tmp_path / "metrics.csv", FIRST_METRICS),
        write(tmp_path / "ticks_EURUSD.csv", "time;bid;ask\n2024.01.02 10:00:00;1.1;1.1002\n"),
        write(tmp_path / "bars_EURUSD_H1.csv", "time,open,high,low,close\n2024.01.02,1,1,1,1\n"),
        write(tmp_path / "other.csv", "a;b\n1;2\n"),
    ]

    checked = check_files(files, "auto", ImportOptions(account=1))

    assert [f.kind for f in checked.files] == ["trades", "metrics", "ticks", "bars", None]
    assert "cannot tell trades, metrics, bars or ticks" in checked.failed_files[0].error


def test_bars_take_their_timeframe_from_a_column_the_name_or_the_gaps(tmp_path):
    named = write(
        tmp_path / "bars_EURUSD_M30.csv",
        "time,open,high,low,close\n"
        "2024.01.02 00:00,1.1,1.2,1.0,1.15\n"
        "2024.01.02 02:00,1.15,1.2,1.1,1.1\n",
    )
    gaps = write(
        tmp_path / "gbp.csv",
        "symbol;time;open;high;low;close\n"
        "GBPUSD;2024.01.02 00:00;1.1;1.2;1.0;1.15\n"
        "GBPUSD;2024.01.02 06:00;1.15;1.2;1.1;1.1\n"  # a gap: the smallest step counts
        "GBPUSD;2024.01.02 08:00;1.15;1.2;1.1;1.1\n",
    )
    split = write(
        tmp_path / "mt5.csv",
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n"
        "2024.01.02\t00:00:00\t1.1\t1.2\t1.0\t1.15\t7\n",
    )

    bars = records([named, gaps], "bars")
    (alone,) = records([split], "bars", symbol="XAUUSD", timeframe_minutes=240)
    checked = check_files([split], "bars", ImportOptions(symbol="XAUUSD"))

    assert [(m.key, m.record["timeframe_minutes"]) for m in bars] == [
        *[("EURUSD", 30)] * 2,
        *[("GBPUSD", 120)] * 3,
    ]
    assert bars[0].record["event_id"] == "import:bar:EURUSD:30:1704153600000"
    assert (alone.record["timeframe_minutes"], alone.record["tick_volume"]) == (240, 7)
    assert "timeframe of XAUUSD is unknown" in checked.problems[0].reason


def test_ticks_sharing_a_second_get_their_own_ids_and_the_symbol_from_the_file_name(tmp_path):
    path = write(
        tmp_path / "ticks_GBPUSD.csv",
        "time;bid;ask;last;volume\n"
        "2024.01.02 00:00:00;1.2700;1.2702;0;1.00\n"
        "2024.01.02 00:00:00;1.2701;1.2703;0;2.00\n"
        "2024.01.02 00:00:01;1.2703;1.2702;0;0\n",
    )

    checked = check_files([path], "ticks", ImportOptions())
    ticks = records([path])

    assert [t.record["event_id"] for t in ticks] == [
        "import:tick:GBPUSD:1704153600000:0",
        "import:tick:GBPUSD:1704153600000:1",
    ]
    assert [t.record["volume"] for t in ticks] == [1, 2]
    assert problems(checked) == [("ticks_GBPUSD.csv", 4, "ask 1.2702 is below bid 1.2703")]


def test_gzipped_logs_decimal_commas_and_the_server_clock(tmp_path):
    path = tmp_path / "metrics.csv.gz"
    path.write_bytes(gzip.compress(FIRST_METRICS.replace("0.600;2.50", "0,600;2,50").encode()))

    (utc, _) = records([path], account=1)
    (server, _) = records([path], account=1, server_utc_offset_hours=2)

    assert (utc.record["win_rate"], utc.record["avg_profit"]) == (0.6, 2.5)
    assert utc.record["event_time_ms"] - server.record["event_time_ms"] == 2 * 3_600_000


def test_strict_mode_publishes_nothing_when_any_row_is_bad(tmp_path, monkeypatch):
    bad = write(tmp_path / "metrics.csv", FIRST_METRICS + "2024.01.02 10:30;777;oops;1;1;1;1\n")
    published, warnings, said = [], [], []
    monkeypatch.setattr(importer, "publish", lambda *a, **k: published.append(a))

    code = run_import(
        None,
        [bad],
        "auto",
        ImportOptions(account=1),
        strict=True,
        say=said.append,
        warn=warnings.append,
    )

    assert code == 2 and published == []
    assert warnings[0].endswith("metrics.csv:4: win_rate is not a number: 'oops'")
    assert "nothing was published" in warnings[-1]


@pytest.mark.broker
def test_import_reaches_kafka_and_a_second_import_repeats_the_same_event_ids(
    fresh_settings, tmp_path
):
    settings = fresh_settings
    trades = write(tmp_path / "trades_raw.csv", "\n".join([EA_HEADER, EA_OPEN, EA_CLOSE]) + "\n")
    metrics = write(tmp_path / "metrics.csv", FIRST_METRICS)
    bad = write(tmp_path / "bad.csv", FIRST_METRICS + "x;777;0.5;1;1;1;1\n")
    options = ImportOptions(account=4242)
    said = []

    assert run_import(settings, [bad], "metrics", options, strict=True, warn=said.append) == 2
    assert run_import(settings, [trades, metrics], "auto", options, say=said.append) == 0
    assert said[-1] == "imported 4, skipped 0"
    assert run_import(settings, [trades, metrics], "auto", options, say=said.append) == 0

    codec = ValueCodec.from_settings(settings)

    def read(topic: str, count: int) -> list[tuple[bytes, dict]]:
        messages = consume_topic(settings, settings.topic(topic), until=count, timeout_s=60)
        return [(m.key(), codec.decode(m.value(), topic=m.topic()).record) for m in messages]

    events, snapshots = read("trade-events", 4), read("ea-metrics", 4)
    assert len(events) == len(snapshots) == 4  # twice each; the strict attempt sent nothing
    assert {key for key, _ in events} == {b"4242:12345"}
    assert sorted(r["event_id"] for _, r in events) == sorted(
        ["import:trade:4242:7", "import:trade:4242:8"] * 2
    )
    assert sorted(r["event_id"] for _, r in snapshots) == sorted(
        ["import:metrics:4242:777:1704189600000", "import:metrics:4242:777:1704190500000"] * 2
    )
    close = next(r for _, r in events if r["action"] == "CLOSE")
    assert (close["close_price"], close["profit"], close["schema_version"]) == (1.105, 4.7, 1)
