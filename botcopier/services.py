"""Running a BotCopier service (bridge, agents, ...) as a child process of a driver.

The demo and the tests start services this way: a real process with its own interpreter,
logging to a file, stopped with SIGTERM (graceful) and SIGKILL only as a last resort.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from botcopier.exceptions import BotCopierError


class ServiceError(BotCopierError):
    """A service process failed to start or to stop."""


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def botcopier_command(*args: str) -> list[str]:
    """The argv that runs ``botcopier ARGS`` with this interpreter."""
    return [sys.executable, "-m", "botcopier.cli", *args]


def _parent_death_signal() -> Callable[[], object]:
    """What the child runs before exec: ask the kernel to SIGTERM it when its parent dies,
    even by SIGKILL (Linux's PR_SET_PDEATHSIG). Resolved here, in the parent: a forked child
    of a threaded process must not import anything."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return functools.partial(prctl, 1, int(signal.SIGTERM))  # 1: PR_SET_PDEATHSIG


class ServiceProcess:
    """One service process. With ``die_with_parent`` (Linux), the service is told to stop
    when its driver dies, however it dies: a killed demo leaves no bridge or worker behind.
    Only for drivers that start services from their main thread, since the kernel ties the
    signal to the thread that forked."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        die_with_parent: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.die_with_parent = die_with_parent and sys.platform.startswith("linux")
        self.process: subprocess.Popen | None = None

    def start(self, port: int | None = None, host: str = "127.0.0.1", timeout_s: float = 30.0):
        """Start it; with ``port``, return once it accepts connections there."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_parent_death_signal() if self.die_with_parent else None,
            )
        if port is None:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with {self.process.returncode}; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if port_open(host, port, timeout_s=0.2):
                return
            time.sleep(0.05)
        self.kill()
        raise ServiceError(f"{self.name} did not listen on {host}:{port} within {timeout_s:.0f} s")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM and wait (the service flushes and acks); SIGKILL after the timeout."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
