from pathlib import Path

import pytest

from botcopier.cli import main
from botcopier.config import ENV_CONFIG_FILE, load_settings
from botcopier.exceptions import ConfigError


def test_defaults_use_xdg_dirs_and_local_broker(tmp_path):
    settings = load_settings(
        environ={"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    )
    assert settings.paths.state_dir == tmp_path / "data" / "botcopier"
    assert settings.paths.cache_dir == tmp_path / "cache" / "botcopier"
    assert settings.broker_dir() == tmp_path / "data" / "botcopier" / "broker"
    assert settings.bootstrap_servers() == "127.0.0.1:9092"


def test_environment_overrides_file(tmp_path):
    config = tmp_path / "botcopier.toml"
    config.write_text(
        '[broker]\nport = 19092\nhost = "127.0.0.2"\n[kafka]\ntopic_prefix = "file."\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={"BOTCOPIER_BROKER__PORT": "29092"})
    assert settings.broker.port == 29092  # env wins
    assert settings.broker.host == "127.0.0.2"  # file kept where env is silent
    assert settings.kafka.topic_prefix == "file."
    assert settings.bootstrap_servers() == "127.0.0.2:29092"
    assert settings.topic("models") == "file.models"


def test_explicit_bootstrap_servers_beat_the_local_broker():
    settings = load_settings(environ={"BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": "k1:9092,k2:9092"})
    assert settings.bootstrap_servers() == "k1:9092,k2:9092"


def test_config_file_from_environment_variable(tmp_path):
    config = tmp_path / "other.toml"
    config.write_text("[bridge]\nport = 6000\n", encoding="utf-8")
    assert load_settings(environ={ENV_CONFIG_FILE: str(config)}).bridge.port == 6000


def test_invalid_value_names_the_field():
    with pytest.raises(ConfigError, match=r"broker\.port"):
        load_settings(environ={"BOTCOPIER_BROKER__PORT": "not-a-port"})


def test_unknown_key_is_refused(tmp_path):
    config = tmp_path / "botcopier.toml"
    config.write_text("[broker]\nprot = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broker\.prot"):
        load_settings(config, environ={})


def test_an_unknown_variable_is_refused_by_its_name(monkeypatch, capsys):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"BOTCOPIER_PYTHON": "/usr/bin/python3"})
    message = str(refused.value)
    assert "environment variable BOTCOPIER_PYTHON is not a setting" in message
    assert "BOTCOPIER_<SECTION>__<FIELD>" in message
    # A misspelt field of a real section is named too, and so is a bad value's variable.
    with pytest.raises(ConfigError, match="variable BOTCOPIER_BROKER__PROT is not a setting"):
        load_settings(environ={"BOTCOPIER_BROKER__PROT": "1"})
    with pytest.raises(
        ConfigError, match=r"broker\.port \(environment variable BOTCOPIER_BROKER__PORT\)"
    ):
        load_settings(environ={"BOTCOPIER_BROKER__PORT": "not-a-port"})
    # Every command stops on it with that one line, not a traceback.
    monkeypatch.setenv("BOTCOPIER_PYTHON", "/usr/bin/python3")
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("botcopier: error: invalid configuration: environment variable "
                          "BOTCOPIER_PYTHON is not a setting")  # fmt: skip
    assert len(err.strip().splitlines()) == 1


def test_broken_toml_and_missing_file_are_clear_errors(tmp_path):
    config = tmp_path / "botcopier.toml"
    config.write_text("[broker\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(Path(tmp_path / "absent.toml"), environ={})


def test_same_broker_and_controller_port_is_refused():
    with pytest.raises(ConfigError, match="must differ"):
        load_settings(environ={"BOTCOPIER_BROKER__CONTROLLER_PORT": "9092"})


def test_secrets_never_print():
    settings = load_settings(
        environ={
            "BOTCOPIER_BRIDGE__TOKENS__EA1": "hunter2-secret",
            "BOTCOPIER_DASHBOARD__TOKEN": "dash-secret",
        }
    )
    assert settings.bridge.tokens["ea1"].get_secret_value() == "hunter2-secret"
    shown = str(settings.redacted()) + repr(settings)
    assert "hunter2-secret" not in shown and "dash-secret" not in shown


def test_settings_are_frozen():
    settings = load_settings(environ={})
    with pytest.raises(Exception, match="frozen"):
        settings.broker.port = 1
