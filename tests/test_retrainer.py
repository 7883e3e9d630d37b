"""The retrain service on the real broker: a better candidate ships, a worse one does not."""

from __future__ import annotations

import asyncio
import threading
import urllib.request

import pytest

from botcopier.bridge.simulator.run import SimulationPlan, simulate
from botcopier.names import clone_model_name
from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.model_document import parse_model
from botcopier.trainers.publishing import RecordPublisher, model_published_record, sha256_hex
from botcopier.trainers.retrain_service import RetrainService
from botcopier.trainers.sources import history_from_kafka
from tests.bridge_harness import ThreadedBridge
from tests.helpers import consume_topic
from tests.test_bridge import decode_all
from tests.test_simulate import sim_settings

pytestmark = pytest.mark.broker


def request(event_id: str, name: str, account: int | None, magic: int | None) -> dict:
    return {
        "event_id": event_id,
        "event_time_ms": 1,
        "model_name": name,
        "account": account,
        "magic": magic,
        "reason": "win_rate",
        "detail": "test",
    }


def test_a_better_candidate_is_published_a_worse_one_rejected_both_with_reasons(
    fresh_settings, tmp_path
):
    settings = sim_settings(fresh_settings)
    retrainer = settings.retrainer.model_copy(update={"family": "lightgbm", "metrics_port": 0})
    settings = settings.model_copy(update={"retrainer": retrainer})
    plan = SimulationPlan(eas=1, bars=2_500, seed=11)
    with ThreadedBridge(settings):
        assert asyncio.run(simulate(settings, plan, tmp_path / "spool")).complete
    account = plan.account_base + 1
    name = clone_model_name(account, 1001)

    # The live "clone" of the MA-cross bot was (wrongly) trained on the RSI bot's decisions.
    rsi = history_from_kafka(settings, account, 1002)
    wrong = train_clone(build_dataset(rsi.bars, rsi.events), rsi.bot, name,
                        TrainOptions(family="lightgbm", rounds=40)).document  # fmt: skip
    publisher = RecordPublisher(settings)
    publisher.send("models", "ModelPublished", name, model_published_record(wrong))
    publisher.send("retrain-requests", "RetrainRequest", name, request("rq-0", name, account, 1001))
    publisher.flush()
    lines: list[str] = []
    service = RetrainService(settings, lines.append)
    assert service.run(threading.Event(), max_requests=1) == 0
    for n, (account_, magic) in enumerate([(account, 1001), (account, 1001), (None, None)], 1):
        other = name if magic else "clone-x-x"
        publisher.send(
            "retrain-requests", "RetrainRequest", other, request(f"rq-{n}", other, account_, magic)
        )
    publisher.flush()
    assert service.run(threading.Event(), max_requests=4) == 0

    decisions = decode_all(consume_topic(settings, settings.topic("retrain-decisions"), until=4))
    published, superseded, rejected, failed = decisions
    print("\n".join(f"{d['outcome']}: {d['reason']}" for d in decisions))
    assert published["outcome"] == "PUBLISHED" and published["request_event_id"] == "rq-0"
    assert published["live_version"] == wrong["version"]
    assert published["candidate_score"] >= published["live_score"] + 0.01
    assert "beats live" in published["reason"]
    assert rejected["outcome"] == "REJECTED" and "does not beat live" in rejected["reason"]
    # The second request met the first one's candidate as the live model.
    assert rejected["live_version"] == published["candidate_version"]
    assert rejected["window_from_ms"] == published["window_from_ms"]
    assert failed["outcome"] == "FAILED" and "names no bot" in failed["reason"]
    # Two requests for one model in one batch: one training, for the newer.
    assert superseded["outcome"] == "SUPERSEDED" and superseded["request_event_id"] == "rq-1"
    assert rejected["request_event_id"] == "rq-2" and "rq-2" in superseded["reason"]

    models = decode_all(consume_topic(settings, settings.topic("models"), until=2))
    assert [m["model_version"] for m in models] == [
        wrong["version"],
        published["candidate_version"],
    ]
    shipped = models[-1]
    assert shipped["sha256"] == sha256_hex(shipped["model_json"])
    document = parse_model(shipped["model_json"])
    assert document["training"]["source"] == "retrain request rq-0"
    assert document["metrics"]["test"]["entry_macro_f1"] == published["candidate_score"]
    assert service.metrics.decisions.labels(outcome="published")._value.get() == 1


def test_the_retrainer_serves_health_and_prometheus_metrics(fresh_settings):
    from botcopier.service_http import ServiceEndpoints

    service = RetrainService(fresh_settings, lambda line: None)
    endpoints = ServiceEndpoints(service.metrics.registry, service.health).start("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{endpoints.port}"
        health = urllib.request.urlopen(base + "/healthz").read()  # noqa: S310 - loopback
        assert b'"status": "ok"' in health
        text = urllib.request.urlopen(base + "/metrics").read().decode()  # noqa: S310 - loopback
        assert "botcopier_retrainer_requests_total 0.0" in text
    finally:
        endpoints.stop()
