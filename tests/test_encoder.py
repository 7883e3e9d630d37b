"""Our compiled encoder against fastavro's own, on mutations of every sample record:
the same records accepted, and byte-for-byte the same encoding."""

from __future__ import annotations

import io
import math

import pytest
from fastavro import schemaless_writer
from fastavro.validation import ValidationError, validate
from hypothesis import given, settings
from hypothesis import strategies as st

from botcopier.samples import sample_records
from botcopier.schemas import SchemaCatalogue

CATALOGUE = SchemaCatalogue.default()

# Finite numbers only: refusing NaN and infinities is where ours differs from Avro on purpose
# (test_non_finite_doubles_are_refused).
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(
        st.text(max_size=3), st.floats(allow_nan=False, allow_infinity=False), max_size=2
    ),
    st.sampled_from(["OPEN", "BUY", "OPEN_BUY", "CLOSE"]),
)


def fastavro_accepts(schema, record) -> bool:
    try:
        validate(record, schema.parsed, raise_errors=True, strict=True)
    except ValidationError:
        return False
    # fastavro's strict mode still lets unknown fields through.
    return set(record) <= schema.field_names


def ours_accepts(schema, record) -> bool:
    try:
        schema.encode(record)
    except ValueError:
        return False
    return True


def our_error(schema, record) -> str:
    try:
        schema.encode(record)
    except ValueError as exc:
        return str(exc)
    return ""


def fastavro_bytes(schema, record) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema.parsed, record)
    return buffer.getvalue()


@pytest.mark.parametrize("name", CATALOGUE.names())
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_encoder_agrees_with_fastavro(name, data):
    schema = CATALOGUE.current(name)
    record = dict(sample_records()[name])
    fields = sorted(schema.field_names)
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        if data.draw(st.booleans()):
            record[data.draw(st.sampled_from(fields))] = data.draw(values)
        else:
            record.pop(data.draw(st.sampled_from(fields)), None)
    expected = fastavro_accepts(schema, record)
    if expected and not ours_accepts(schema, record):
        # Ours is stricter on purpose in two places: a JSON true is not a number, and bytes
        # or a string are not an array (fastavro takes any sequence).
        message = our_error(schema, record)
        assert "got bool" in message or (
            "expected array" in message and ("got bytes" in message or "got str" in message)
        ), message
        return
    assert ours_accepts(schema, record) == expected, record
    if expected:
        assert bytes(schema.encode(record)) == fastavro_bytes(schema, record)


def test_non_finite_doubles_are_refused():
    tick = {**sample_records()["Tick"], "bid": math.inf}
    with pytest.raises(ValueError, match="bid: expected a finite double"):
        CATALOGUE.current("Tick").encode(tick)


def test_error_names_nested_fields():
    request = dict(sample_records()["RetrainRequest"])
    request["from_offsets"] = [{"topic": "t", "partition": "zero", "offset": 1}]
    with pytest.raises(ValueError, match=r"from_offsets\[0\]\.partition: expected int"):
        CATALOGUE.current("RetrainRequest").encode(request)


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_sample_records_encode_exactly_as_fastavro_does(name):
    schema = CATALOGUE.current(name)
    record = sample_records()[name]
    assert bytes(schema.encode(record)) == fastavro_bytes(schema, record)


def test_big_and_negative_numbers_encode_exactly_as_fastavro_does():
    schema = CATALOGUE.current("TradeEvent")
    for ticket in (0, -1, 63, 64, -65, 2**31, -(2**40), 2**63 - 1, -(2**63)):
        record = {**sample_records()["TradeEvent"], "ticket": ticket, "lots": -0.0}
        assert bytes(schema.encode(record)) == fastavro_bytes(schema, record), ticket
