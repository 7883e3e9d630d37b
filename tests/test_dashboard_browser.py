"""`botcopier dashboard` on the real broker, driven by headless Chromium (Playwright).

The dashboard runs as its own process with its token from the environment. The topics hold
some history before it starts (bot metrics, drift, retraining, models), so the page has
something to draw at once; then a trade goes through the real bridge from the Python EA
client and must appear on the open page.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import threading
import time
import urllib.error
from pathlib import Path

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from botcopier.bridge.client import EaClient
from botcopier.samples import sample_records, sample_trade_event
from botcopier.schemas.codec import ValueCodec
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.streams.clients import producer_config
from tests.bridge_harness import ThreadedBridge
from tests.helpers import free_port, with_bridge
from tests.test_bridge import trade
from tests.test_dashboard import TOKEN, get, open_url

pytestmark = pytest.mark.broker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard.png"
EA_ID, EA_TOKEN, ACCOUNT, MAGIC, TICKET = "dash-ea", "dash-ea-token", 424242, 31337, 880001
WAIT_MS = 30_000


def seed_history(settings) -> None:
    """Records of every feed, as the agents, retrainer and publisher would have written."""
    now_ms = int(time.time() * 1000)
    samples = sample_records()
    records = []
    for bot_magic, edge in ((777, 0.006), (778, -0.008)):
        for n in range(30):
            records.append(("bot-metrics", "BotMetrics", {
                **samples["BotMetrics"], "event_id": f"bm-{bot_magic}-{n}", "magic": bot_magic,
                "event_time_ms": now_ms - (30 - n) * 60_000, "trade_count": 10 + n,
                "win_rate": 0.5 + edge * n + 0.03 * (-1) ** n,
                "max_drawdown": 40.0 + 4 * n if edge < 0 else 60.0 - n,
                "sharpe": 0.1 + edge * 10 * n, "total_profit": 500 * edge * n,
            }))  # fmt: skip
    records += [
        ("trade-events", "TradeEvent", {**sample_trade_event("hist-1"), "event_time_ms": now_ms}),
        ("drift", "DriftEvent", {**samples["DriftEvent"], "magic": 778, "event_time_ms": now_ms}),
        ("retrain-requests", "RetrainRequest", {**samples["RetrainRequest"],
                                                "event_time_ms": now_ms - 5000}),
        ("retrain-decisions", "RetrainDecision", {**samples["RetrainDecision"],
                                                  "outcome": "PUBLISHED", "reason": "beats live",
                                                  "event_time_ms": now_ms - 1000}),
        ("retrain-requests", "RetrainRequest", {**samples["RetrainRequest"], "event_id": "r-2",
                                                "model_name": "clone-778", "magic": 778,
                                                "reason": "win_rate", "event_time_ms": now_ms}),
        ("models", "ModelPublished", {**samples["ModelPublished"], "event_time_ms": now_ms}),
    ]  # fmt: skip
    codec, producer = ValueCodec.from_settings(settings), Producer(producer_config(settings))
    for topic, schema, record in records:
        full = settings.topic(topic)
        key = record.get("model_name") or f"{record['account']}:{record['magic']}"
        producer.produce(full, key=key.encode(), value=codec.encode(schema, record, topic=full))
    assert producer.flush(30) == 0


def send_trade_through_bridge(port: int, spool_dir: Path) -> None:
    """One OPEN from the Python EA client, acked by the bridge once Kafka holds it."""

    async def run() -> None:
        client = EaClient("127.0.0.1", port, EA_ID, ACCOUNT, EA_TOKEN, spool_dir=spool_dir)
        client.start()
        try:
            await client.submit("trade", {**trade(ACCOUNT, MAGIC, 1), "ticket": TICKET})
            assert await client.wait_acked(30), f"not acked: {client.errors}"
        finally:
            await client.close()

    # Playwright's sync API owns this thread's event loop: the EA gets a thread of its own.
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and not failure, failure


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def dashboard(fresh_settings, tmp_path):
    seed_history(fresh_settings)
    port = free_port()
    env = {
        "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / "state"),
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": fresh_settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": fresh_settings.kafka.topic_prefix,
        "BOTCOPIER_DASHBOARD__TOKEN": TOKEN,
    }
    process = ServiceProcess(
        "dashboard", botcopier_command("dashboard", "--port", str(port)), env, tmp_path / "log"
    )
    process.start(port=port)
    base = f"http://127.0.0.1:{port}"
    try:
        yield base, process
    finally:
        status = process.stop(timeout_s=20)
        log = process.log_path.read_text()
        assert TOKEN not in log, "the token reached the log"
        assert status == 0, f"dashboard exited {status}:\n{process.log_tail()}"


def test_the_page_shows_history_then_a_trade_sent_through_the_bridge(
    dashboard, fresh_settings, tmp_path
):
    if not CHROMIUM.exists():
        missing = f"needs Debian's Chromium at {CHROMIUM}: apt-get install chromium"
        # CI installs it (.ci/run): there, a missing browser is a failure, not a skip.
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    base, process = dashboard
    bridge_settings = with_bridge(
        fresh_settings, port=free_port(), metrics_port=0, tokens={EA_ID: SecretStr(EA_TOKEN)}
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base + "/")
            expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#board")).to_be_hidden()

            # A wrong token: the prompt again, with an error, and no data over HTTP either.
            page.fill("#token", "not-the-token")
            page.click("#login-button")
            expect(page.locator("#login-error")).to_contain_text("not accepted")
            expect(page.locator("#login")).to_be_visible()
            expect(page.locator("#board")).to_be_hidden()
            for path in ("/api/snapshot", "/api/events", "/api/events?token=not-the-token"):
                assert get(base + path, "not-the-token")[0] == 401, path

            page.fill("#token", TOKEN)
            page.click("#login-button")
            expect(page.locator("#board")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#login")).to_be_hidden()
            expect(page.locator("#status")).to_have_text("live", timeout=WAIT_MS)
            # History read back at start: every feed is on the page.
            bots = page.locator("#bots tbody tr")
            expect(bots).to_have_count(2, timeout=WAIT_MS)
            expect(page.locator("#bots tbody")).to_contain_text("123456:778")
            assert page.locator("#bots canvas.spark").count() == 6
            expect(page.locator("#retrains tbody")).to_contain_text("PUBLISHED")
            expect(page.locator("#retrains tbody")).to_contain_text("PENDING")
            expect(page.locator("#drift tbody")).to_contain_text("adwin")
            expect(page.locator("#models tbody")).to_contain_text("clone-777")
            expect(page.locator("#trades tbody")).to_contain_text("1001")

            with ThreadedBridge(bridge_settings) as bridge:
                send_trade_through_bridge(bridge.port, tmp_path / "spool")
            row = page.locator("#trades tbody tr", has_text=str(TICKET))
            expect(row).to_have_count(1, timeout=WAIT_MS)
            expect(row).to_contain_text(f"{ACCOUNT}:{MAGIC}")
            expect(row).to_contain_text(EA_ID)

            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # The token stays for the tab: a reload goes straight to the data.
            page.reload()
            expect(page.locator("#board")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#trades tbody")).to_contain_text(str(TICKET), timeout=WAIT_MS)
        finally:
            browser.close()

    width, height = png_size(SCREENSHOT)
    assert width >= 1400 and height >= 800 and SCREENSHOT.stat().st_size > 30_000

    _, prometheus, _ = get(base + "/metrics")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(prometheus.decode())
        for s in family.samples
    }
    assert samples[("botcopier_dashboard_unauthorized_total", ())] >= 4
    # The seeded trade and the bridge's, each read once.
    assert samples[("botcopier_dashboard_records_total", (("topic", "trade-events"),))] == 2
    status, body, _ = get(base + "/healthz")
    assert status == 200 and b'"status": "ok"' in body


def test_data_endpoints_answer_401_without_the_token_on_the_live_service(dashboard):
    base, _process = dashboard
    assert get(base + "/")[0] == 200
    assert get(base + "/api/snapshot")[0] == 401
    with pytest.raises(urllib.error.HTTPError) as refused:
        open_url(base + "/api/events", "wrong")
    assert refused.value.code == 401
    deadline = time.monotonic() + 30  # the history is read after the port opens
    while time.monotonic() < deadline:
        status, body, _ = get(base + "/api/snapshot", TOKEN)
        assert status == 200
        if b"clone-778" in body:
            break
        time.sleep(0.2)
    snapshot = json.loads(body)
    assert len(snapshot["bot"]) == 2 and len(snapshot["retrain"]) == 2
