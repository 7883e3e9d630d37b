"""Running a bridge for tests: in a thread of this process, or as a real subprocess."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from botcopier.bridge.protocol import PROTOCOL_VERSION, encode_frame
from botcopier.bridge.server import BridgeServer
from botcopier.config import Settings
from botcopier.services import ServiceProcess, botcopier_command


class ThreadedBridge:
    """A BridgeServer on its own event loop in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.server = BridgeServer(settings)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedBridge:
        self._thread.start()
        self.call(self.server.start())
        return self

    def call(self, coroutine, timeout_s: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def __exit__(self, *exc) -> None:
        self.call(self.server.shutdown(timeout_s=10))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def port(self) -> int:
        return self.server.port


class RawEa:
    """A blocking-socket EA for protocol-level tests: frames in, replies out, nothing hidden."""

    def __init__(self, port: int, timeout_s: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self._buffer = b""

    def hello(self, ea_id: str, token: str, account: int = 1, resume_from: int = 1) -> dict:
        self.send(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "ea_id": ea_id,
                "account": account,
                "token": token,
                "schema_version": 1,
                "resume_from": resume_from,
            }
        )
        return self.reply()

    @staticmethod
    def encode(frame: dict) -> bytes:
        return encode_frame(frame)

    def send(self, frame: dict) -> None:
        self.sock.sendall(encode_frame(frame))

    def send_trades(self, seqs: range, account: int, magic: int, id_prefix: str) -> None:
        """Valid trade frames, one per seq, event ids ``<id_prefix><seq>``."""
        from tests.test_bridge import trade

        for seq in seqs:
            self.send(
                {
                    "type": "trade",
                    "seq": seq,
                    "event_id": f"{id_prefix}{seq}",
                    **trade(account, magic, seq),
                }
            )

    def send_line(self, raw: bytes) -> None:
        self.sock.sendall(raw + b"\n")

    def reply(self) -> dict:
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("bridge closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def replies_until_ack(self, seq: int) -> list[dict]:
        """Every reply up to the first ack covering ``seq``."""
        seen = []
        while True:
            reply = self.reply()
            seen.append(reply)
            if reply["type"] == "ack" and reply["seq"] >= seq:
                return seen

    def close(self) -> None:
        self.sock.close()


class BridgeProcess(ServiceProcess):
    """`botcopier bridge` as a real subprocess, so it can be SIGKILLed."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__("bridge", [], env, log_path)

    def start(self, port: int) -> None:  # type: ignore[override]
        self.argv = botcopier_command("bridge", "--port", str(port))
        super().start(port=port)

    def terminate(self) -> int:
        return self.stop()


@contextmanager
def bridge_process(env: dict[str, str], log_path: Path, port: int) -> Iterator[BridgeProcess]:
    process = BridgeProcess(env, log_path)
    process.start(port)
    try:
        yield process
    finally:
        process.kill()
