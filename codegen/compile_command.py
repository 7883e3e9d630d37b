"""`botcopier mql4-compile [DIR …] --metaeditor EXE`: MQL4 through MetaQuotes' compiler."""

from __future__ import annotations

import argparse
from pathlib import Path

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "mql4-compile",
        help="compile every .mq4 with MetaQuotes' metaeditor.exe under Wine",
        description="Lays out one MQL4/ tree from the folders given (each laid out like "
        "mql4/, or holding an MQL4/ folder as `botcopier generate --out` writes), with CRLF "
        "line endings, and compiles every .mq4 in it with MetaEditor under Wine and Xvfb "
        "(apt-get install wine wine32 xvfb xdotool xclip). A known-good and a known-bad "
        "probe are compiled first. Prints errors=N warnings=M ex4=yes|no and every message "
        "per file; exits 1 when any file has an error or a warning.",
    )
    parser.add_argument(
        "dirs", type=Path, nargs="*", metavar="DIR", help="MQL4 trees (default: mql4)"
    )
    parser.add_argument(
        "--metaeditor",
        type=Path,
        help="path of metaeditor.exe (default: $BOTCOPIER_METAEDITOR); never part of BotCopier",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="folder for the Wine prefix and the laid-out tree (kept between runs; "
        "default: <cache dir>/metaeditor)",
    )
    parser.set_defaults(handler=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.codegen.generate import MQL4_SOURCES
    from botcopier.codegen.metaeditor import compile_sources

    exe = args.metaeditor or settings.metaeditor
    if exe is None:
        raise BotCopierError(
            "say where metaeditor.exe is: --metaeditor EXE or BOTCOPIER_METAEDITOR"
        )
    work = args.work or settings.paths.cache_dir / "metaeditor"
    _probes, results = compile_sources(exe, args.dirs or [MQL4_SOURCES], work)
    failed = [r for r in results if not r.clean]
    print(
        f"{len(results) - len(failed)} of {len(results)} files compiled with 0 errors, 0 warnings"
    )
    return 1 if failed else 0
