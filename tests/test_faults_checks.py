"""The fault suite's checks catch what they are there to catch.

A green fault scenario means something only if the same checks go red on a broken system:
a bridge that silently drops one trade event in 5,000 (acks it, never publishes it) is run
for real, and `verify_delivery` must name exactly the dropped event ids; a writer that
replaces a model file in place must show the reader torn files.
"""

from __future__ import annotations

import asyncio
import doctest
import hashlib
import importlib
import time

import pytest
from pydantic import SecretStr

from botcopier.bridge.publisher import Delivery
from botcopier.schemas import SchemaCatalogue, SingleObjectDeserializer
from tests.bridge_harness import ThreadedBridge
from tests.faults.checks import read_events, verify_delivery
from tests.faults.reader import ReaderProcess
from tests.faults.report import report
from tests.faults.traffic import TrafficPlan, run_traffic, sent_event_ids
from tests.helpers import with_bridge

DROP_EVERY = 5_000


@pytest.mark.parametrize("name", ["checks", "report", "traffic"])
def test_fault_machinery_docstring_examples(name):
    module = importlib.import_module(f"tests.faults.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted and not result.failed


@pytest.mark.broker
@pytest.mark.faults
def test_verify_delivery_names_the_events_a_dropping_bridge_lost(fresh_settings, tmp_path, request):
    plan = TrafficPlan(eas=8, events_per_ea=2_500)
    tokens = {ea: SecretStr(token) for ea, token in plan.tokens().items()}
    settings = with_bridge(fresh_settings, port=0, metrics_port=0, tokens=tokens)
    trade_topic = settings.topic("trade-events")
    reader = SingleObjectDeserializer(SchemaCatalogue.default())
    dropped: list[str] = []
    started = time.monotonic()

    with ThreadedBridge(settings) as bridge:
        publish = bridge.server.publisher.publish
        passed = [0]

        async def drop_one_in_n(topic, key, value, on_delivered, headers=()):
            if topic == trade_topic:
                passed[0] += 1
                if passed[0] % DROP_EVERY == 0:  # the bug: "delivered", never produced
                    dropped.append(reader.deserialize(value)["event_id"])
                    asyncio.get_running_loop().call_soon(on_delivered, Delivery(None, topic))
                    return
            await publish(topic, key, value, on_delivered, headers)

        bridge.server.publisher.publish = drop_one_in_n
        result = asyncio.run(run_traffic(plan, bridge.port, tmp_path / "spool"))

    delivery = verify_delivery(
        sent_event_ids(plan, result.sent), read_events(settings, "trade-events")
    )
    report(request, "deliberate-drop", time.monotonic() - started, **delivery.counts(),
           dropped_by_bug=len(dropped), reported_missing=len(delivery.missing))  # fmt: skip
    assert len(dropped) == plan.total // DROP_EVERY
    assert not delivery.ok
    assert sorted(delivery.missing) == sorted(dropped)
    assert not delivery.unexpected and not delivery.out_of_order
    assert all(eid in delivery.problems() for eid in dropped)


def test_reader_sees_torn_files_when_a_writer_replaces_in_place(tmp_path):
    path = tmp_path / "clone.model.json"
    documents = [(f'{{"version": {n}, "pad": "{"x" * 16_000}"}}').encode() for n in range(200)]
    path.write_bytes(documents[0])
    reader = ReaderProcess([path], tmp_path)
    try:
        time.sleep(0.3)
        for data in documents[1:]:
            with path.open("wb") as out:  # the bug: truncate and rewrite the file itself
                out.write(data[:8_000])
                out.flush()
                time.sleep(0.002)
                out.write(data[8_000:])
    finally:
        seen = reader.stop()
    whole = {hashlib.sha256(d).hexdigest() for d in documents}
    torn = sum(n for digest, n in seen["digests"].items() if digest not in whole)
    assert torn > 0, seen["reads"]
