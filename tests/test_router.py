"""The model router: bandits that find the best model, and the HTTP service MQL4 talks to."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from botcopier.bridge.bandit import make_bandit
from botcopier.bridge.exceptions import RouterError, RouterStateError
from botcopier.bridge.router import ModelRouter, arm_names
from botcopier.bridge.router_http import RouterServer
from tests.helpers import free_port

REPO = Path(__file__).resolve().parent.parent

# Three models trading with risk 1 and target 2: each trade earns +2 or -1. Their win rates
# give mean rewards of -0.25, +0.5 and +0.05 per trade: the middle one is best.
WIN_RATES = (0.25, 0.5, 0.35)
BEST = 1


def trade(rng, arm):
    return 2.0 if rng.random() < WIN_RATES[arm] else -1.0


@pytest.mark.parametrize("algorithm", ["thompson", "ucb"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_choices_concentrate_on_the_most_profitable_model(algorithm, seed):
    bandit = make_bandit(algorithm, ["a", "b", "c"], seed=seed)
    market = random.Random(1000 + seed)
    picks = []
    # UCB1 keeps exploring at a logarithmic rate: it needs a few thousand trades here.
    for _ in range(5000):
        arm = bandit.choose()
        picks.append(arm)
        bandit.update(arm, trade(market, arm))
    last = picks[-1000:]
    assert last.count(BEST) / len(last) > 0.8
    assert bandit.arms[BEST].pulls == max(arm.pulls for arm in bandit.arms)


@pytest.mark.parametrize("algorithm", ["thompson", "ucb"])
def test_choices_do_not_depend_on_the_reward_unit(algorithm):
    def run(scale):
        bandit = make_bandit(algorithm, ["a", "b", "c"], seed=5)
        market = random.Random(9)
        picks = []
        for _ in range(300):
            arm = bandit.choose()
            picks.append(arm)
            bandit.update(arm, scale * trade(market, arm))
        return picks

    assert run(1.0) == run(100.0)


def test_every_arm_is_tried_before_any_is_preferred():
    bandit = make_bandit("ucb", ["a", "b", "c"], seed=0)
    first = []
    for reward in (5.0, 1.0, 3.0):
        first.append(bandit.choose())
        bandit.update(first[-1], reward)
    assert first == [0, 1, 2]


def test_model_names_that_are_integers_are_refused():
    with pytest.raises(RouterError, match="must not be integers"):
        arm_names("trend,7")
    with pytest.raises(RouterError, match="named twice"):
        arm_names("trend,trend")


# --- the HTTP service ---------------------------------------------------------------------


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as reply:  # noqa: S310 - loopback
        return json.load(reply)


def post(base, path, body, content_type="application/x-www-form-urlencoded"):
    headers = {"Content-Type": content_type}
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(names=("trend", "range", "breakout"), algorithm="ucb", seed=3, port=0):
        router = ModelRouter.open(tmp_path / "router.json", list(names), algorithm, seed=seed)
        server = RouterServer(router).start("127.0.0.1", port)
        servers.append(server)
        return server, f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        server.stop()


def test_rewards_are_accepted_as_json_form_body_and_query_string(serve):
    _, base = serve()
    assert post(base, "/reward", b'{"arm": 0, "reward": 2.5}', "application/json")[0] == 200
    assert post(base, "/reward", b"arm=range&reward=-1")[0] == 200
    assert post(base, "/reward?arm=2&reward=0.5", b"")[0] == 200
    arms = get(base, "/state")["arms"]
    assert [(arm["pulls"], arm["reward_sum"]) for arm in arms] == [(1, 2.5), (1, -1.0), (1, 0.5)]


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"arm=9&reward=1", "application/x-www-form-urlencoded", "no arm '9'"),
        (b"arm=nope&reward=1", "application/x-www-form-urlencoded", "no arm 'nope'"),
        (b"arm=0&reward=lots", "application/x-www-form-urlencoded", "must be a number"),
        (b"arm=0&reward=nan", "application/x-www-form-urlencoded", "finite"),
        (b"arm=0", "application/x-www-form-urlencoded", "missing reward"),
        (b"arm=0&arm=1&reward=1", "application/x-www-form-urlencoded", "arm given 2 times"),
        (b'{"arm": 0, "reward": ', "application/json", "not valid JSON"),
        (b"[0, 1]", "application/json", "must be an object"),
        (b'{"arm": 0, "reward": true}', "application/json", "must be a number"),
        (b'{"arm": 1.0, "reward": 1}', "application/json", "no arm '1.0'"),
    ],
)
def test_bad_rewards_are_refused_with_a_reason_and_change_nothing(
    serve, tmp_path, body, content_type, reason
):
    server, base = serve()
    post(base, "/reward", b"arm=1&reward=4")
    before = get(base, "/state")
    saved = (tmp_path / "router.json").read_bytes()
    status, reply = post(base, "/reward", body, content_type)
    assert status == 400
    assert reason in reply["error"]
    assert get(base, "/state") == before
    assert (tmp_path / "router.json").read_bytes() == saved
    assert server.bad_requests._value.get() == 1


def test_state_survives_a_restart_and_choices_continue_from_it(serve, tmp_path):
    server, base = serve(algorithm="ucb")
    market = random.Random(4)
    for _ in range(40):
        arm = get(base, "/choose")["arm"]
        assert post(base, "/reward", f"arm={arm}&reward={trade(market, arm)}".encode())[0] == 200
    before = get(base, "/state")
    server.stop()

    # An uninterrupted twin shows what the next choices must be.
    twin = ModelRouter.open(tmp_path / "router.json", ["trend", "range", "breakout"], "ucb", 3)
    expected = []
    for _ in range(5):
        expected.append(twin.bandit.choose())
        twin.bandit.update(expected[-1], 1.0)

    _, base = serve(algorithm="ucb", port=server.port)
    assert get(base, "/state") == before
    for arm in expected:
        assert get(base, "/choose")["arm"] == arm
        post(base, "/reward", f"arm={arm}&reward=1".encode())
    assert sum(arm["pulls"] for arm in get(base, "/state")["arms"]) == 45


def test_concurrent_rewards_are_all_counted(serve, tmp_path):
    _, base = serve()
    errors = []

    def report(arm):
        for _ in range(25):
            status, _ = post(base, "/reward", f"arm={arm}&reward=1".encode())
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=report, args=(i % 3,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [arm["pulls"] for arm in get(base, "/state")["arms"]] == [50, 50, 50]
    saved = json.loads((tmp_path / "router.json").read_text())
    assert [arm["pulls"] for arm in saved["arms"]] == [50, 50, 50]


def test_metrics_show_pulls_and_mean_reward_per_arm(serve):
    _, base = serve()
    post(base, "/reward", b"arm=range&reward=3")
    post(base, "/reward", b"arm=range&reward=-1")
    with urllib.request.urlopen(base + "/metrics", timeout=10) as reply:  # noqa: S310
        text = reply.read().decode()
    assert 'botcopier_router_pulls_total{arm="1",name="range"} 2.0' in text
    assert 'botcopier_router_mean_reward{arm="1",name="range"} 1.0' in text
    assert get(base, "/healthz") == {"status": "ok", "arms": 3, "algorithm": "ucb"}


def test_a_corrupt_state_file_is_an_error_and_is_left_alone(tmp_path):
    state_file = tmp_path / "router.json"
    state_file.write_text('{"format": "botcopier-router", "version": 1, "arms": [')
    with pytest.raises(RouterStateError, match="not valid JSON"):
        ModelRouter.open(state_file, ["a", "b"], "thompson")
    assert state_file.read_text().endswith('"arms": [')

    router = ModelRouter.open(tmp_path / "other.json", ["a", "b"], "thompson")
    router.reward("a", 1.0)
    with pytest.raises(RouterStateError, match=r"has arms \['a', 'b'\], not \['a', 'c'\]"):
        ModelRouter.open(tmp_path / "other.json", ["a", "c"], "thompson")

    broken = json.loads((tmp_path / "other.json").read_text())
    broken["arms"][0]["pulls"] = -3
    state_file.write_text(json.dumps(broken))
    with pytest.raises(RouterStateError, match="pulls -3 is out of range"):
        ModelRouter.open(state_file, ["a", "b"], "thompson")


def test_the_cli_serves_until_sigterm_and_reports_a_corrupt_state(tmp_path):
    port = free_port()
    state_file = tmp_path / "router.json"
    argv = [sys.executable, "-m", "botcopier.cli", "router", "--models", "2"]
    argv += ["--port", str(port), "--state-file", str(state_file)]
    env = {**os.environ, "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path)}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert "router (thompson) on http://127.0.0.1:" in process.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        assert post(base, "/reward", b"arm=1&reward=2")[0] == 200
        assert get(base, "/choose")["arm"] in (0, 1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert json.loads(state_file.read_text())["arms"][1]["pulls"] == 1

    state_file.write_text("garbage")
    failed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert failed.returncode == 2
    assert failed.stderr.startswith("botcopier: error: ")
    assert state_file.read_text() == "garbage"


def test_the_mql4_include_calls_what_the_router_serves(serve):
    source = (REPO / "mql4" / "Include" / "BotCopier" / "Router.mqh").read_text()
    calls = re.findall(r'RouterRequest\("(GET|POST)", "(/\w+)"', source)
    assert calls == [("GET", "/choose"), ("POST", "/reward")]
    assert '"arm=" + IntegerToString(arm) + "&reward=" + DoubleToString(reward, 8)' in source

    _, base = serve()
    choice = get(base, "/choose")
    # What RouterReward sends: form fields, the reward with 8 decimals.
    status, reply = post(base, "/reward", f"arm={choice['arm']}&reward={-12.5:.8f}".encode())
    assert status == 200
    assert reply["mean_reward"] == -12.5
