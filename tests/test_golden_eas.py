"""The checked-in strategy EAs (tests/golden/strategy_eas) are what `generate` renders now, so
a template change shows in review. Regenerate after a deliberate change: `make goldens`."""

from __future__ import annotations

import difflib

from tests.golden_eas import CASES, GOLDEN_EAS, render_goldens


def test_the_checked_in_strategy_eas_are_what_generate_renders(tmp_path):
    rendered = {path.name: path.read_text() for path in render_goldens(tmp_path)}
    golden = {path.name: path.read_text() for path in (GOLDEN_EAS / "Experts").glob("*.mq4")}
    assert len(rendered) == len(CASES)
    assert sorted(golden) == sorted(rendered), "the golden EAs are out of date: make goldens"
    for name, text in rendered.items():
        diff = difflib.unified_diff(
            golden[name].splitlines(), text.splitlines(), "golden", "rendered", lineterm="", n=1
        )
        assert text == golden[name], (
            f"{name} differs from its golden (make goldens if meant):\n"
            + "\n".join(list(diff)[:40])
        )
