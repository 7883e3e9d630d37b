"""`botcopier mql4-compile` without the compiler: the tree it lays out, how it reads the Errors
pane, and what it says when the compiler is missing. (The real compile: test_mql4_compiler.)"""

from __future__ import annotations

import pytest

from botcopier.cli import main
from botcopier.codegen.generate import MQL4_SOURCES
from botcopier.codegen.metaeditor import CompilerSetupError, compile_sources, lay_out, parse_pane
from tests.golden_eas import GOLDEN_EAS

# As MetaEditor 5.0.0.979 put it on the clipboard: tab-separated rows, then a NUL and
# whatever its buffer held.
PANE = (
    "'Bad.mq4'\tBad.mq4\t1\t1\n"
    "'undeclared' - undeclared identifier\tBad.mq4\t4\t4\n"
    "'NoSuchFunction' - function not defined\tBad.mq4\t9\t4\n"
    "2 error(s), 0 warning(s)\t\t3\t1\n\0crlf\\t1\\MQL4\\Experts\\Bad.mq4\0\0\x01\n"
)


def test_the_errors_pane_gives_the_counts_and_every_message():
    errors, warnings, messages = parse_pane(PANE)
    assert (errors, warnings) == (2, 0)
    assert [str(m) for m in messages] == [
        "Bad.mq4:4:4: 'undeclared' - undeclared identifier",
        "Bad.mq4:9:4: 'NoSuchFunction' - function not defined",
    ]
    assert parse_pane(PANE.split("2 error(s)")[0]) is None  # no summary yet: still compiling


def test_the_tree_holds_every_source_with_crlf_endings(tmp_path):
    programs = lay_out([MQL4_SOURCES, GOLDEN_EAS], tmp_path)
    assert {"Experts/Observer_TBot.mq4", "Scripts/TickHistoryExporter.mq4"} <= set(programs)
    assert len(programs) == 2 + len(list((GOLDEN_EAS / "Experts").glob("*.mq4")))
    copied = sorted(tmp_path.rglob("*.mq[4h]"))
    assert (tmp_path / "Include" / "BotCopier" / "Router.mqh") in copied
    for path in copied:
        data = path.read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n") > 0, path


def test_two_sources_with_other_text_for_one_file_are_refused(tmp_path):
    other = tmp_path / "other" / "Include" / "BotCopier"
    other.mkdir(parents=True)
    (other / "Link.mqh").write_text("// not the shipped Link.mqh\n")
    with pytest.raises(CompilerSetupError, match="comes from two sources"):
        lay_out([MQL4_SOURCES, tmp_path / "other"], tmp_path / "tree")


def test_without_a_compiler_the_command_says_how_to_give_one(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("BOTCOPIER_METAEDITOR", raising=False)
    assert main(["mql4-compile"]) == 2
    assert "--metaeditor EXE or BOTCOPIER_METAEDITOR" in capsys.readouterr().err
    with pytest.raises(CompilerSetupError, match="no metaeditor.exe at"):
        compile_sources(tmp_path / "metaeditor.exe", [MQL4_SOURCES], tmp_path / "work")
