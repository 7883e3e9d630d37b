"""The dashboard without Kafka: its view, its HTTP endpoints and tokens, its command line."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from botcopier.cli import main
from botcopier.samples import sample_records, sample_trade_event
from botcopier.streams.dashboard_auth import DashboardAuth
from botcopier.streams.dashboard_http import DashboardHttp
from botcopier.streams.dashboard_hub import DashboardHub
from botcopier.streams.dashboard_metrics import DashboardMetrics
from botcopier.streams.dashboard_view import DashboardView

TOKEN = "dashboard-test-token-9f2c"  # noqa: S105 - a test's own token


def metrics_record(n: int, win_rate: float = 0.5) -> dict:
    return {**sample_records()["BotMetrics"], "event_id": f"bm-{n}", "win_rate": win_rate}


# -- view ------------------------------------------------------------------------------------


def test_view_keeps_the_newest_trades_once_each():
    view = DashboardView(trades=3)
    for n in range(5):
        view.take("trade-events", sample_trade_event(f"e{n}", ticket=n))
    assert view.take("trade-events", sample_trade_event("e4", ticket=4)) == []  # a resend
    assert [t["ticket"] for t in view.snapshot()["trade"]] == [2, 3, 4]


def test_view_keeps_a_bounded_chart_history_per_bot_and_sends_only_the_newest_point():
    view = DashboardView(points=4)
    for n in range(6):
        [item] = view.take("bot-metrics", metrics_record(n, win_rate=n / 10))
        assert "history" not in item and item["win_rate"] == n / 10
    [bot] = view.snapshot()["bot"]
    assert bot["bot"] == "123456:777"
    assert bot["history"]["win"] == [0.2, 0.3, 0.4, 0.5]
    assert len(bot["history"]["t"]) == 4


def test_view_drops_the_least_recently_updated_bot_past_its_limit():
    view = DashboardView(bots=2)
    for magic in (1, 2, 1, 3):
        view.take("bot-metrics", {**metrics_record(magic), "magic": magic})
    assert [b["bot"] for b in view.snapshot()["bot"]] == ["123456:1", "123456:3"]


def test_a_retrain_request_is_pending_until_its_decision_even_when_the_decision_comes_first():
    records = sample_records()
    view = DashboardView()
    [pending] = view.take("retrain-requests", records["RetrainRequest"])
    assert pending["status"] == "PENDING" and pending["bot"] == "123456:777"
    [answered] = view.take("retrain-decisions", records["RetrainDecision"])
    assert answered["status"] == "REJECTED" and answered["live_score"] == 0.92

    early = DashboardView()
    early.take("retrain-decisions", {**records["RetrainDecision"], "request_event_id": "r-9"})
    early.take("retrain-requests", {**records["RetrainRequest"], "event_id": "r-9"})
    [entry] = early.snapshot()["retrain"]
    assert entry["status"] == "REJECTED" and entry["reason"] == "drift"


def test_models_reach_the_page_without_their_document():
    record = {**sample_records()["ModelPublished"], "model_json": "x" * 5000}
    [item] = DashboardView().take("models", record)
    assert "model_json" not in item and item["size_bytes"] == 5000
    assert item["sha256"] == record["sha256"][:12] and item["metrics"] == {"accuracy": 0.71}


def test_the_snapshot_is_strict_json_even_with_infinite_figures():
    view = DashboardView()
    view.take("bot-metrics", {**metrics_record(1), "sharpe": float("inf")})
    view.take("drift", {**sample_records()["DriftEvent"], "statistic": float("nan")})
    json.dumps(view.snapshot(), allow_nan=False)


# -- HTTP ------------------------------------------------------------------------------------


class Served:
    """A DashboardHttp on its own event loop in a thread, as the service runs it."""

    def __init__(self, auth: DashboardAuth) -> None:
        self.metrics = DashboardMetrics()
        self.hub = DashboardHub(DashboardView(), self.metrics)
        self.http = DashboardHttp(self.hub, auth, lambda: {"status": "ok"}, keepalive_s=0.5)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def publish(self, batch) -> None:
        self.loop.call_soon_threadsafe(self.hub.publish, batch)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"


@pytest.fixture
def served() -> Iterator[Served]:
    served = Served(DashboardAuth(TOKEN))
    served.thread.start()
    served.call(served.http.start("127.0.0.1", 0))
    try:
        yield served
    finally:
        served.call(served.http.stop())
        served.loop.call_soon_threadsafe(served.loop.stop)
        served.thread.join(10)


def open_url(url: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http
    return urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback http


def get(url: str, token: str | None = None) -> tuple[int, bytes, dict]:
    try:
        with open_url(url, token) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_the_page_loads_without_a_token_and_forbids_foreign_scripts(served):
    status, body, headers = get(served.base + "/")
    assert status == 200 and b'id="login"' in body and b"/static/dashboard.js" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for name in ("dashboard.js", "dashboard.css"):
        assert get(f"{served.base}/static/{name}")[0] == 200
    assert get(served.base + "/static/../pyproject.toml")[0] == 404
    assert get(served.base + "/static/nothing.js")[0] == 404


def test_data_needs_the_token_in_the_header_or_the_query(served):
    served.publish([("trade-events", sample_trade_event("e1", ticket=4242))])
    for token in (None, "wrong", TOKEN[:-1]):
        status, body, headers = get(served.base + "/api/snapshot", token)
        assert status == 401 and b"4242" not in body
        assert headers["WWW-Authenticate"].startswith("Bearer")
    assert get(served.base + "/api/events", "wrong")[0] == 401
    assert get(f"{served.base}/api/events?token=wrong")[0] == 401

    status, body, _ = get(served.base + "/api/snapshot", TOKEN)
    assert status == 200 and json.loads(body)["trade"][0]["ticket"] == 4242
    assert get(f"{served.base}/api/snapshot?token={TOKEN}")[0] == 200

    _, prometheus, _ = get(served.base + "/metrics")
    assert b"botcopier_dashboard_unauthorized_total 5.0" in prometheus
    assert get(served.base + "/healthz")[0] == 200  # no token needed


def read_sse(response, wanted: int) -> list[tuple[str, object]]:
    """The first ``wanted`` named events of an open stream (keep-alive comments skipped)."""
    events, name = [], None
    while len(events) < wanted:
        line = response.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def test_the_event_stream_sends_a_snapshot_then_live_records(served):
    served.publish([("drift", sample_records()["DriftEvent"])])
    with open_url(served.base + "/api/events", TOKEN) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        [(name, snapshot)] = read_sse(response, 1)
        assert name == "snapshot" and len(snapshot["drift"]) == 1
        assert get(served.base + "/healthz")[0] == 200
        _, prometheus, _ = get(served.base + "/metrics")
        assert b"botcopier_dashboard_sse_clients 1.0" in prometheus

        served.publish([("trade-events", sample_trade_event("live-1", ticket=777001))])
        [(name, items)] = read_sse(response, 1)
        assert name == "records" and items[0]["ticket"] == 777001


def test_without_auth_the_data_is_open():
    served = Served(DashboardAuth(None))
    served.thread.start()
    served.call(served.http.start("127.0.0.1", 0))
    try:
        assert get(served.base + "/api/snapshot")[0] == 200
    finally:
        served.call(served.http.stop())
        served.loop.call_soon_threadsafe(served.loop.stop)
        served.thread.join(10)


# -- command line ----------------------------------------------------------------------------


def test_the_dashboard_refuses_to_start_without_a_token_unless_told(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("BOTCOPIER_DASHBOARD__TOKEN", raising=False)
    monkeypatch.setenv("BOTCOPIER_PATHS__STATE_DIR", str(tmp_path))
    assert main(["dashboard"]) == 2
    assert "BOTCOPIER_DASHBOARD__TOKEN" in capsys.readouterr().err
    assert main(["dashboard", "--no-auth", "--host", "0.0.0.0"]) == 2  # noqa: S104
    assert "loopback only" in capsys.readouterr().err

    monkeypatch.setenv("BOTCOPIER_DASHBOARD__TOKEN", TOKEN)
    assert main(["dashboard", "--no-auth"]) == 2
    err = capsys.readouterr().err
    assert "drop one of them" in err and TOKEN not in err


def test_the_token_never_prints_with_the_settings(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("BOTCOPIER_DASHBOARD__TOKEN", TOKEN)
    monkeypatch.setenv("BOTCOPIER_PATHS__STATE_DIR", str(tmp_path))
    assert main(["config", "show"]) == 0
    assert TOKEN not in capsys.readouterr().out
    assert TOKEN not in repr(DashboardAuth(TOKEN))
