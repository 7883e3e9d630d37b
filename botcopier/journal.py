"""A logging handler writing to the systemd journal over its native datagram socket.

No dependency on ``python-systemd``: the protocol is a datagram of ``KEY=value`` lines sent
to ``/run/systemd/journal/socket``; a value holding a newline is sent as ``KEY``, a newline,
its length as a little-endian 64-bit integer, the bytes and a newline
(https://systemd.io/JOURNAL_NATIVE_PROTOCOL/).

Examples
--------
>>> encode_fields({"MESSAGE": "hello", "PRIORITY": "6"})
b'MESSAGE=hello\\nPRIORITY=6\\n'
>>> encode_fields({"MESSAGE": "two\\nlines"})
b'MESSAGE\\n\\t\\x00\\x00\\x00\\x00\\x00\\x00\\x00two\\nlines\\n'
>>> syslog_priority(logging.WARNING), syslog_priority(logging.DEBUG)
(4, 7)
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
from collections.abc import Mapping
from pathlib import Path

JOURNAL_SOCKET = Path("/run/systemd/journal/socket")

# Past this a datagram may not fit the socket's buffer; journald's own limit is larger, but
# a log line this long is a bug to read, not a record to keep whole.
MAX_MESSAGE_BYTES = 64 * 1024


def syslog_priority(levelno: int) -> int:
    """The syslog priority journald files a Python log level under."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def encode_fields(fields: Mapping[str, str]) -> bytes:
    """One journal entry in the native protocol's wire format."""
    parts = []
    for key, value in fields.items():
        data = value.encode("utf-8", errors="replace")
        if b"\n" in data:
            parts.append(key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n")
        else:
            parts.append(key.encode() + b"=" + data + b"\n")
    return b"".join(parts)


def journal_available(path: Path = JOURNAL_SOCKET) -> bool:
    """journald listens on ``path`` (the socket exists and accepts a datagram)."""
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class JournalHandler(logging.Handler):
    """Sends each record, formatted by its formatter, as MESSAGE with journal fields.

    ``SYSLOG_IDENTIFIER`` is ``botcopier-<service>`` so ``journalctl -t botcopier-bridge``
    finds one service; ``journalctl -o cat`` shows the JSON lines alone.
    """

    def __init__(self, service: str, path: Path = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.service = service
        self.path = str(path)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def fields(self, record: logging.LogRecord, message: str) -> dict[str, str]:
        return {
            "MESSAGE": message,
            "PRIORITY": str(syslog_priority(record.levelno)),
            "SYSLOG_IDENTIFIER": f"botcopier-{self.service}",
            "BOTCOPIER_SERVICE": self.service,
            "LOGGER": record.name,
            "CODE_FILE": record.pathname,
            "CODE_LINE": str(record.lineno),
            "CODE_FUNC": record.funcName,
        }

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            datagram = encode_fields(self.fields(record, message))
            try:
                self._socket.sendto(datagram, self.path)
            except OSError as exc:
                if exc.errno != errno.EMSGSIZE:
                    raise
                cut = message.encode("utf-8")[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore")
                self._socket.sendto(encode_fields(self.fields(record, cut)), self.path)
        except Exception:  # noqa: BLE001 - logging must never take the service down
            self.handleError(record)

    def close(self) -> None:
        self._socket.close()
        super().close()
