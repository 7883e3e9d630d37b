"""Static checks of MQL4 source, run in the test suite (MT4 itself cannot run here).

`source` tokenizes MQL4; `lint` checks calls, inputs, bracket balance and MQL5-only APIs;
`frames` checks that the frame builders match the Avro schemas and the canonical frame rules.
The same checks apply to the generated strategy EAs.
"""

from botcopier.codegen.checks.frames import FrameBuilder, check_frames, evaluate_builder
from botcopier.codegen.checks.lint import Finding, lint_sources
from botcopier.codegen.checks.source import SourceFile, load_sources

__all__ = [
    "Finding",
    "FrameBuilder",
    "SourceFile",
    "check_frames",
    "evaluate_builder",
    "lint_sources",
    "load_sources",
]
