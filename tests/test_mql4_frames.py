"""The MQL4 Observer and the Python EA client write the same frames, byte for byte.

``tests/golden/observer_frames.ndjson`` holds the canonical frames of a scripted order
sequence (``tests/observer_scenario.py``). The Python client's encoder must reproduce it,
and so must the MQL4 frame builders in ``mql4/Include/BotCopier/Frames.mqh``, evaluated key
by key with the documented semantics of the ``Json.mqh`` helpers. Set
``BOTCOPIER_REGENERATE_GOLDEN=1`` to rewrite the golden file after a deliberate change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from botcopier.bridge.frames import complete_record, encode_event_frame
from botcopier.codegen.checks import check_frames, evaluate_builder, load_sources
from botcopier.codegen.checks.frames import BUILDERS, find_builders
from tests.observer_scenario import SCENARIO

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "observer_frames.ndjson"
MQL4 = REPO / "mql4"


def python_frames() -> list[bytes]:
    return [encode_event_frame(kind, seq, record) for kind, seq, record in SCENARIO]


def test_python_client_writes_the_golden_frames():
    frames = python_frames()
    if os.environ.get("BOTCOPIER_REGENERATE_GOLDEN"):
        GOLDEN.write_bytes(b"".join(frames))
    assert GOLDEN.read_bytes().splitlines(keepends=True) == frames


def test_mql4_builders_write_the_golden_frames_field_by_field():
    builders = find_builders(load_sources(MQL4))
    golden = GOLDEN.read_bytes().decode("utf-8").splitlines()
    for (kind, seq, record), expected in zip(SCENARIO, golden, strict=True):
        produced = evaluate_builder(builders[BUILDERS[kind]], seq, complete_record(kind, record))
        # Field by field first, so a failure names the field.
        assert list(json.loads(produced).items()) == list(json.loads(expected).items()), kind
        assert produced == expected


def test_mql4_frame_builders_match_the_avro_schemas():
    findings = check_frames(load_sources(MQL4))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("name", sorted(BUILDERS.values()))
def test_every_builder_is_found(name):
    assert name in find_builders(load_sources(MQL4))
