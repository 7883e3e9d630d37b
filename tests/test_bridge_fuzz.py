"""Fuzzing the bridge: random bytes and mutated frames never crash it or publish bad events."""

from __future__ import annotations

import json
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botcopier.bridge.protocol import EVENT_KINDS
from botcopier.schemas import SchemaCatalogue, SingleObjectDeserializer
from tests.bridge_harness import RawEa, ThreadedBridge
from tests.helpers import consume_to_end, consume_topic
from tests.test_bridge import bridge_settings, trade

pytestmark = pytest.mark.broker
CATALOGUE = SchemaCatalogue.default()
EXAMPLES = 1500

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
TEMPLATE = {"type": "trade", "event_id": "fuzz", **trade(9, 99, 1)}
FIELDS = sorted(TEMPLATE)
TYPES = [*EVENT_KINDS, "hello", "ping", "ack", "", "TRADE"]


# Most frames carry the next seq, so they are validated rather than dropped as resends; a
# mutation may still replace it with anything, including an old seq.
_next_seq = iter(range(10**6, 10**7))
seq_values = st.one_of(json_values, st.integers(min_value=-3, max_value=10**6))


@st.composite
def mutated_frames(draw) -> bytes:
    frame = {**TEMPLATE, "seq": next(_next_seq)}
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        choice = draw(st.integers(min_value=0, max_value=3))
        if choice == 0 and frame:
            frame.pop(draw(st.sampled_from(sorted(frame))))
        elif choice == 1:
            field = draw(st.sampled_from([*FIELDS, "seq"]))
            frame[field] = draw(seq_values if field == "seq" else json_values)
        elif choice == 2:
            frame[draw(st.text(max_size=8))] = draw(json_values)
        else:
            frame["type"] = draw(st.sampled_from(TYPES))
    return json.dumps(frame).encode("utf-8")


lines = st.one_of(
    st.binary(max_size=300).map(lambda raw: raw.replace(b"\n", b" ")),
    mutated_frames(),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
)


# OpenTelemetry draws span ids from `random` in the bridge's thread while examples run.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_fuzzed_frames_never_crash_the_bridge_or_publish_invalid_events(fresh_settings):
    config = bridge_settings(fresh_settings)
    sent = {"lines": 0}
    with ThreadedBridge(config) as bridge:
        ea = RawEa(bridge.port)
        assert ea.hello("ea-3", "tok-3")["type"] == "welcome"

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(line=lines)
        def throw(line: bytes) -> None:
            ea.send_line(line)
            sent["lines"] += 1

        throw()
        # The same connection still works: a good frame after everything is acked.
        sentinel_seq = 10**8
        ea.send({"type": "trade", "seq": sentinel_seq, "event_id": "sentinel", **trade(9, 99, 2)})
        replies = ea.replies_until_ack(sentinel_seq)
        ea.close()
        health_url = f"http://127.0.0.1:{bridge.server.health_port}/healthz"
        health = json.loads(urllib.request.urlopen(health_url).read())  # noqa: S310 - loopback
        assert health["status"] == "ok"

    errors = [r for r in replies if r["type"] == "error"]
    assert sent["lines"] >= 1000
    assert errors and all(r["code"] and r["reason"] and not r["fatal"] for r in errors)

    reader = SingleObjectDeserializer(CATALOGUE)
    published = 0
    for name in {kind.topic for kind in EVENT_KINDS.values()}:
        for message in consume_to_end(config, config.topic(name)):
            record = reader.deserialize(message.value())  # raises if not a valid record
            assert record["ea_id"] == "ea-3"
            assert isinstance(record["seq"], int) and record["seq"] >= 1
            published += 1
    assert published >= 1  # at least the sentinel
    dead = consume_topic(config, config.topic("dead-letter"), until=len(errors), timeout_s=30)
    assert len(dead) >= len(errors)
    print(f"\nfuzz: {sent['lines']} lines, {len(errors)} rejected, {published} published")
