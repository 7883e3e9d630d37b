"""The shipped MQL4 and the golden strategy EAs through MetaQuotes' own compiler: 0 errors,
0 warnings and an .ex4 for every program.

Runs only when BOTCOPIER_METAEDITOR names a metaeditor.exe (5.0.0.979 runs under Wine here;
see `botcopier mql4-compile --help`), else skips with the reason. Without the compiler, the
lint (tests/test_mql4_lint.py) carries the cases this compiler has refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from botcopier.codegen.generate import MQL4_SOURCES
from botcopier.codegen.metaeditor import PROBES, compile_sources, mql4_folder
from botcopier.config import load_settings
from tests.golden_eas import GOLDEN_EAS

METAEDITOR = load_settings().metaeditor
SOURCES = [MQL4_SOURCES, GOLDEN_EAS]
PROGRAMS = sorted(
    path.relative_to(mql4_folder(root)).as_posix()
    for root in SOURCES
    for path in mql4_folder(root).rglob("*.mq4")
)

pytestmark = [
    pytest.mark.mql4_compiler,
    # One MetaEditor start per program (about 5 s each) and a new Wine prefix.
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        METAEDITOR is None,
        reason="BOTCOPIER_METAEDITOR is not set: point it at MetaQuotes' metaeditor.exe "
        "to compile the MQL4 for real",
    ),
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    probes, results = compile_sources(
        Path(METAEDITOR), SOURCES, tmp_path_factory.mktemp("metaeditor"), say=lambda _: None
    )
    return probes, {result.source: result for result in results}


def test_the_probes_prove_the_compiler_reports_errors_and_warnings(compiled):
    probes, _ = compiled
    assert [(p.errors, p.warnings, p.ex4) for p in probes] == [
        (errors, warnings, errors == 0) for _text, errors, warnings in PROBES.values()
    ]


def test_every_golden_case_and_shipped_program_is_compiled(compiled):
    _, results = compiled
    assert sorted(results) == PROGRAMS
    assert {"Experts/Observer_TBot.mq4", "Scripts/TickHistoryExporter.mq4"} <= set(results)


@pytest.mark.parametrize("program", PROGRAMS)
def test_compiles_with_no_error_and_no_warning(compiled, program):
    result = compiled[1][program]
    assert result.clean, result.summary() + "\n" + "\n".join(map(str, result.messages))
