"""Hypothesis strategies shared by the fuzz tests: JSON values and byte-level mutations."""

from __future__ import annotations

import os

from hypothesis import strategies as st

# Every parser target gets this many examples (issue 9: at least 10,000 each).
FUZZ_EXAMPLES = int(os.environ.get("BOTCOPIER_FUZZ_EXAMPLES", "10000"))

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
# Bytes that break parsers: delimiters, quotes, escapes, BOMs, NUL, invalid UTF-8, digits.
_NASTY = [
    b"\n", b"\r", b'"', b"\\", b",", b";", b"{", b"}", b"[", b"]", b":", b"\x00", b"\xff",
    b"\xef\xbb\xbf", b"\xc3", b"\xed\xa0\x80", b"-", b"0", b"1e999", b"NaN", b" ", b"\t",
]  # fmt: skip
_inserted = st.sampled_from(_NASTY) | st.binary(min_size=1, max_size=4)


@st.composite
def byte_mutations(draw, original: bytes, max_steps: int = 4) -> bytes:
    """``original`` with a few bytes flipped, deleted, inserted or a slice duplicated."""
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=max_steps))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        choice = draw(st.integers(min_value=0, max_value=3))
        if choice == 0 and at < len(data):
            data[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif choice == 1 and at < len(data):
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif choice == 2:
            data[at:at] = draw(_inserted)
        else:
            end = min(len(data), at + draw(st.integers(min_value=1, max_value=16)))
            data[at:at] = data[at:end]
    return bytes(data)
