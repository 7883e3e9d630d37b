"""Structured logs for every long-running service: one JSON object per line.

Each line holds ``timestamp`` (UTC, ms), ``level``, ``logger``, ``message``, ``service`` and
whatever the caller passed as ``extra=``. Where they go (`configure_logging`, from the
``[logs]`` settings):

- the systemd journal, when its socket is there (`botcopier.journal`): under systemd the
  journal keeps, rotates and ships them (``journalctl -t botcopier-bridge -o cat``);
- else ``<state_dir>/logs/<service>.log``, rotated by size;
- and stderr too when it is a terminal (``[logs] stderr = "always"`` in containers).

Secrets never reach a handler: `SecretFilter` masks the configured tokens (bridge EA tokens,
the dashboard token, Kafka client passwords) and anything that looks like
``token=…``/``password: …``/``Bearer …`` in the message, its extra fields and tracebacks.

Examples
--------
>>> masker = SecretFilter(["s3cr3t-token"])
>>> masker.mask("hello from sim-1 with s3cr3t-token")
'hello from sim-1 with ***'
>>> masker.mask("GET /state?token=abc123&x=1 Authorization: Bearer xyz")
'GET /state?token=***&x=1 Authorization: Bearer ***'
>>> record = logging.makeLogRecord({"name": "botcopier.bridge", "levelno": 20,
...     "levelname": "INFO", "msg": "ea %s connected", "args": ("sim-1",), "created": 0.0,
...     "msecs": 0.0, "ea_id": "sim-1"})
>>> print(JsonFormatter("bridge").format(record))
{"timestamp": "1970-01-01T00:00:00.000Z", "level": "info", "logger": "botcopier.bridge", \
"message": "ea sim-1 connected", "service": "bridge", "ea_id": "sim-1"}
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from botcopier.config import Settings, split_tokens
from botcopier.journal import JOURNAL_SOCKET, JournalHandler, journal_available

# LogRecord attributes that are not the caller's `extra=` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
MASK = "***"
# key=value, key: value and "key": "value" of names that hold secrets, bearer credentials
# and the password of user:password@host URLs.
_SECRET_PATTERNS = (
    re.compile(
        r"(?i)(\b(?:token|secret|password|passwd|api[_-]?key)\b[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',;&]+)"
    ),
    re.compile(r"(?i)(\bbearer\s+)([^\s\"',;&]+)"),
    re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(?=@)"),
)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in ``settings``: EA tokens, dashboard token, Kafka passwords."""
    # Each token of a rotation list on its own, and the list as written.
    found = [
        secret
        for token in settings.bridge.tokens.values()
        for secret in (token.get_secret_value(), *split_tokens(token.get_secret_value()))
    ]
    if settings.dashboard.token is not None:
        found.append(settings.dashboard.token.get_secret_value())
    for key, value in settings.kafka.client.items():
        if any(word in key.lower() for word in ("password", "secret", "token")):
            found.append(str(value))
    return [value for value in found if value]


class SecretFilter(logging.Filter):
    """Masks secrets in a record before any handler formats it.

    The message is rendered (``msg % args``) and masked, string extra fields are masked, and
    a traceback is rendered into ``exc_text`` and masked, so no handler sees the raw values.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a token that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda match: match.group(1) + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
            # Handlers format exc_text; the live traceback object would be formatted again.
            record.exc_info = None
        for key, value in vars(record).items():
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.mask(value))
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def log_handlers(
    service: str,
    settings: Settings,
    *,
    interactive: bool | None = None,
    journal_socket: Path = JOURNAL_SOCKET,
) -> list[logging.Handler]:
    """The handlers a service logs to, formatted and filtered (see the module docstring)."""
    config = settings.logs
    handlers: list[logging.Handler] = []
    if config.journal and journal_available(journal_socket):
        handlers.append(JournalHandler(service, journal_socket))
    else:
        folder = settings.logs_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                folder / f"{service}.log",
                maxBytes=config.max_bytes,
                backupCount=config.backup_count,
                encoding="utf-8",
            )
        )
    if interactive is None:
        interactive = sys.stderr.isatty()
    if config.stderr == "always" or (config.stderr == "auto" and interactive):
        handlers.append(logging.StreamHandler(sys.stderr))
    masker = SecretFilter(secrets_of(settings))
    formatter = JsonFormatter(service)
    for handler in handlers:
        handler.addFilter(masker)
        handler.setFormatter(formatter)
    return handlers


_installed: list[logging.Handler] = []


def add_secrets(secrets: Iterable[str]) -> None:
    """Mask these values too in the installed handlers (new tokens after a reload)."""
    added = [s for s in secrets if s]
    for handler in _installed:
        for masker in handler.filters:
            if isinstance(masker, SecretFilter):
                masker.secrets = sorted({*masker.secrets, *added}, key=len, reverse=True)


def configure_logging(service: str, settings: Settings, **options: Any) -> list[logging.Handler]:
    """Install ``service``'s handlers on the root logger; returns them.

    They replace the command line's plain stderr handler (`logging.basicConfig`'s) and those
    of an earlier call; handlers of other kinds (a test runner's) stay. ``options`` go to
    `log_handlers` (tests pass ``interactive`` and ``journal_socket``).
    """
    handlers = log_handlers(service, settings, **options)
    root = logging.getLogger()
    for old in root.handlers[:]:
        if old in _installed or type(old) is logging.StreamHandler:
            root.removeHandler(old)
            old.close()
    _installed[:] = handlers
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(settings.logs.level.upper())
    return handlers
