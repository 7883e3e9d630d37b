"""Bridge security: rotatable tokens, TLS, per-IP connection and frame-size limits, and no
secret in any log line or dead letter."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import signal
import socket
import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from botcopier.bridge.client import EaClient, tls_client_context
from botcopier.bridge.server import token_matches
from botcopier.config import load_settings
from botcopier.exceptions import ConfigError
from botcopier.logs import SecretFilter, secrets_of
from tests.bridge_harness import RawEa, ThreadedBridge, bridge_process
from tests.helpers import consume_topic, free_port, with_bridge
from tests.test_bridge import trade


def self_signed(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` (as an IP SAN) and its private key, PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "botcopier-test-bridge")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "bridge.crt", folder / "bridge.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# -- no broker needed -----------------------------------------------------------------------


def test_token_lists_from_toml_and_comma_strings_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "botcopier.toml"
    config.write_text('[bridge.tokens]\nea1 = ["old-tok", "new-tok"]\nea2 = "only-tok"\n')
    settings = load_settings(config, environ={"BOTCOPIER_BRIDGE__TOKENS__EA3": "a-tok, b-tok"})
    bridge = settings.bridge
    assert bridge.accepted_tokens("ea1") == ("old-tok", "new-tok")
    assert bridge.accepted_tokens("ea2") == ("only-tok",)  # the single-string form still works
    assert bridge.accepted_tokens("ea3") == ("a-tok", "b-tok")
    assert bridge.current_token("ea1") == "new-tok"
    assert bridge.accepted_tokens("nobody") is None
    masker = SecretFilter(secrets_of(settings))
    assert masker.mask("old-tok new-tok only-tok a-tok b-tok") == "*** *** *** *** ***"
    assert "old-tok" not in str(settings.redacted())


def test_empty_tokens_and_half_a_tls_pair_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no token"):
        load_settings(None, environ={"BOTCOPIER_BRIDGE__TOKENS__EA1": " , "})
    with pytest.raises(ConfigError, match="go together"):
        load_settings(None, environ={"BOTCOPIER_BRIDGE__TLS_CERT_FILE": str(tmp_path / "c")})


def test_token_matching_checks_every_candidate() -> None:
    assert token_matches("new", ("old", "new"))
    assert token_matches("old", ("old", "new"))
    assert not token_matches("ol", ("old", "new"))
    assert not token_matches("", ())
    assert not token_matches("", ("old",))


# -- on the broker ---------------------------------------------------------------------------


def settings_with(fresh_settings, **bridge):
    tokens = {"ea-1": SecretStr("tok-1"), "ea-r": SecretStr("old-tok,new-tok")}
    return with_bridge(fresh_settings, port=0, metrics_port=0, tokens=tokens, **bridge)


@pytest.mark.broker
def test_rotation_old_and_new_token_work_until_the_old_one_is_removed(fresh_settings) -> None:
    with ThreadedBridge(settings_with(fresh_settings)) as bridge:
        single = RawEa(bridge.port)
        assert single.hello("ea-1", "tok-1")["type"] == "welcome"
        new = RawEa(bridge.port)
        assert new.hello("ea-r", "new-tok")["type"] == "welcome"
        new.close()
        old = RawEa(bridge.port)
        assert old.hello("ea-r", "old-tok")["type"] == "welcome"

        closed = bridge.call(
            bridge.server.reload_tokens({"ea-1": SecretStr("tok-1"), "ea-r": SecretStr("new-tok")})
        )
        assert closed == 1  # the connection that used the old token
        revoked = old.reply()
        assert (revoked["code"], revoked["fatal"]) == ("unauthorized", True)
        assert "old-tok" not in revoked["reason"]

        again = RawEa(bridge.port)
        refused = again.hello("ea-r", "old-tok")
        assert (refused["code"], refused["fatal"]) == ("unauthorized", True)
        assert RawEa(bridge.port).hello("ea-r", "new-tok")["type"] == "welcome"
        single.send({"type": "ping", "t": 1})
        assert single.reply() == {"type": "pong", "t": 1}  # untouched by the reload


@pytest.mark.broker
def test_ea_client_publishes_over_tls_and_plain_tcp_gets_no_welcome(fresh_settings, tmp_path):
    cert, key = self_signed(tmp_path)
    settings = settings_with(fresh_settings, tls_cert_file=cert, tls_key_file=key)
    with ThreadedBridge(settings) as bridge:

        async def run() -> tuple[bool, int]:
            client = EaClient(
                "127.0.0.1", bridge.port, "ea-1", 77, "tok-1", spool_dir=tmp_path / "spool",
                tls=tls_client_context(cert),
            )  # fmt: skip
            client.start()
            for n in range(5):
                await client.submit("trade", trade(77, 7, n))
            done = await client.wait_acked(60)
            await client.close()
            return done, client.connects

        assert asyncio.run(run()) == (True, 1)

        plain = RawEa(bridge.port, timeout_s=5)
        with pytest.raises((ConnectionError, OSError, ValueError)):
            plain.hello("ea-1", "tok-1")  # TLS handshake bytes, or a closed socket
        plain.close()

        untrusted = ssl.create_default_context()  # the system CAs do not know this cert
        with socket.create_connection(("127.0.0.1", bridge.port), timeout=5) as raw:
            with pytest.raises(ssl.SSLCertVerificationError):
                untrusted.wrap_socket(raw, server_hostname="127.0.0.1")

    events = consume_topic(settings, settings.topic("trade-events"), until=5, timeout_s=30)
    assert len(events) == 5


@pytest.mark.broker
def test_connections_past_the_per_ip_limit_are_refused_with_a_clear_error(fresh_settings):
    with ThreadedBridge(settings_with(fresh_settings, max_connections_per_ip=2)) as bridge:
        first, second = RawEa(bridge.port), RawEa(bridge.port)
        assert first.hello("ea-1", "tok-1")["type"] == "welcome"
        third = RawEa(bridge.port)
        refused = third.reply()
        assert (refused["code"], refused["fatal"]) == ("too_many_connections", True)
        assert "max_connections_per_ip" in refused["reason"]
        with pytest.raises(ConnectionError):
            third.reply()
        second.close()
        deadline = time.monotonic() + 10
        while True:  # the slot frees once the bridge has seen the close
            retry = RawEa(bridge.port)
            reply = retry.hello("ea-r", "new-tok")
            if reply["type"] == "welcome" or time.monotonic() > deadline:
                break
            retry.close()
            time.sleep(0.1)
        assert reply["type"] == "welcome"
        metrics = bridge.server.metrics.refused.labels("too_many_connections")._value.get()
        assert metrics >= 1


@pytest.mark.broker
def test_frames_past_max_frame_bytes_are_refused_and_the_connection_survives(fresh_settings):
    with ThreadedBridge(settings_with(fresh_settings, max_frame_bytes=2048)) as bridge:
        big_hello = RawEa(bridge.port)
        big_hello.send_line(b'{"type":"hello","pad":"' + b"x" * 4000 + b'"}')
        refused = big_hello.reply()
        assert (refused["code"], refused["fatal"]) == ("oversize", True)

        ea = RawEa(bridge.port)
        welcome = ea.hello("ea-1", "tok-1")
        assert welcome["max_frame_bytes"] == 2048
        frame = {"type": "trade", "seq": 1, "event_id": "big", **trade(1, 2, 1)}
        ea.send({**frame, "comment": "y" * 3000})
        oversize = ea.reply()
        assert (oversize["code"], oversize["fatal"]) == ("oversize", False)
        ea.send({**frame, "seq": 2, "event_id": "small"})
        assert ea.replies_until_ack(2)[-1] == {"type": "ack", "seq": 2}


@pytest.mark.broker
def test_no_token_or_key_reaches_logs_or_dead_letters_and_sighup_rotates(fresh_settings, tmp_path):
    """The real `botcopier bridge` process with TLS and tokens, at debug level."""
    cert, key = self_signed(tmp_path)
    config = tmp_path / "botcopier.toml"
    config.write_text('[bridge.tokens]\nea-s = ["s3cret-old-token", "s3cret-new-token"]\n')
    port, state = free_port(), tmp_path / "state"
    env = {
        "BOTCOPIER_CONFIG": str(config),
        "BOTCOPIER_PATHS__STATE_DIR": str(state),
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": fresh_settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": fresh_settings.kafka.topic_prefix,
        "BOTCOPIER_BRIDGE__METRICS_PORT": "0",
        "BOTCOPIER_BRIDGE__TLS_CERT_FILE": str(cert),
        "BOTCOPIER_BRIDGE__TLS_KEY_FILE": str(key),
        "BOTCOPIER_LOGS__LEVEL": "debug",
        "BOTCOPIER_LOGS__STDERR": "always",
        "BOTCOPIER_LOGS__JOURNAL": "false",
    }
    context = tls_client_context(cert)

    def hello(token: str, **fields) -> dict:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                ea = RawEa.__new__(RawEa)
                ea.sock, ea._buffer = tls, b""
                frame = {"type": "hello", "protocol": 1, "ea_id": "ea-s", "account": 1,
                         "token": token, "schema_version": 1, "resume_from": 1}  # fmt: skip
                frame.update(fields)
                ea.send(frame)
                return ea.reply()

    with bridge_process(env, tmp_path / "bridge.out", port) as bridge:
        assert hello("s3cret-wrong-token")["code"] == "unauthorized"
        assert hello("s3cret-old-token")["type"] == "welcome"
        # A valid token in a hello refused for another reason must not reach a dead letter.
        assert hello("s3cret-new-token", schema_version=99)["code"] == "unknown_schema_version"
        config.write_text('[bridge.tokens]\nea-s = "s3cret-new-token"\n')
        bridge.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while hello("s3cret-old-token")["type"] == "welcome":
            assert time.monotonic() < deadline, "SIGHUP did not reload the tokens"
            time.sleep(0.2)
        assert hello("s3cret-new-token")["type"] == "welcome"
        bridge.stop()

    logs = (tmp_path / "bridge.out").read_text() + "".join(
        path.read_text() for path in (state / "logs").glob("*.log*")
    )
    assert "unauthorized" in logs and "tokens reloaded" in logs  # the logs were captured
    key_body = "".join(key.read_text().splitlines()[1:-1])
    for secret in ("s3cret-wrong-token", "s3cret-old-token", "s3cret-new-token", key_body[:40]):
        assert secret not in logs
    dead = consume_topic(fresh_settings, fresh_settings.topic("dead-letter"), until=3, timeout_s=30)
    assert len(dead) >= 3
    for message in dead:
        assert b"s3cret" not in message.value()
