"""`broker stop` escalates to SIGKILL and takes the whole process group with it.

A stand-in process that ignores SIGTERM and has a child of its own plays the broker, so the
escalation path runs without waiting for a real JVM to misbehave.
"""

import subprocess
import sys
import textwrap

import psutil

from botcopier.infra.broker import status, stop
from botcopier.infra.broker.supervisor import BrokerState, _write_state
from tests.helpers import make_settings

STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stubborn-broker
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


def test_stop_kills_a_broker_that_ignores_sigterm_and_its_children(tmp_path):
    settings = make_settings(tmp_path, BROKER__STOP_TIMEOUT_S="1")
    settings.broker_dir().mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    grandchild = int(process.stdout.readline())
    _write_state(
        settings,
        BrokerState(
            kind="kafka",
            display_name="stubborn broker",
            version="0",
            pid=process.pid,
            create_time=psutil.Process(process.pid).create_time(),
            bootstrap="127.0.0.1:1",
            broker_dir=str(settings.broker_dir()),
            log_file=str(tmp_path / "none.log"),
            persistent=True,
            cmdline_marker="stubborn-broker",
        ),
    )
    assert status(settings).running
    lines: list[str] = []
    try:
        assert stop(settings, progress=lines.append)
        assert any("killing it" in line for line in lines)
        assert process.wait(timeout=10) == -9
        assert not psutil.pid_exists(grandchild) or (
            psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
        )
        assert not status(settings).running
        assert status(settings).state is None  # the state file is gone
    finally:
        if process.poll() is None:
            process.kill()
