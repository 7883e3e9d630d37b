"""The MQL4 checks pass on our sources and fail on deliberately broken copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from botcopier.codegen.checks import check_frames, lint_sources, load_sources
from botcopier.codegen.checks.lint import MQL5_ONLY, builtins

REPO = Path(__file__).resolve().parent.parent
MQL4 = REPO / "mql4"
FRAMES = Path("Include/BotCopier/Frames.mqh")
OBSERVER = Path("Experts/Observer_TBot.mq4")
JSON = Path("Include/BotCopier/Json.mqh")
ROUTER = Path("Include/BotCopier/Router.mqh")


def all_findings(root: Path) -> list:
    sources = load_sources(root)
    return lint_sources(sources) + check_frames(sources)


def test_the_project_sources_exist_and_pass_every_check():
    sources = load_sources(MQL4)
    names = {s.path.relative_to(MQL4).as_posix() for s in sources}
    assert {OBSERVER.as_posix(), "Scripts/TickHistoryExporter.mq4", FRAMES.as_posix()} <= names
    findings = all_findings(MQL4)
    assert not findings, "\n".join(map(str, findings))


def test_builtin_list_is_clean():
    text = (REPO / "codegen/checks/mql4_builtins.txt").read_text()
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(names) == len(set(names)), "duplicates in mql4_builtins.txt"
    assert not set(names) & MQL5_ONLY
    assert {"OrderSelect", "OrdersHistoryTotal", "EventSetMillisecondTimer", "iMA"} <= builtins()


def _swap_lines(text: str, first: str, second: str) -> str:
    lines = text.splitlines(keepends=True)
    a = next(i for i, line in enumerate(lines) if first in line)
    b = next(i for i, line in enumerate(lines) if second in line)
    lines[a], lines[b] = lines[b], lines[a]
    return "".join(lines)


def _replace_once(old: str, new: str):
    def mutate(text: str) -> str:
        assert old in text, f"{old!r} not found: the mutation no longer applies"
        return text.replace(old, new, 1)

    return mutate


def _append(extra: str):
    return lambda text: text + extra


def _drop_last_brace(text: str) -> str:
    index = text.rindex("}")
    return text[:index] + text[index + 1 :]


BREAKAGES = {
    "two keys swapped": (
        FRAMES,
        lambda t: _swap_lines(t, '"sl", sl)', '"tp", tp)'),
        "frame-parity",
    ),
    "key misspelled": (
        FRAMES,
        _replace_once('"ticket", ticket)', '"tiket", ticket)'),
        "frame-parity",
    ),
    "wrong value": (FRAMES, _replace_once('"sl", sl)', '"sl", tp)'), "frame-parity"),
    "double written as long": (
        FRAMES,
        _replace_once('JsonKeyDouble("lots"', 'JsonKeyLong("lots"'),
        "frame-parity",
    ),
    "six-decimal doubles": (
        JSON,
        _replace_once("DoubleToString(v, 8)", "DoubleToString(v, 6)"),
        "frame-parity",
    ),
    "undefined function": (
        OBSERVER,
        _append("\nvoid Extra() { NotARealFunction(1); }\n"),
        "undefined-call",
    ),
    "MQL5 API": (OBSERVER, _append("\nvoid OnTradeTransaction() { }\n"), "mql5-only"),
    "unbalanced brace": (OBSERVER, _drop_last_brace, "balance"),
    "undeclared input": (
        OBSERVER,
        _append("\nint Extra2() { return MaxSpreadPips; }\n"),
        "undeclared",
    ),
    # MetaEditor: "'BcValidEaId' - function already defined and has body" (the generated EA
    # once repeated this function of Link.mqh).
    "function of an include defined again": (
        OBSERVER,
        _append("\nbool BcValidEaId(string id)\n{\n   return(true);\n}\n"),
        "duplicate-definition",
    ),
    # MetaEditor 5.0.0.979: "'WebRequest' - wrong parameters count".
    "7-argument WebRequest": (
        ROUTER,
        _replace_once(
            '"", "", g_routerTimeoutMs, data,\n                           ArraySize(data), result,',
            '"", g_routerTimeoutMs, data, result,',
        ),
        "builtin-arity",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_deliberately_broken_copy_fails(tmp_path, breakage):
    copy = tmp_path / "mql4"
    shutil.copytree(MQL4, copy)
    relative, mutate, rule = BREAKAGES[breakage]
    target = copy / relative
    target.write_text(mutate(target.read_text(encoding="utf-8")), encoding="utf-8")
    rules = {finding.rule for finding in all_findings(copy)}
    assert rule in rules, f"{breakage}: expected a {rule} finding, got {rules or 'none'}"


def test_overloads_and_one_function_per_program_are_not_duplicates(tmp_path):
    copy = tmp_path / "mql4"
    shutil.copytree(MQL4, copy)
    observer = copy / OBSERVER
    # An overload (other parameter types) of an include's function, and OnInit, which every
    # program defines once.
    extra = "\nbool BcValidEaId(int id, string &why)\n{\n   return(id > 0);\n}\n"
    observer.write_text(observer.read_text(encoding="utf-8") + extra, encoding="utf-8")
    findings = all_findings(copy)
    assert not findings, "\n".join(map(str, findings))
