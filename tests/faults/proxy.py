"""A TCP proxy between the EAs and the bridge that cuts every connection again and again.

What a flaky terminal link does: connections die mid-frame in either direction, and the
next connection may die before its welcome. Each cut aborts both sides of every open
connection (a reset, not a polite close), then new connections are let through until the
next cut.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

_CHUNK = 64 << 10


@dataclass(eq=False)  # kept in a set by identity
class _Link:
    downstream: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.downstream, self.upstream):
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class LinkCutter:
    """Listens on a free port, forwards to ``127.0.0.1:target_port``, and cuts every link
    every ``cut_every_s`` seconds (uniformly jittered by ``jitter`` of that)."""

    def __init__(self, target_port: int, cut_every_s: float, jitter: float = 0.5, seed: int = 0):
        self.target_port = target_port
        self.cut_every_s = cut_every_s
        self.jitter = jitter
        self._rng = random.Random(seed)
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._cutter: asyncio.Task | None = None
        self.connections = 0
        self.cuts = 0  # rounds of cutting
        self.links_cut = 0  # connections cut, over all rounds
        self.bytes_up = 0

    @property
    def port(self) -> int:
        assert self._server is not None  # noqa: S101
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> LinkCutter:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        self._cutter = asyncio.create_task(self._cut_forever())
        return self

    async def stop_cutting(self) -> None:
        """Leave the link up from now on (the EAs catch up over it)."""
        if self._cutter is not None:
            self._cutter.cancel()
            self._cutter = None

    async def close(self) -> None:
        await self.stop_cutting()
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        self._links.clear()

    async def _cut_forever(self) -> None:
        while True:
            spread = self.cut_every_s * self.jitter
            await asyncio.sleep(self.cut_every_s + self._rng.uniform(-spread, spread))
            self.cuts += 1
            for link in list(self._links):
                self.links_cut += 1
                link.abort()
            self._links.clear()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        link = _Link(writer, up_writer)
        link.tasks = [
            asyncio.create_task(self._pipe(reader, up_writer, link, count=True)),
            asyncio.create_task(self._pipe(up_reader, writer, link, count=False)),
        ]
        self._links.add(link)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, count: bool
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                writer.write(data)
                if count:
                    self.bytes_up += len(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side ended: end the other too, as a dead link would.
            if link in self._links:
                self._links.discard(link)
                link.abort()
