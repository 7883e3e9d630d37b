"""Starts, stops and inspects the local broker process, whichever launcher runs it.

The running broker is described by ``<broker dir>/broker.json``; its output goes to
``<broker dir>/broker.log``. The process runs in its own session, so stop can signal the
whole group and leave no JVM behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from botcopier.config import Settings
from botcopier.infra.broker.base import BrokerLauncher, Progress
from botcopier.infra.broker.exceptions import BrokerError, BrokerStartError
from botcopier.services import port_open

STATE_FILE = "broker.json"
LOG_FILE = "broker.log"
_POLL_S = 0.25
_KILL_WAIT_S = 10.0
# How long a dead broker may wait for its parent to collect it before `stop` says so.
_REAP_WAIT_S = 10.0

# Popen objects of brokers this process started, so stop() can reap them (no zombies).
_children: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class BrokerState:
    kind: str
    display_name: str
    version: str
    pid: int
    create_time: float
    bootstrap: str
    broker_dir: str
    log_file: str
    persistent: bool
    cmdline_marker: str

    def describe(self) -> str:
        persistence = (
            "log kept on disk" if self.persistent else "memory-only: a restart loses the log"
        )
        return (
            f"{self.display_name} on {self.bootstrap} (pid {self.pid}; {persistence})\n"
            f"  data: {self.broker_dir}\n  log:  {self.log_file}"
        )


@dataclass(frozen=True)
class BrokerStatus:
    state: BrokerState | None
    running: bool
    reachable: bool

    def describe(self) -> str:
        if self.state is None:
            return "no broker started by botcopier is running"
        if not self.running:
            return f"stopped (last run: {self.state.display_name} on {self.state.bootstrap})"
        reach = "accepting connections" if self.reachable else "NOT accepting connections"
        return f"running: {self.state.describe()}\n  {reach}"


def _state_path(settings: Settings) -> Path:
    return settings.broker_dir() / STATE_FILE


def read_state(settings: Settings) -> BrokerState | None:
    path = _state_path(settings)
    try:
        return BrokerState(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise BrokerError(f"broker state file {path} is unreadable ({exc}); delete it") from exc


def _write_state(settings: Settings, state: BrokerState) -> None:
    path = _state_path(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def is_alive(state: BrokerState) -> bool:
    """The recorded pid is still the broker we started (not a zombie, not a reused pid)."""
    try:
        process = psutil.Process(state.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        same_process = abs(process.create_time() - state.create_time) < 1.0
        return same_process and any(state.cmdline_marker in arg for arg in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _kafka_answers(bootstrap: str, timeout_s: float) -> bool:
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}).list_topics(timeout=timeout_s)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


def status(settings: Settings) -> BrokerStatus:
    state = read_state(settings)
    if state is None:
        return BrokerStatus(None, False, False)
    running = is_alive(state)
    host, _, port = state.bootstrap.rpartition(":")
    return BrokerStatus(state, running, running and port_open(host, int(port)))


def start(settings: Settings, launcher: BrokerLauncher, progress: Progress) -> BrokerState:
    """Start the broker unless one is already running; wait until it serves metadata."""
    current = status(settings)
    if current.running and current.state is not None:
        progress(f"already running: {current.state.describe()}")
        return current.state
    host, port = settings.broker.host, settings.broker.port
    for busy in (port, settings.broker.controller_port if launcher.kind == "kafka" else None):
        if busy is not None and port_open(host, busy):
            raise BrokerError(
                f"{host}:{busy} is already in use by another process; stop it or set "
                "BOTCOPIER_BROKER__PORT / BOTCOPIER_BROKER__CONTROLLER_PORT"
            )
    plan = launcher.prepare()
    broker_dir = settings.broker_dir()
    log_path = broker_dir / LOG_FILE
    progress(f"starting {launcher.display_name} on {host}:{port}")
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            plan.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=broker_dir,
            start_new_session=True,
        )
    _children[process.pid] = process
    state = BrokerState(
        kind=launcher.kind,
        display_name=launcher.display_name,
        version=plan.version,
        pid=process.pid,
        create_time=psutil.Process(process.pid).create_time(),
        bootstrap=f"{host}:{port}",
        broker_dir=str(broker_dir),
        log_file=str(log_path),
        persistent=plan.persistent,
        cmdline_marker=plan.cmdline_marker,
    )
    _write_state(settings, state)
    try:
        _wait_ready(process, state, settings.broker.start_timeout_s, progress)
    except BrokerStartError:
        stop(settings, progress=lambda _line: None)
        raise
    progress(f"ready: {state.describe()}")
    return state


def _wait_ready(
    process: subprocess.Popen, state: BrokerState, timeout_s: float, progress: Progress
) -> None:
    started = time.monotonic()
    next_report = started + 5.0
    host, _, port = state.bootstrap.rpartition(":")
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise BrokerStartError(
                f"{state.display_name} exited with code {process.returncode} while starting; "
                f"last log lines:\n{_log_tail(Path(state.log_file))}"
            )
        if port_open(host, int(port)) and _kafka_answers(state.bootstrap, timeout_s=5.0):
            return
        if time.monotonic() >= next_report:
            progress(f"  waiting for the broker ({time.monotonic() - started:.0f} s)...")
            next_report += 5.0
        time.sleep(_POLL_S)
    raise BrokerStartError(
        f"{state.display_name} did not answer on {state.bootstrap} within {timeout_s:.0f} s; "
        f"last log lines:\n{_log_tail(Path(state.log_file))}"
    )


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(settings: Settings, progress: Progress) -> bool:
    """Stop the broker cleanly (SIGTERM, then SIGKILL after the timeout). True if one ran."""
    state = read_state(settings)
    if state is None or not is_alive(state):
        if state is not None:
            _state_path(settings).unlink(missing_ok=True)
        _reap(state.pid if state else None)
        progress("no broker was running")
        return False
    progress(f"stopping {state.display_name} (pid {state.pid})")
    _signal_group(state.pid, signal.SIGTERM)
    if not _wait_until_gone(state, settings.broker.stop_timeout_s):
        progress(f"  still running after {settings.broker.stop_timeout_s:.0f} s: killing it")
        _signal_group(state.pid, signal.SIGKILL)
        if not _wait_until_gone(state, _KILL_WAIT_S):
            raise BrokerError(f"broker process group {state.pid} survived SIGKILL")
    _state_path(settings).unlink(missing_ok=True)
    parent = _wait_until_reaped(state, _REAP_WAIT_S)
    if parent is None:
        progress("stopped")
    else:
        progress(f"stopped (pid {state.pid} has exited; its parent, pid {parent}, "
                 "has not collected it yet)")  # fmt: skip
    return True


def _wait_until_reaped(state: BrokerState, timeout_s: float) -> int | None:
    """Wait until the broker's pid has left the process table; None once it has, else the
    pid of the parent that has not collected it.

    A dead broker whose `broker start` ran in another process is a zombie until init
    collects it, which some inits do seconds later: until then `ps`, `pgrep` and `kill -0`
    still see a JVM, so "stopped" waits for that too.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        _reap(state.pid)
        try:
            process = psutil.Process(state.pid)
            if abs(process.create_time() - state.create_time) >= 1.0:
                return None  # the pid was collected and is someone else's now
            parent = process.ppid()
        except psutil.NoSuchProcess:
            return None
        if parent == os.getpid() and state.pid not in _children:
            return None  # a child this process started by other means: its owner reaps it
        if time.monotonic() >= deadline:
            return parent
        time.sleep(0.05)


def _wait_until_gone(state: BrokerState, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _group_alive(state):
        _reap(state.pid)
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    _reap(state.pid)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(state: BrokerState) -> bool:
    if is_alive(state):
        return True
    # Anything else left in the broker's session (the launcher made it the group leader).
    for process in psutil.process_iter(["pid"]):
        try:
            if process.pid != state.pid and os.getpgid(process.pid) == state.pid:
                if process.status() != psutil.STATUS_ZOMBIE:
                    return True
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return False


def _reap(pid: int | None) -> None:
    child = _children.get(pid) if pid is not None else None
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)
