"""``FAULTS <scenario>: …`` lines: on the terminal as each scenario ends, and again together in
pytest's terminal summary, without ``-s`` (CI keeps them in its log)."""

from __future__ import annotations

import pytest

_LINES = pytest.StashKey[list[str]]()


def fault_line(scenario: str, seconds: float, **counts: object) -> str:
    """
    >>> fault_line("bridge-kill", 12.34, sent=10, in_kafka=12)
    'FAULTS bridge-kill: sent=10 in_kafka=12 (12.3 s)'
    """
    figures = " ".join(f"{key}={value}" for key, value in counts.items())
    return f"FAULTS {scenario}: {figures} ({seconds:.1f} s)"


def report(request: pytest.FixtureRequest, scenario: str, seconds: float, **counts: object) -> str:
    """Show the scenario's counts now and in the summary; returns the line."""
    line = fault_line(scenario, seconds, **counts)
    config = request.config
    config.stash.setdefault(_LINES, []).append(line)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if terminal is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # what capsys.disabled() does
            terminal.write_line("")
            terminal.write_line(line)
    return line


def write_summary(terminal) -> None:
    """For ``pytest_terminal_summary``: every fault line of the run, in one block."""
    lines = terminal.config.stash.get(_LINES, [])
    if lines:
        terminal.section("fault suite counts")
        for line in lines:
            terminal.write_line(line)
