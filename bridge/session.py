"""One EA connection: handshake, frames in, Kafka publishes, cumulative acks out."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botcopier.bridge.events import encode_event
from botcopier.bridge.exceptions import FrameError
from botcopier.bridge.protocol import (
    EVENT_KINDS,
    HEARTBEAT_S,
    PROTOCOL_VERSION,
    Frame,
    Hello,
    encode_frame,
    error_frame,
    parse_hello,
    parse_line,
    without_token,
)
from botcopier.bridge.publisher import Delivery
from botcopier.telemetry import start_event_span, traceparent

if TYPE_CHECKING:
    from botcopier.bridge.server import BridgeServer, EaState

log = logging.getLogger("botcopier.bridge")

HELLO_TIMEOUT_S = 10.0
_DRAIN_ON_CLOSE_S = 30.0
# Dead letters keep at most this much of an oversize line: enough to see what it was.
_OVERSIZE_KEEP_BYTES = 4096
# Above this many unsent bytes to a slow reader, stop reading its frames until it catches up.
_WRITE_BUFFER_LIMIT = 1 << 20


@dataclass
class _Pending:
    """A frame with a seq, waiting for Kafka before it may be acked."""

    seq: int
    received_s: float
    done: bool = False


class EaSession:
    def __init__(
        self,
        server: BridgeServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.remote = f"{peer[0]}:{peer[1]}" if peer else "unknown"
        self.ea_id: str | None = None
        # What the EA authenticated with, so a token reload can tell whether it still may.
        self.token: str | None = None
        self.state: EaState | None = None
        self._pending: deque[_Pending] = deque()
        self._max_in_flight = server.settings.bridge.max_in_flight
        self._space = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._ack_scheduled = False
        self._last_rx_s = time.monotonic()
        self._closing = False
        self._reading = True
        self._awaiting_input = False
        self._task: asyncio.Task | None = None

    @property
    def in_flight(self) -> int:
        """Frames read and not yet acked."""
        return len(self._pending)

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        self._task = asyncio.current_task()
        watchdog = asyncio.create_task(self._idle_watchdog())
        try:
            if await self._handshake():
                await self._serve_frames()
                # Input ended (EA finished, or shutdown stopped reading): what was read still
                # gets its acks before the connection closes.
                await self.wait_drained(_DRAIN_ON_CLOSE_S)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            watchdog.cancel()
            # Deliveries still in flight complete on their own and advance the EA's acked
            # seq, so a reconnecting EA is told about them in its next welcome.
            await self.close()

    def stop_reading(self) -> None:
        """Graceful shutdown: take no new frames; in-flight ones still get acked."""
        self._reading = False
        self.writer.transport.pause_reading()
        if self._awaiting_input and self._task is not None:
            # Interrupt the wait for the next frame; frames already read are unaffected.
            self._task.cancel()

    async def revoke(self, error: FrameError, timeout_s: float) -> None:
        """Take no new frames, let in-flight ones be acked, then send ``error`` and close."""
        self.stop_reading()
        await self.wait_drained(timeout_s)
        self._write(error_frame(error))
        await self.close()

    async def wait_drained(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.server.forget(self)
        try:
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def _idle_watchdog(self) -> None:
        limit_s = 3 * self.server.heartbeat_s
        while True:
            await asyncio.sleep(self.server.heartbeat_s)
            if time.monotonic() - self._last_rx_s > limit_s:
                log.info(
                    "closing idle connection", extra={"ea_id": self.ea_id, "remote": self.remote}
                )
                self.writer.close()
                return

    # -- reading ---------------------------------------------------------------------------

    async def _read_line(self) -> bytes | None:
        """The next line; None at end of stream. Oversize lines raise after being skipped."""
        try:
            line = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            line = exc.partial or None  # a last frame without its newline still counts
        except asyncio.LimitOverrunError as exc:
            line = await self._skip_oversize(exc.consumed)
        self._last_rx_s = time.monotonic()
        return line

    async def _skip_oversize(self, consumed: int) -> bytes:
        head = await self.reader.readexactly(consumed)
        total = len(head)
        while True:
            try:
                tail = await self.reader.readuntil(b"\n")
                total += len(tail)
                break
            except asyncio.LimitOverrunError as exc:
                total += len(await self.reader.readexactly(exc.consumed))
            except asyncio.IncompleteReadError as exc:
                total += len(exc.partial)
                break
        raise _Oversize(head[:_OVERSIZE_KEEP_BYTES], total)

    # -- handshake -------------------------------------------------------------------------

    async def _handshake(self) -> bool:
        max_bytes = self.server.settings.bridge.max_frame_bytes
        try:
            line = await asyncio.wait_for(self._read_line(), HELLO_TIMEOUT_S)
        except TimeoutError:
            await self._refuse(
                FrameError("hello_required", "no hello within 10 s", fatal=True), b""
            )
            return False
        except _Oversize as oversize:
            error = FrameError("oversize", oversize.reason(max_bytes), fatal=True)
            await self._refuse(error, oversize.head)
            return False
        if line is None:
            return False
        try:
            hello = parse_hello(parse_line(line, max_bytes), self.server.schema_version)
            self.server.authenticate(hello)
        except FrameError as error:
            error.fatal = True
            await self._refuse(error, without_token(line))
            return False
        self.ea_id, self.token = hello.ea_id, hello.token
        self.state = await self.server.claim(hello.ea_id, self)
        self._log_resume(hello)
        self._send(
            {
                "type": "welcome",
                "protocol": PROTOCOL_VERSION,
                "ea_id": hello.ea_id,
                "acked_seq": self.state.acked_seq,
                "max_frame_bytes": max_bytes,
                "heartbeat_s": self.server.heartbeat_s,
            }
        )
        return True

    def _log_resume(self, hello: Hello) -> None:
        assert self.state is not None  # noqa: S101
        acked = self.state.acked_seq
        extra = {"ea_id": hello.ea_id, "remote": self.remote, "account": hello.account}
        if acked and hello.resume_from > acked + 1:
            # Events between were never acked here: the EA lost them (or this bridge forgot).
            log.warning(
                "EA resumes past a gap",
                extra={**extra, "acked_seq": acked, "resume_from": hello.resume_from},
            )
        log.info("EA connected", extra={**extra, "resume_from": hello.resume_from})

    async def _refuse(self, error: FrameError, raw: bytes) -> None:
        self.server.metrics.refused.labels(error.code).inc()
        log.warning(
            "connection refused",
            extra={"code": error.code, "reason": error.reason, "remote": self.remote},
        )
        await self._dead_letter(error, raw)
        self.writer.write(error_frame(error))
        try:
            await self.writer.drain()
        except ConnectionError:
            pass

    # -- frames ----------------------------------------------------------------------------

    async def _serve_frames(self) -> None:
        max_bytes = self.server.settings.bridge.max_frame_bytes
        while self._reading:
            self._awaiting_input = True
            try:
                line = await self._read_line()
            except asyncio.CancelledError:
                if self._reading:
                    raise
                asyncio.current_task().uncancel()
                return
            except _Oversize as oversize:
                error = FrameError("oversize", oversize.reason(max_bytes))
                await self._reject(error, oversize.head)
                continue
            finally:
                self._awaiting_input = False
            if line is None:
                return
            try:
                await self._handle_line(line, max_bytes)
            except Exception:  # a bug here must cost one frame, not the EA's connection
                log.exception("frame handling failed", extra={"ea_id": self.ea_id})
                await self._reject(FrameError("internal", "the bridge failed on this frame"), line)
            transport = self.writer.transport
            if transport.get_write_buffer_size() > _WRITE_BUFFER_LIMIT:
                await self.writer.drain()

    async def _handle_line(self, line: bytes, max_bytes: int) -> None:
        try:
            frame = parse_line(line, max_bytes)
        except FrameError as error:
            await self._reject(error, line)
            return
        metrics = self.server.metrics
        metrics.frames_in_by_type[frame.type].inc()
        if frame.type == "ping":
            self._send({"type": "pong", "t": frame.body.get("t")})
            return
        if frame.type == "hello":
            error = FrameError("duplicate_hello", "hello was already sent")
            await self._reject(error, without_token(line))
            return
        seq = frame.seq
        if seq is None:
            await self._reject(FrameError("invalid_seq", "seq must be an integer >= 1"), line)
            return
        if len(self._pending) >= self._max_in_flight:
            # Backpressure: stop reading until Kafka confirms some of what is in flight.
            self._space.clear()
            await self._space.wait()
        pending = self._track(seq)
        assert self.state is not None  # noqa: S101
        if seq <= self.state.acked_seq:
            metrics.duplicates.inc()
            self._complete(pending)
            return
        try:
            await self._publish_event(frame, pending)
        except FrameError as error:
            error.seq = seq
            await self._reject(error, line, pending)

    def _track(self, seq: int) -> _Pending:
        pending = _Pending(seq, time.perf_counter())
        self._pending.append(pending)
        self._drained.clear()
        return pending

    async def _publish_event(self, frame: Frame, pending: _Pending) -> None:
        server = self.server
        kind = EVENT_KINDS[frame.type]
        span, trace_id, span_id = start_event_span(server.tracer, kind.span_name)
        topic = server.topic_names[kind.topic]
        try:
            event = encode_event(
                frame,
                ea_id=self.ea_id or "",
                seq=pending.seq,
                schema_version=server.schema_version,
                codec=server.codec,
                topic=topic,
                trace_id=f"{trace_id:032x}",
                span_id=f"{span_id:016x}",
            )
        except FrameError:
            if span is not None:
                span.end()
            raise
        headers = [("traceparent", traceparent(trace_id, span_id).encode())]
        published = server.metrics.published_by_type[kind.frame_type]

        def on_delivered(delivery: Delivery) -> None:
            if span is not None:
                span.set_attribute("ea_id", self.ea_id or "")
                span.set_attribute("seq", pending.seq)
                span.end()
            if delivery.error is not None:
                self._publish_failed(delivery)
                return
            published.inc()
            self._complete(pending)

        await server.publisher.publish(topic, event.key, event.value, on_delivered, headers)

    def _publish_failed(self, delivery: Delivery) -> None:
        # The EA must resend: close so it reconnects and replays from its last ack.
        log.error(
            "Kafka did not take an event",
            extra={"ea_id": self.ea_id, "error": str(delivery.error), "topic": delivery.topic},
        )
        error = FrameError(
            "publish_failed", f"Kafka refused the event: {delivery.error}", fatal=True
        )
        self._write(error_frame(error))
        self._reading = False
        self.writer.close()

    async def _reject(self, error: FrameError, raw: bytes, pending: _Pending | None = None) -> None:
        """Error frame to the EA, raw bytes to dead-letter; the seq is acked once stored."""
        self.server.metrics.rejected.labels(error.code).inc()
        self._write(error_frame(error))

        def on_delivered(delivery: Delivery) -> None:
            if delivery.error is not None:
                self._publish_failed(delivery)
            elif pending is not None:
                self._complete(pending)

        await self._dead_letter(error, raw, on_delivered)

    async def _dead_letter(
        self,
        error: FrameError,
        raw: bytes,
        on_delivered: Callable[[Delivery], None] = lambda _delivery: None,
    ) -> None:
        server = self.server
        record = {
            "event_id": uuid.uuid4().hex,
            "event_time_ms": int(time.time() * 1000),
            "source": "bridge",
            "reason_code": error.code,
            "reason": error.reason,
            "raw": raw,
            "ea_id": self.ea_id,
            "remote": self.remote,
        }
        topic = server.topic_names["dead-letter"]
        value = server.codec.encode("DeadLetter", record, topic=topic)
        await server.publisher.publish(topic, b"bridge", value, on_delivered)

    # -- acks ------------------------------------------------------------------------------

    def _complete(self, pending: _Pending) -> None:
        pending.done = True
        if not self._ack_scheduled:
            # One ack covers every frame completed in this turn of the event loop.
            self._ack_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_ack)

    def _send_ack(self) -> None:
        self._ack_scheduled = False
        acked = None
        now = time.perf_counter()
        latency = self.server.metrics.ack_latency
        while self._pending and self._pending[0].done:
            entry = self._pending.popleft()
            # A resend can sit behind newer frames; the ack must never go backwards.
            acked = entry.seq if acked is None else max(acked, entry.seq)
            latency.observe(now - entry.received_s)
        if not self._pending:
            self._drained.set()
        if len(self._pending) < self._max_in_flight:
            self._space.set()
        if acked is None:
            return
        assert self.state is not None  # noqa: S101
        self.state.acked_seq = max(self.state.acked_seq, acked)
        if not self._closing:
            self._write(encode_frame({"type": "ack", "seq": acked}))

    def _send(self, frame: dict[str, Any]) -> None:
        self._write(encode_frame(frame))

    def _write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)


class _Oversize(Exception):  # noqa: N818 - internal control flow, never escapes the session
    def __init__(self, head: bytes, total: int) -> None:
        super().__init__(total)
        self.head = head
        self.total = total

    def reason(self, limit: int) -> str:
        return (
            f"frame of {self.total} bytes exceeds max_frame_bytes={limit}; "
            f"first {len(self.head)} bytes kept"
        )


__all__ = ["HEARTBEAT_S", "EaSession"]
