"""Fuzzing the model.json loader: a document is valid and saves again, or is refused.

Inputs: valid documents (linear, and with stops and risk parity) with values at random paths
replaced, removed or added; their JSON text mutated byte by byte; deeply nested JSON; JSON
with NaN and Infinity; pickle payloads; random bytes. Properties: `parse_model` raises only
`ModelFormatError`, with a message; an accepted document validates again, saves as the
canonical text (`dumps_model`, strict JSON) and loads back equal.
"""

from __future__ import annotations

import copy
import json
import pickle  # noqa: S403 - builds the payloads the loader must refuse; never loads one

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botcopier.trainers.model_document import (
    ModelFormatError,
    dumps_model,
    parse_model,
    validate_model,
)
from tests.fuzz_strategies import FUZZ_EXAMPLES, byte_mutations, json_values
from tests.test_backtest import momentum_model

pytestmark = pytest.mark.fuzz
BASE = momentum_model()
TEMPLATES = [
    BASE,
    {k: v for k, v in BASE.items() if k != "risk_parity"},
    {**BASE, "thresholds": {"buy": 0.9}, "feature_flags": {"lite": True}},
]
TEXTS = [json.dumps(t).encode() for t in TEMPLATES]
SPECIAL_NUMBERS = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0])


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


PATHS = [sorted(set(_paths(t)) - {()}, key=repr) for t in TEMPLATES]


@st.composite
def mutated_documents(draw) -> bytes:
    index = draw(st.integers(min_value=0, max_value=len(TEMPLATES) - 1))
    doc = copy.deepcopy(TEMPLATES[index])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS[index]))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            choice = draw(st.integers(min_value=0, max_value=3))
            if choice == 0:
                del parent[path[-1]]
            elif choice == 1:
                parent[path[-1]] = draw(json_values)
            elif choice == 2:
                parent[path[-1]] = draw(SPECIAL_NUMBERS)
            elif isinstance(parent, dict):
                parent[draw(st.text(max_size=8))] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return json.dumps(doc).encode()  # NaN and Infinity as JSON's non-standard tokens


def _pickled(value) -> bytes:
    return pickle.dumps(value)


documents = st.one_of(
    mutated_documents(),
    st.sampled_from(TEXTS).flatmap(byte_mutations),
    st.binary(max_size=300),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(min_value=1, max_value=20_000)),
    st.builds(lambda n: b'{"a":' * n + b"1" + b"}" * n, st.integers(min_value=900, max_value=5000)),
    st.builds(_pickled, st.sampled_from(TEMPLATES) | json_values),
)


def check(data: bytes) -> dict | None:
    try:
        doc = parse_model(data, "fuzz.model.json")
    except ModelFormatError as error:
        assert str(error).strip()
        return None
    assert validate_model(doc) == doc
    text = dumps_model(doc)  # strict JSON: refuses NaN and Infinity
    assert parse_model(text) == json.loads(text)
    return doc


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=documents)
def test_fuzzed_model_documents_load_whole_or_are_refused_with_a_reason(data: bytes) -> None:
    check(data)


def test_the_unmutated_templates_load() -> None:
    for text in TEXTS:
        assert check(text) is not None


@pytest.mark.parametrize(
    "data",
    [
        pickle.dumps(BASE),
        pickle.dumps(BASE, protocol=0),
        b"[" * 100_000,
        json.dumps({**BASE, "scaler": {"mean": [float("nan")], "scale": [1.0]}}).encode(),
    ],
    ids=["pickle", "pickle-protocol-0", "deep-nesting", "nan"],
)
def test_pickles_deep_nesting_and_nan_are_refused(data: bytes) -> None:
    with pytest.raises(ModelFormatError):
        parse_model(data)
