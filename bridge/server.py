"""The bridge server: accepts EA connections and owns what they share.

Shared state: the Kafka publisher, the codec, per-EA acked sequence numbers (which survive
reconnects), metrics and the health endpoint.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from botcopier.bridge.exceptions import BridgeError, FrameError
from botcopier.bridge.health import HealthServer
from botcopier.bridge.metrics import BridgeMetrics
from botcopier.bridge.protocol import EVENT_KINDS, Hello, error_frame
from botcopier.bridge.publisher import KafkaPublisher
from botcopier.bridge.session import HELLO_TIMEOUT_S, EaSession
from botcopier.config import BridgeSettings, Settings
from botcopier.schemas.catalogue import SchemaCatalogue
from botcopier.schemas.codec import ValueCodec
from botcopier.telemetry import tracer

log = logging.getLogger("botcopier.bridge")

# How long a reconnecting EA waits for its previous connection's in-flight events, so its
# welcome can count them as acked instead of having them resent.
_SUPERSEDE_WAIT_S = 5.0


@dataclass
class EaState:
    """What the bridge remembers about one ea_id across its connections."""

    acked_seq: int = 0
    session: EaSession | None = None


def token_matches(given: str, candidates: tuple[str, ...]) -> bool:
    """Whether ``given`` is one of ``candidates``, in time independent of where it matches.

    Every candidate is compared, in constant time each, with no early exit: response timing
    reveals neither how much of a token matched nor which of the EA's tokens it was.
    """
    given_bytes = given.encode("utf-8")
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate.encode("utf-8"), given_bytes)
    return matched


def tls_context(bridge: BridgeSettings) -> ssl.SSLContext | None:
    """The server's TLS context (TLS 1.2 or newer) when a certificate is configured."""
    if bridge.tls_cert_file is None or bridge.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(bridge.tls_cert_file, bridge.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        # The message names the certificate file, never the key's contents.
        raise BridgeError(
            f"cannot load the bridge's TLS certificate {bridge.tls_cert_file} and its key: "
            f"{getattr(exc, 'strerror', None) or exc}"
        ) from exc
    return context


class BridgeServer:
    def __init__(self, settings: Settings, catalogue: SchemaCatalogue | None = None) -> None:
        self.settings = settings
        catalogue = catalogue or SchemaCatalogue.default()
        self.codec = ValueCodec(catalogue, settings.kafka.schema_registry_url)
        # Every event schema moves in step; the frames may claim up to the oldest current one.
        self.schema_version = min(
            catalogue.current(kind.schema_name).version for kind in EVENT_KINDS.values()
        )
        self.topic_names = {
            name: settings.topic(name)
            for name in {kind.topic for kind in EVENT_KINDS.values()} | {"dead-letter"}
        }
        self.heartbeat_s = settings.bridge.heartbeat_s
        self.metrics = BridgeMetrics(tuple(EVENT_KINDS))
        # Computed at scrape time rather than counted per event.
        self.metrics.in_flight.set_function(lambda: sum(s.in_flight for s in self._sessions))
        self.publisher = KafkaPublisher(settings)
        self.tracer = tracer("bridge")
        self.eas: dict[str, EaState] = {}
        self._sessions: set[EaSession] = set()
        self._per_ip: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._health = HealthServer(self)
        self._stopping = False

    @property
    def port(self) -> int:
        assert self._server is not None  # noqa: S101
        return self._server.sockets[0].getsockname()[1]

    @property
    def health_port(self) -> int | None:
        return self._health.port

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving() and not self._stopping

    async def start(self) -> None:
        bridge = self.settings.bridge
        tls = tls_context(bridge)
        self.publisher.start()
        self._server = await asyncio.start_server(
            self._on_connect,
            bridge.host,
            bridge.port,
            limit=bridge.max_frame_bytes,
            ssl=tls,
            # A client that never finishes its TLS handshake must not hold a slot for long.
            ssl_handshake_timeout=HELLO_TIMEOUT_S if tls else None,
        )
        await self._health.start(bridge.host, bridge.metrics_port)
        log.info(
            "bridge listening",
            extra={
                "host": bridge.host,
                "port": self.port,
                "tls": tls is not None,
                "metrics_port": self.health_port,
                "kafka": self.settings.bootstrap_servers(),
            },
        )

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stopping:
            writer.close()
            return
        peer = writer.get_extra_info("peername")
        address = peer[0] if peer else "unknown"
        limit = self.settings.bridge.max_connections_per_ip
        if self._per_ip[address] >= limit:
            await self._refuse_connection(writer, address, limit)
            return
        self._per_ip[address] += 1
        try:
            session = EaSession(self, reader, writer)
            self._sessions.add(session)
            self.metrics.connections.inc()
            self.metrics.connections_total.inc()
            await session.run()
        finally:
            self._per_ip[address] -= 1
            if not self._per_ip[address]:
                del self._per_ip[address]

    async def _refuse_connection(self, writer: asyncio.StreamWriter, address: str, limit: int):
        error = FrameError(
            "too_many_connections",
            f"{address} already has {limit} connections open (bridge.max_connections_per_ip)",
            fatal=True,
        )
        self.metrics.refused.labels(error.code).inc()
        log.warning("connection refused", extra={"code": error.code, "reason": error.reason})
        try:
            writer.write(error_frame(error))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    def forget(self, session: EaSession) -> None:
        if session in self._sessions:
            self._sessions.discard(session)
            self.metrics.connections.dec()
        if session.ea_id and self.eas.get(session.ea_id, EaState()).session is session:
            self.eas[session.ea_id].session = None

    def authenticate(self, hello: Hello) -> None:
        bridge = self.settings.bridge
        candidates = bridge.accepted_tokens(hello.ea_id)
        if candidates is None:
            if bridge.allow_unknown_eas:
                return
            raise FrameError("unauthorized", f"ea_id {hello.ea_id!r} is not registered", fatal=True)
        if not token_matches(hello.token, candidates):
            raise FrameError("unauthorized", f"wrong token for ea_id {hello.ea_id!r}", fatal=True)

    def _authorized(self, ea_id: str, token: str) -> bool:
        try:
            self.authenticate(Hello(ea_id, 0, token, 1, 1))
        except FrameError:
            return False
        return True

    async def reload_tokens(self, tokens: Mapping[str, SecretStr]) -> int:
        """Take a new ``[bridge.tokens]`` (SIGHUP); close connections whose token went.

        A rotation adds the new token beside the old one, moves the EA over, then removes the
        old one: from that reload on, the old token opens nothing and a connection still
        using it is closed. Returns how many connections were closed.
        """
        checked = BridgeSettings(tokens=dict(tokens)).tokens  # lists joined, blanks refused
        bridge = self.settings.bridge.model_copy(update={"tokens": checked})
        self.settings = self.settings.model_copy(update={"bridge": bridge})
        revoked = [
            session
            for session in list(self._sessions)
            if session.ea_id is not None
            and session.token is not None
            and not self._authorized(session.ea_id, session.token)
        ]
        log.info(
            "bridge tokens reloaded",
            extra={"eas": len(bridge.tokens), "closed_connections": len(revoked)},
        )
        for session in revoked:
            log.warning(
                "closing a connection whose token was revoked",
                extra={"ea_id": session.ea_id, "remote": session.remote},
            )
            error = FrameError(
                "unauthorized", f"the token of ea_id {session.ea_id!r} was revoked", fatal=True
            )
            self.metrics.refused.labels(error.code).inc()
        await asyncio.gather(*(s.revoke(error, _SUPERSEDE_WAIT_S) for s in revoked))
        return len(revoked)

    async def claim(self, ea_id: str, session: EaSession) -> EaState:
        """Bind ea_id to this connection; an older connection of the same EA is closed."""
        state = self.eas.setdefault(ea_id, EaState())
        previous = state.session
        state.session = session
        if previous is not None and previous is not session:
            log.info("EA reconnected: closing its previous connection", extra={"ea_id": ea_id})
            previous.stop_reading()
            await previous.wait_drained(_SUPERSEDE_WAIT_S)
            await previous.close()
        return state

    async def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop accepting, let in-flight events reach Kafka and be acked, then close."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        sessions = list(self._sessions)
        for session in sessions:
            session.stop_reading()
        if sessions:
            await asyncio.wait(
                [asyncio.create_task(s.wait_drained(timeout_s)) for s in sessions],
                timeout=timeout_s,
            )
        undelivered = await self.publisher.close(timeout_s)
        # Let the last delivery reports' acks reach the EAs before the sockets close.
        await asyncio.sleep(0.05)
        for session in list(self._sessions):
            await session.close()
        await self._health.stop()
        log.info("bridge stopped", extra={"undelivered": undelivered})
