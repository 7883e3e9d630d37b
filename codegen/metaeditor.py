"""MQL4 through MetaQuotes' own compiler, ``metaeditor.exe`` under Wine: ``botcopier mql4-compile``.

The executable is never part of BotCopier; give its path. Known to work here: MetaEditor
5.0.0.979 (the compiler MT4 builds 6xx ship) in a 32-bit Wine prefix. That build writes no
log and its command line (``/compile:``) gives only an exit code, so the messages are read
from its Errors pane: MetaEditor is started on one ``.mq4`` under a private X server (Xvfb),
F7 is sent with ``xdotool`` and the pane is copied through the X clipboard (``xclip``).

Every run lays out a fresh ``MQL4/`` tree beside the executable (``/portable`` makes that
the data folder) with CRLF line endings, which that build needs: with LF alone a
``#property`` or ``#include`` line runs on to the end of the file. A known-good, a
known-bad and a warning probe are compiled first, so a setup that compiles nothing, accepts
anything or loses the warnings fails loudly instead of passing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from botcopier.exceptions import BotCopierError

SUMMARY = re.compile(r"(\d+) error\(s\), (\d+) warning\(s\)")
_FILE_HEADER = re.compile(r"^'[^']+\.mq[4h]'$")
# The Errors pane's first row, from the bottom of the main window (1600x1000 screen, the
# default layout of a fresh portable data folder).
_PANE_ROW_FROM_BOTTOM = 173
_SCREEN = "1600x1000x24"
_TOOLS = ("wine", "wineboot", "wineserver", "Xvfb", "xdotool", "xclip")

PROBE_GOOD = """#property strict
#include <BcProbe/Probe.mqh>
int OnInit()
{
   return(BcProbeValue() == 7 ? INIT_SUCCEEDED : INIT_FAILED);
}
void OnTick()
{
   Print(DoubleToString(Bid, Digits));
}
"""
PROBE_INCLUDE = """#property strict
int BcProbeValue()
{
   return(7);
}
"""
# Three errors: an undeclared variable, OrderSend with too few arguments, an undefined
# function.
PROBE_BAD = """#property strict
int OnInit()
{
   undeclaredCounter = 1;
   int ticket = OrderSend(Symbol(), OP_BUY, 0.1);
   return(ticket);
}
void OnTick()
{
   BcNoSuchFunction();
}
"""
# Compiles, with two warnings: a double stored in an int, and OrderSend's result ignored.
PROBE_WARN = """#property strict
int OnInit()
{
   int lots = 1.5 * AccountLeverage();
   OrderSend(Symbol(), OP_BUY, lots, Ask, 3, 0, 0);
   return(INIT_SUCCEEDED);
}
void OnTick()
{
}
"""
# name: (text, errors, warnings); an .ex4 is expected exactly when there is no error.
PROBES = {"Good": (PROBE_GOOD, 0, 0), "Bad": (PROBE_BAD, 3, 0), "Warn": (PROBE_WARN, 0, 2)}


class CompilerSetupError(BotCopierError):
    """Wine, Xvfb or MetaEditor cannot be started, or the probes prove the setup wrong."""


@dataclass(frozen=True)
class Message:
    text: str
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.text}"


@dataclass(frozen=True)
class CompileResult:
    source: str  # relative to the MQL4/ folder, e.g. Experts/Observer_TBot.mq4
    errors: int
    warnings: int
    ex4: bool
    messages: list[Message] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.errors == 0 and self.warnings == 0 and self.ex4

    def summary(self) -> str:
        ex4 = "yes" if self.ex4 else "no"
        return f"{self.source}: errors={self.errors} warnings={self.warnings} ex4={ex4}"


def parse_pane(text: str) -> tuple[int, int, list[Message]] | None:
    """Counts and messages from the Errors pane's copied text; None before a compile ended.

    >>> pane = "'Bad.mq4'\\tBad.mq4\\t1\\t1\\n'x' - undeclared identifier\\tBad.mq4\\t4\\t4\\n"
    >>> errors, warnings, messages = parse_pane(pane + "1 error(s), 0 warning(s)\\t\\t3\\t1\\n")
    >>> errors, warnings, [str(m) for m in messages]
    (1, 0, ["Bad.mq4:4:4: 'x' - undeclared identifier"])
    """
    # The pane's copy ends in a NUL and then whatever its buffer held.
    lines = text.split("\0", 1)[0].replace("\r", "").split("\n")
    messages, counts = [], None
    for line in lines:
        cells = line.split("\t")
        description = cells[0].strip()
        if not description or _FILE_HEADER.match(description):
            continue
        found = SUMMARY.fullmatch(description)
        if found:
            counts = int(found.group(1)), int(found.group(2))
            continue
        where = [int(c) if c.strip().isdigit() else 0 for c in (cells + ["", "", ""])[2:4]]
        file = cells[1].strip() if len(cells) > 1 else ""
        messages.append(Message(description, file, where[0], where[1]))
    if counts is None:
        return None
    return counts[0], counts[1], messages


def crlf(text: str) -> str:
    """The text with CRLF line endings (none doubled).

    >>> crlf("a\\nb\\r\\nc")
    'a\\r\\nb\\r\\nc'
    """
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def windows_path(path: Path) -> str:
    """Wine's name for a local path (drive Z: is the root)."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def check_prerequisites(exe: Path) -> None:
    """Raise with what to do unless ``exe`` exists and Wine, Xvfb, xdotool and xclip are here."""
    if not exe.is_file():
        raise CompilerSetupError(f"no metaeditor.exe at {exe}")
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise CompilerSetupError(
            f"missing {', '.join(missing)}: apt-get install wine wine32 xvfb xdotool xclip "
            "(after dpkg --add-architecture i386)"
        )


def mql4_folder(source: Path) -> Path:
    """The folder holding Experts/, Include/, Scripts/ …: ``source`` or its ``MQL4`` child."""
    return source / "MQL4" if (source / "MQL4").is_dir() else source


def lay_out(sources: Sequence[Path], target: Path) -> list[str]:
    """Copy every .mq4 and .mqh of ``sources`` (folders laid out like MQL4/) into ``target``
    with CRLF endings; the .mq4 files' paths relative to ``target``, in order."""
    programs: list[str] = []
    for source in sources:
        root = mql4_folder(source)
        if not root.is_dir():
            raise CompilerSetupError(f"{source} is not a folder")
        for path in sorted(root.rglob("*.mq[4h]")):
            relative = path.relative_to(root)
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            text = crlf(path.read_text(encoding="utf-8"))
            if destination.exists() and destination.read_bytes() != text.encode("utf-8"):
                raise CompilerSetupError(f"{relative} comes from two sources with other text")
            destination.write_bytes(text.encode("utf-8"))
            if path.suffix == ".mq4" and relative.as_posix() not in programs:
                programs.append(relative.as_posix())
    return programs


def _appears(path: Path, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return path.exists()


@contextmanager
def private_display() -> Iterator[str]:
    """An Xvfb server of our own for the run; its display name (":N")."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", _SCREEN, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise CompilerSetupError("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


class MetaEditor:
    """One metaeditor.exe copied into ``work``, its own Wine prefix and an X display."""

    def __init__(self, exe: Path, work: Path, display: str, *, timeout_s: float = 180.0):
        self.exe = exe
        self.work = work.resolve()
        self.editor_dir = self.work / "editor"
        self.data = self.editor_dir / "MQL4"
        self.prefix = self.work / "prefix32"
        self.display = display
        self.timeout_s = timeout_s

    def environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "USER")}
        return {
            **keep,
            "DISPLAY": self.display,
            "WINEPREFIX": str(self.prefix),
            # 5.0.0.979 runs in a 32-bit prefix; the 64-bit one is not needed.
            "WINEARCH": "win32",
            "WINEDEBUG": "-all",
            # No Mono or Gecko installers popping up.
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
        }

    def _run(self, args: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            args,
            env=self.environment(),
            cwd=self.editor_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout_s,
            check=False,
        )

    def set_up(self) -> None:
        """Copy the executable, make the Wine prefix (once) and clear the MQL4/ folder."""
        check_prerequisites(self.exe)
        self.editor_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.exe, self.editor_dir / "metaeditor.exe")
        if not (self.prefix / "system.reg").exists():
            self._run(["wineboot", "--init"], timeout_s=300)
            self._run(["wineserver", "--wait"], timeout_s=120)
        if not (self.prefix / "system.reg").exists():
            raise CompilerSetupError(f"wineboot made no Wine prefix in {self.prefix}")
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir()

    def _xdotool(self, *args: str) -> str:
        done = subprocess.run(
            ["xdotool", *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.stdout

    def _main_window(self, deadline: float) -> tuple[str, int, int]:
        """The MetaEditor window's id and its bottom-left corner."""
        while time.monotonic() < deadline:
            windows = self._xdotool("search", "--name", "^MetaEditor$").split()
            if windows:
                geometry = self._xdotool("getwindowgeometry", "--shell", windows[0])
                values = dict(line.split("=", 1) for line in geometry.split() if "=" in line)
                if {"X", "Y", "HEIGHT"} <= values.keys():
                    return windows[0], int(values["X"]), int(values["Y"]) + int(values["HEIGHT"])
            time.sleep(0.5)
        raise CompilerSetupError("MetaEditor's window did not appear")

    def _copy_pane(self, left: int, bottom: int) -> str:
        """Select every row of the Errors pane and read it from the clipboard."""
        self._xdotool("mousemove", str(left + 200), str(bottom - _PANE_ROW_FROM_BOTTOM))
        self._xdotool("click", "1")
        self._xdotool("key", "ctrl+Home")
        self._xdotool("key", "shift+ctrl+End")
        self._xdotool("key", "ctrl+c")
        time.sleep(0.3)
        copied = subprocess.run(
            ["xclip", "-o", "-selection", "clipboard"],
            env=self.environment(),
            capture_output=True,
            timeout=10,
            check=False,
        )
        return copied.stdout.decode("utf-8", "replace")

    def _screenshot(self) -> str:
        """Saves the screen (ImageMagick's ``import``, when installed): where, for a message."""
        if shutil.which("import") is None:
            return ""
        path = self.work / "screen.png"
        subprocess.run(
            ["import", "-window", "root", str(path)],
            env=self.environment(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        return f" (the screen: {path})"

    def _stop(self, editor: subprocess.Popen) -> None:
        editor.terminate()
        try:
            editor.wait(timeout=10)
        except subprocess.TimeoutExpired:
            editor.kill()
            editor.wait(timeout=10)
        # Only this prefix's wineserver: the other processes of our own MetaEditor. Then wait
        # for it to be gone, or the next start may attach to a server that is shutting down.
        self._run(["wineserver", "--kill"], timeout_s=30)
        self._run(["wineserver", "--wait"], timeout_s=60)

    def compile(self, program: str) -> CompileResult:
        """Compile ``program`` (relative to MQL4/) in the GUI: counts, messages, .ex4."""
        source = self.data / program
        ex4 = source.with_suffix(".ex4")
        ex4.unlink(missing_ok=True)
        editor = subprocess.Popen(
            ["wine", str(self.editor_dir / "metaeditor.exe"), "/portable", windows_path(source)],
            env=self.environment(),
            cwd=self.editor_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + self.timeout_s
            window, _left, _bottom = self._main_window(deadline)
            sent_at = 0.0
            while time.monotonic() < deadline:
                if editor.poll() is not None:
                    raise CompilerSetupError(
                        f"MetaEditor exited ({editor.returncode}) on {program}"
                    )
                if time.monotonic() - sent_at > 8:
                    # Again when the first F7 came before the file was open.
                    self._xdotool("key", "--window", window, "F7")
                    sent_at = time.monotonic()
                    time.sleep(1.5)
                # The window may still be growing to its final size: measure it every time.
                _window, left, bottom = self._main_window(deadline)
                parsed = parse_pane(self._copy_pane(left, bottom))
                if parsed is not None:
                    errors, warnings, messages = parsed
                    written = _appears(ex4, 5.0 if errors == 0 else 0.5)
                    return CompileResult(program, errors, warnings, written, messages)
                time.sleep(1.0)
            raise CompilerSetupError(
                f"no compile result for {program} in {self.timeout_s:.0f} s{self._screenshot()}"
            )
        finally:
            self._stop(editor)

    def check_probes(self) -> list[CompileResult]:
        """Compile the probes; raise unless each gives exactly its expected counts."""
        include = self.data / "Include" / "BcProbe" / "Probe.mqh"
        include.parent.mkdir(parents=True, exist_ok=True)
        include.write_bytes(crlf(PROBE_INCLUDE).encode())
        results = []
        for name, (text, errors, warnings) in PROBES.items():
            program = f"Experts/BcProbe/{name}.mq4"
            (self.data / program).parent.mkdir(parents=True, exist_ok=True)
            (self.data / program).write_bytes(crlf(text).encode())
            result = self.compile(program)
            if (result.errors, result.warnings, result.ex4) != (errors, warnings, errors == 0):
                raise CompilerSetupError(
                    f"the {name} probe should give errors={errors} warnings={warnings}, got "
                    f"{result.summary()}: " + "; ".join(map(str, result.messages))
                )
            results.append(result)
        shutil.rmtree(self.data / "Experts" / "BcProbe")
        shutil.rmtree(include.parent)
        return results


def compile_sources(
    exe: Path, sources: Sequence[Path], work: Path, *, say=print
) -> tuple[list[CompileResult], list[CompileResult]]:
    """The probes' and every program's results for the MQL4 trees ``sources``."""
    check_prerequisites(exe)
    with private_display() as display:
        editor = MetaEditor(exe, work, display)
        say(
            f"== MetaEditor {exe} in {editor.work} (Wine prefix {editor.prefix}, display {display})"
        )
        editor.set_up()
        probes = editor.check_probes()
        for probe in probes:
            say(f"probe {probe.summary()} (as expected)")
        programs = lay_out(sources, editor.data)
        if not programs:
            raise CompilerSetupError("no .mq4 file in " + ", ".join(map(str, sources)))
        results = []
        for program in programs:
            result = editor.compile(program)
            say(result.summary())
            for message in result.messages:
                say(f"   {message}")
            results.append(result)
        return probes, results
