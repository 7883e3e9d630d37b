"""The bridge server: accepts EA connections and owns what they share.

Shared state: the Kafka publisher, the codec, per-EA acked sequence numbers (which survive
reconnects), metrics and the health endpoint.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass

from botcopier.bridge.exceptions import FrameError
from botcopier.bridge.health import HealthServer
from botcopier.bridge.metrics import BridgeMetrics
from botcopier.bridge.protocol import EVENT_KINDS, Hello
from botcopier.bridge.publisher import KafkaPublisher
from botcopier.bridge.session import EaSession
from botcopier.config import Settings
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
        self.publisher.start()
        bridge = self.settings.bridge
        self._server = await asyncio.start_server(
            self._on_connect, bridge.host, bridge.port, limit=bridge.max_frame_bytes
        )
        await self._health.start(bridge.host, bridge.metrics_port)
        log.info(
            "bridge listening",
            extra={
                "host": bridge.host,
                "port": self.port,
                "metrics_port": self.health_port,
                "kafka": self.settings.bootstrap_servers(),
            },
        )

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stopping:
            writer.close()
            return
        session = EaSession(self, reader, writer)
        self._sessions.add(session)
        self.metrics.connections.inc()
        self.metrics.connections_total.inc()
        await session.run()

    def forget(self, session: EaSession) -> None:
        if session in self._sessions:
            self._sessions.discard(session)
            self.metrics.connections.dec()
        if session.ea_id and self.eas.get(session.ea_id, EaState()).session is session:
            self.eas[session.ea_id].session = None

    def authenticate(self, hello: Hello) -> None:
        expected = self.settings.bridge.tokens.get(hello.ea_id)
        if expected is None:
            if self.settings.bridge.allow_unknown_eas:
                return
            raise FrameError("unauthorized", f"ea_id {hello.ea_id!r} is not registered", fatal=True)
        # Constant time, so response timing does not reveal how much of a token matched.
        if not hmac.compare_digest(
            expected.get_secret_value().encode("utf-8"), hello.token.encode("utf-8")
        ):
            raise FrameError("unauthorized", f"wrong token for ea_id {hello.ea_id!r}", fatal=True)

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
