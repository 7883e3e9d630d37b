"""Structured logs: JSON lines to the journal's native socket or rotating files, secrets masked."""

from __future__ import annotations

import json
import logging
import socket
import struct
import tempfile
from pathlib import Path

import pytest

from botcopier.journal import JournalHandler
from botcopier.logs import MASK, JsonFormatter, SecretFilter, configure_logging, log_handlers
from tests.helpers import make_settings

BRIDGE_TOKEN = "ea-token-7f3a9c2e11d04b5c"  # noqa: S105 - made up for the test
DASHBOARD_TOKEN = "dash-4b1e8d0a6c2f"  # noqa: S105 - made up for the test
KAFKA_PASSWORD = "sasl-pw-99aa77bb"  # noqa: S105 - made up for the test


def settings_with_secrets(state_dir: Path, **overrides: str):
    return make_settings(
        state_dir,
        **{
            "BRIDGE__TOKENS__SIM-1": BRIDGE_TOKEN,
            "DASHBOARD__TOKEN": DASHBOARD_TOKEN,
            "KAFKA__CLIENT__SASL.PASSWORD": KAFKA_PASSWORD,
            **overrides,
        },
    )


def logger_with(handlers: list[logging.Handler], name: str = "botcopier.test") -> logging.Logger:
    """A logger writing only to ``handlers`` (the root logger stays pytest's)."""
    logger = logging.getLogger(f"{name}.{id(handlers)}")
    logger.handlers[:] = handlers
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def no_journal(tmp_path: Path) -> Path:
    return tmp_path / "no-journal-here"


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_service_logs_json_lines_with_its_fields_to_its_rotating_file(tmp_path):
    settings = make_settings(tmp_path)
    handlers = log_handlers(
        "collector", settings, interactive=False, journal_socket=no_journal(tmp_path)
    )
    assert [type(h).__name__ for h in handlers] == ["RotatingFileHandler"]
    log = logger_with(handlers)
    log.info("stored %d rows", 12, extra={"topic": "bot-metrics", "rows": 12})
    log.warning("slow broker")
    for handler in handlers:
        handler.close()

    first, second = log_lines(tmp_path / "logs" / "collector.log")
    assert first["message"] == "stored 12 rows"
    assert first["level"] == "info" and second["level"] == "warning"
    assert first["service"] == "collector" and first["logger"] == log.name
    assert first["topic"] == "bot-metrics" and first["rows"] == 12
    assert first["timestamp"].endswith("Z") and first["timestamp"][:2] == "20"


def test_log_files_rotate_by_size(tmp_path):
    settings = make_settings(tmp_path, LOGS__MAX_BYTES="2048", LOGS__BACKUP_COUNT="2")
    handlers = log_handlers(
        "bridge", settings, interactive=False, journal_socket=no_journal(tmp_path)
    )
    log = logger_with(handlers)
    for n in range(200):
        log.info("line %d of a long enough message to fill the file quickly", n)
    for handler in handlers:
        handler.close()
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files == ["bridge.log", "bridge.log.1", "bridge.log.2"]
    assert all(p.stat().st_size <= 2048 for p in (tmp_path / "logs").iterdir())
    assert log_lines(tmp_path / "logs" / "bridge.log")[-1]["message"].startswith("line 199 ")


def test_stderr_only_when_interactive_or_asked(tmp_path):
    journal = no_journal(tmp_path)
    quiet = log_handlers("x", make_settings(tmp_path), interactive=False, journal_socket=journal)
    tty = log_handlers("x", make_settings(tmp_path), interactive=True, journal_socket=journal)
    forced = log_handlers(
        "x",
        make_settings(tmp_path, LOGS__STDERR="always"),
        interactive=False,
        journal_socket=journal,
    )
    never = log_handlers(
        "x", make_settings(tmp_path, LOGS__STDERR="never"), interactive=True, journal_socket=journal
    )
    kinds = [[type(h).__name__ for h in hs] for hs in (quiet, tty, forced, never)]
    assert kinds == [
        ["RotatingFileHandler"],
        ["RotatingFileHandler", "StreamHandler"],
        ["RotatingFileHandler", "StreamHandler"],
        ["RotatingFileHandler"],
    ]
    for handler in quiet + tty + forced + never:
        handler.close()


def test_no_configured_secret_reaches_the_log_file(tmp_path):
    settings = settings_with_secrets(tmp_path)
    handlers = log_handlers(
        "bridge", settings, interactive=False, journal_socket=no_journal(tmp_path)
    )
    log = logger_with(handlers)
    log.info("hello from sim-1 with token %s", BRIDGE_TOKEN)
    log.info("dashboard login", extra={"token": DASHBOARD_TOKEN, "header": f"x{DASHBOARD_TOKEN}"})
    log.warning("kafka config %s", {"sasl.password": KAFKA_PASSWORD})
    try:
        raise ValueError(f"refused EA sim-1: {BRIDGE_TOKEN}")
    except ValueError:
        log.exception("handshake failed")
    log.info("GET /api/state?token=unconfigured-but-token-like&bots=3")
    for handler in handlers:
        handler.close()

    text = (tmp_path / "logs" / "bridge.log").read_text(encoding="utf-8")
    for secret in (BRIDGE_TOKEN, DASHBOARD_TOKEN, KAFKA_PASSWORD, "unconfigured-but-token-like"):
        assert secret not in text
    lines = log_lines(tmp_path / "logs" / "bridge.log")
    assert [line["message"] for line in lines][:1] == ["hello from sim-1 with token ***"]
    assert lines[1]["token"] == MASK and lines[1]["header"] == "x***"
    assert "ValueError: refused EA sim-1: ***" in lines[3]["exception"]
    assert lines[4]["message"] == "GET /api/state?token=***&bots=3"


def test_masking_leaves_ordinary_messages_alone():
    masker = SecretFilter(["abcdef123456"])
    text = "ea sim-1 connected from 127.0.0.1:50412; 1200 events, token ok"
    assert masker.mask(text) == text
    assert (
        masker.mask("url http://user:hunter2@registry:8081/")
        == "url http://user:***@registry:8081/"
    )


def parse_journal_datagram(data: bytes) -> dict[str, str]:
    """The native protocol's fields (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/)."""
    fields, at = {}, 0
    while at < len(data):
        newline = data.index(b"\n", at)
        line = data[at:newline]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            at = newline + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", data[newline + 1 : newline + 9])
            value = data[newline + 9 : newline + 9 + size]
            assert data[newline + 9 + size : newline + 10 + size] == b"\n"
            at = newline + 10 + size
        fields[key.decode()] = value.decode()
    return fields


@pytest.fixture
def journal_socket():
    """A datagram socket standing in for journald (short path: unix sockets max 108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="jrnl-", dir="/tmp"))
    path = folder / "socket"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    yield path, server
    server.close()
    path.unlink()
    folder.rmdir()


def test_the_journal_gets_json_messages_with_priority_and_identifier(tmp_path, journal_socket):
    path, server = journal_socket
    settings = settings_with_secrets(tmp_path)
    handlers = log_handlers("filesync", settings, interactive=False, journal_socket=path)
    assert [type(h) for h in handlers] == [JournalHandler]
    log = logger_with(handlers)
    log.warning("wrote %s", "clone.model.json", extra={"folder": "/mt4/Files"})
    try:
        raise RuntimeError(f"bad token {BRIDGE_TOKEN}")
    except RuntimeError:
        log.error("sync failed", exc_info=True)
    first = parse_journal_datagram(server.recv(65536))
    second = parse_journal_datagram(server.recv(65536))
    for handler in handlers:
        handler.close()

    assert first["PRIORITY"] == "4" and second["PRIORITY"] == "3"
    assert first["SYSLOG_IDENTIFIER"] == "botcopier-filesync"
    assert first["LOGGER"] == log.name and first["CODE_FUNC"].startswith("test_the_journal")
    message = json.loads(first["MESSAGE"])
    assert message["message"] == "wrote clone.model.json" and message["folder"] == "/mt4/Files"
    assert message["service"] == "filesync"
    assert BRIDGE_TOKEN not in second["MESSAGE"]
    assert "RuntimeError: bad token ***" in json.loads(second["MESSAGE"])["exception"]
    assert not (tmp_path / "logs").exists()  # the journal replaces the files


def test_multiline_fields_use_the_binary_framing(tmp_path, journal_socket):
    path, server = journal_socket
    handler = JournalHandler("online", path)
    handler.setFormatter(logging.Formatter("%(message)s"))  # plain text keeps its newlines
    logger_with([handler]).info("first line\nsecond line")
    fields = parse_journal_datagram(server.recv(65536))
    handler.close()
    assert fields["MESSAGE"] == "first line\nsecond line"


def test_configure_logging_replaces_the_plain_stderr_handler_and_keeps_others(tmp_path):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    plain = logging.StreamHandler()
    foreign = logging.NullHandler()
    root.handlers[:] = [plain, foreign]
    try:
        settings = make_settings(tmp_path, LOGS__LEVEL="warning")
        first = configure_logging(
            "retrainer", settings, interactive=False, journal_socket=no_journal(tmp_path)
        )
        second = configure_logging(
            "retrainer", settings, interactive=False, journal_socket=no_journal(tmp_path)
        )
        assert root.handlers == [foreign, *second]
        assert not set(first) & set(root.handlers)
        assert root.level == logging.WARNING
    finally:
        for handler in root.handlers[:]:
            if handler not in saved_handlers:
                handler.close()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_the_formatter_keeps_extra_fields_that_json_cannot_encode_as_text():
    record = logging.makeLogRecord(
        {"msg": "saved", "levelname": "INFO", "name": "n", "path": Path("models/x.json")}
    )
    assert json.loads(JsonFormatter("router").format(record))["path"] == "models/x.json"
