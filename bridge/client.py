"""The EA side of the bridge protocol: what the Observer EA does, in Python.

Every event is numbered and written to a spool file before it is sent (a write-ahead log),
so nothing is lost while the bridge is down or when the EA process itself restarts. After
each (re)connect the client replays what the bridge has not acked, in seq order, with
exponential backoff between attempts. Acked events leave the spool.

Examples
--------
A client that has never connected keeps events in its spool:

>>> import asyncio, tempfile
>>> async def offline():
...     client = EaClient("127.0.0.1", 1, "ea-doc", 1, "t", spool_dir=tempfile.mkdtemp())
...     for _ in range(3):
...         await client.submit("tick", {"event_time_ms": 0, "symbol": "EURUSD",
...                                      "bid": 1.0, "ask": 1.1})
...     return client.unacked_count, client.next_seq
>>> asyncio.run(offline())
(3, 4)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botcopier.bridge.frames import encode_event_frame
from botcopier.bridge.protocol import PROTOCOL_VERSION, encode_frame

log = logging.getLogger("botcopier.ea")

FrameEncoder = Callable[[str, int, dict[str, Any]], bytes]

_BACKOFF_START_S = 0.1
_BACKOFF_MAX_S = 5.0
# Rewrite the spool without acked lines once it holds this many bytes of them.
_COMPACT_BYTES = 4 << 20
_WRITE_BUFFER_LIMIT = 256 << 10
_HELLO_TIMEOUT_S = 10.0


def tls_client_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """A client context that verifies the bridge: against ``ca_file`` (e.g. the bridge's
    self-signed certificate), else the system's trusted CAs. TLS 1.2 or newer."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class EaClient:
    def __init__(
        self,
        host: str,
        port: int,
        ea_id: str,
        account: int,
        token: str,
        spool_dir: str | Path,
        schema_version: int = 1,
        max_unacked: int = 5000,
        on_acked: Callable[[int], None] | None = None,
        encode: FrameEncoder = encode_event_frame,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        # TLS to a bridge with [bridge] tls_cert_file: the context says which CA to trust
        # (`tls_client_context`); the bridge's certificate must name ``host``.
        self._tls = tls
        self.ea_id, self.account, self._token = ea_id, account, token
        self.schema_version = schema_version
        self.max_unacked = max_unacked
        # Called with each newly acked seq (for latency measurement).
        self.on_acked = on_acked
        # Canonical by default: byte for byte what the MQL4 Observer sends.
        self._encode = encode
        spool_dir = Path(spool_dir)
        spool_dir.mkdir(parents=True, exist_ok=True)
        self._spool_path = spool_dir / f"{ea_id}.spool"
        self._state_path = spool_dir / f"{ea_id}.state.json"
        self._unacked: deque[tuple[int, bytes]] = deque()
        self.acked_seq = 0
        self.next_seq = 1
        self._load()
        self._spool = self._spool_path.open("ab")
        self._acked_bytes = 0
        self._writer: asyncio.StreamWriter | None = None
        self._live = False  # connected and caught up: new events go straight out
        self._progress = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closed = False
        self.connects = 0
        self.errors: list[dict[str, Any]] = []
        self.fatal: dict[str, Any] | None = None

    # -- spool -----------------------------------------------------------------------------

    def _load(self) -> None:
        if self._state_path.exists():
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
            self.acked_seq = int(state["acked_seq"])
            self.next_seq = int(state["next_seq"])
        if not self._spool_path.exists():
            return
        with self._spool_path.open("rb") as spool:
            for number, line in enumerate(spool, 1):
                if not line.endswith(b"\n"):
                    # The process died mid-write: that event was never sent, so it never
                    # existed for the bridge; its seq is skipped.
                    log.warning("ignoring torn last spool line", extra={"line": number})
                    break
                seq = json.loads(line)["seq"]
                self.next_seq = max(self.next_seq, seq + 1)
                if seq > self.acked_seq:
                    self._unacked.append((seq, line))

    def _save_state(self) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"acked_seq": self.acked_seq, "next_seq": self.next_seq}), encoding="utf-8"
        )
        os.replace(tmp, self._state_path)

    def _compact(self) -> None:
        self._spool.close()
        tmp = self._spool_path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            out.writelines(line for _seq, line in self._unacked)
        self._save_state()
        os.replace(tmp, self._spool_path)
        self._spool = self._spool_path.open("ab")
        self._acked_bytes = 0

    @property
    def unacked_count(self) -> int:
        return len(self._unacked)

    # -- sending ---------------------------------------------------------------------------

    async def submit(self, frame_type: str, record: dict[str, Any]) -> int:
        """Number, spool and (when connected) send one event; returns its seq.

        While connected, waits when ``max_unacked`` events are unacked: a slow bridge slows
        the EA. While disconnected, events only accumulate in the spool.
        """
        while self._live and len(self._unacked) >= self.max_unacked:
            self._progress.clear()
            await self._progress.wait()
        seq = self.next_seq
        record = {"event_id": f"{self.account}-{self.ea_id}-{seq}", **record}
        line = self._encode(frame_type, seq, record)
        self.next_seq += 1
        self._spool.write(line)
        # Flushed per event so a crash of this process loses nothing already submitted.
        self._spool.flush()
        self._unacked.append((seq, line))
        if self._live and self._writer is not None:
            self._writer.write(line)
            if self._writer.transport.get_write_buffer_size() > _WRITE_BUFFER_LIMIT:
                await self._drain()
        return seq

    async def _drain(self) -> None:
        try:
            if self._writer is not None:
                await self._writer.drain()
        except ConnectionError:
            pass

    # -- connection ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"ea-{self.ea_id}")

    async def _run(self) -> None:
        backoff = _BACKOFF_START_S
        while not self._closed:
            welcomed = self.connects
            try:
                await self._session()
                backoff = _BACKOFF_START_S
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                log.debug("bridge unreachable", extra={"ea_id": self.ea_id, "error": str(exc)})
            finally:
                self._live = False
                self._writer = None
                self._spool.flush()
            if self.connects > welcomed:
                # The bridge welcomed us, so it is up: a cut link is retried at once, as the
                # MQL4 EA does, not after the backoff a dead bridge has built up.
                backoff = _BACKOFF_START_S
            if self.fatal and self.fatal.get("code") in ("unauthorized", "unsupported_protocol"):
                return  # retrying cannot help; the owner reads self.fatal
            if self._closed:
                return
            await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 - jitter
            backoff = min(backoff * 2, _BACKOFF_MAX_S)

    async def _session(self) -> None:
        reader, writer = await asyncio.open_connection(
            self.host,
            self.port,
            limit=1 << 20,
            ssl=self._tls,
            ssl_handshake_timeout=_HELLO_TIMEOUT_S if self._tls else None,
        )
        self._writer = writer
        try:
            first_unacked = self._unacked[0][0] if self._unacked else self.next_seq
            writer.write(
                encode_frame(
                    {
                        "type": "hello",
                        "protocol": PROTOCOL_VERSION,
                        "ea_id": self.ea_id,
                        "account": self.account,
                        "token": self._token,
                        "schema_version": self.schema_version,
                        "resume_from": first_unacked,
                    }
                )
            )
            welcome = json.loads(await asyncio.wait_for(reader.readuntil(b"\n"), _HELLO_TIMEOUT_S))
            if welcome.get("type") != "welcome":
                self._on_error(welcome)
                return
            self.connects += 1
            self._on_ack(int(welcome["acked_seq"]))
            reading = asyncio.create_task(self._read_replies(reader))
            pinging = asyncio.create_task(self._ping(writer, float(welcome["heartbeat_s"])))
            try:
                await self._replay(writer)
                await reading
            finally:
                reading.cancel()
                pinging.cancel()
        finally:
            writer.close()

    async def _replay(self, writer: asyncio.StreamWriter) -> None:
        """Send everything unacked in seq order, including events submitted meanwhile."""
        last_sent = 0
        while True:
            batch = [(seq, line) for seq, line in self._unacked if seq > last_sent]
            if not batch:
                self._live = True
                return
            for seq, line in batch:
                writer.write(line)
                last_sent = seq
            await writer.drain()

    async def _ping(self, writer: asyncio.StreamWriter, heartbeat_s: float) -> None:
        # The bridge drops connections silent for 3 heartbeats; a quiet market is not a fault.
        while True:
            await asyncio.sleep(heartbeat_s)
            writer.write(encode_frame({"type": "ping", "t": int(time.time() * 1000)}))

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readuntil(b"\n")
            reply = json.loads(line)
            kind = reply.get("type")
            if kind == "ack":
                self._on_ack(int(reply["seq"]))
            elif kind == "error":
                self._on_error(reply)
                if reply.get("fatal"):
                    return

    def _on_ack(self, seq: int) -> None:
        self.acked_seq = max(self.acked_seq, seq)
        while self._unacked and self._unacked[0][0] <= seq:
            acked_seq, line = self._unacked.popleft()
            self._acked_bytes += len(line)
            if self.on_acked is not None:
                self.on_acked(acked_seq)
        if self._acked_bytes > _COMPACT_BYTES or (not self._unacked and self._acked_bytes):
            self._compact()
        self._progress.set()

    def _on_error(self, reply: dict[str, Any]) -> None:
        self.errors.append(reply)
        if reply.get("fatal"):
            self.fatal = reply
        log.warning("bridge error", extra={"ea_id": self.ea_id, **reply})

    # -- waiting and closing ---------------------------------------------------------------

    async def wait_acked(self, timeout_s: float) -> bool:
        """True once every submitted event is acked; False after the timeout."""
        deadline = time.monotonic() + timeout_s
        while self._unacked:
            if self.fatal and self.fatal.get("code") == "unauthorized":
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass
        return True

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: S110 - closing regardless
                pass
        self._spool.flush()
        self._save_state()
        self._spool.close()
