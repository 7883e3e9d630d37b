"""Service processes a driver starts: stopped when asked, and not orphaned when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

DRIVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from botcopier.services import ServiceProcess

    service = ServiceProcess(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(120)"], {},
        Path(sys.argv[1]), die_with_parent=sys.argv[2] == "1",
    )
    service.start()
    print(service.process.pid, flush=True)
    time.sleep(120)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent (init, here) has not reaped it yet.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def _service_of_killed_driver(tmp_path, die_with_parent: bool) -> int:
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "s.log"), "1" if die_with_parent else "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(driver.stdout.readline())
    driver.send_signal(signal.SIGKILL)  # as a test timeout kills a demo
    driver.wait(10)
    return pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_a_service_started_to_die_with_its_driver_stops_when_the_driver_is_killed(tmp_path):
    pid = _service_of_killed_driver(tmp_path, die_with_parent=True)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_without_it_the_service_outlives_its_driver(tmp_path):
    pid = _service_of_killed_driver(tmp_path, die_with_parent=False)
    try:
        time.sleep(0.5)
        assert _alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
