"""One typed, frozen settings object for every BotCopier process.

Values come from, highest priority first:

1. environment variables ``BOTCOPIER_<SECTION>__<FIELD>``, e.g. ``BOTCOPIER_BROKER__PORT=19092``
   (names are case-insensitive, so keys of mappings such as bridge tokens arrive lower-cased),
2. a TOML file: ``--config FILE``, else ``$BOTCOPIER_CONFIG``, else ``./botcopier.toml``,
3. the defaults below.

Secrets are ``SecretStr`` so they never print. Environment variable names are defined here
and nowhere else.

Examples
--------
>>> settings = load_settings(config_file=None, environ={"BOTCOPIER_BROKER__PORT": "19092"})
>>> settings.broker.port
19092
>>> settings.bootstrap_servers()
'127.0.0.1:19092'
>>> settings.topic("trade-events")
'botcopier.trade-events'
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from botcopier.exceptions import ConfigError

ENV_PREFIX = "BOTCOPIER_"
ENV_NESTED_DELIMITER = "__"
ENV_CONFIG_FILE = "BOTCOPIER_CONFIG"
DEFAULT_CONFIG_FILE = Path("botcopier.toml")


def split_tokens(text: str) -> tuple[str, ...]:
    """The tokens in ``"tok1,tok2"``; blanks around commas and empty entries ignored."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    base = environ.get(variable) or str(Path.home() / fallback)
    return Path(base) / "botcopier"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathSettings(_Section):
    """Where BotCopier keeps state (broker log, spools) and caches (Kafka jars)."""

    # Both default to the XDG locations (filled in by load_settings).
    state_dir: Path
    cache_dir: Path
    # MT4's MQL4/Files folder, where the file-sync agent writes models.
    mt4_files_dir: Path | None = None

    def files_dir(self) -> Path:
        return self.mt4_files_dir or self.state_dir / "MQL4" / "Files"


class BrokerSettings(_Section):
    """The local broker that `botcopier broker start` runs."""

    # auto: Apache Kafka when Java 17+ and Maven Central are available, else Tansu.
    kind: Literal["auto", "kafka", "tansu"] = "auto"
    host: str = "127.0.0.1"
    port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    # None → <state_dir>/broker
    data_dir: Path | None = None
    heap: str = "512m"
    start_timeout_s: float = Field(default=90.0, gt=0)
    stop_timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _ports_differ(self) -> BrokerSettings:
        if self.port == self.controller_port:
            raise ValueError("broker.port and broker.controller_port must differ")
        return self


class KafkaSettings(_Section):
    """How clients reach Kafka and name topics."""

    # None → the local broker's host:port from [broker].
    bootstrap_servers: str | None = None
    topic_prefix: str = "botcopier."
    replication_factor: int = Field(default=1, ge=1)
    # When set, values use the Confluent wire format through this registry instead of
    # the Avro single-object encoding.
    schema_registry_url: str | None = None
    # Extra librdkafka properties merged over BotCopier's defaults.
    client: dict[str, str | int | float | bool] = Field(default_factory=dict)


class BridgeSettings(_Section):
    """The TCP door from MT4 into Kafka."""

    host: str = "127.0.0.1"
    port: int = Field(default=5555, ge=1, le=65535)
    metrics_port: int = Field(default=9105, ge=0, le=65535)
    # ea_id → token, or several (a TOML list, or "old,new") while a token is rotated; an EA
    # whose hello carries none of its tokens is refused. SIGHUP re-reads them.
    tokens: dict[str, SecretStr] = Field(default_factory=dict)
    max_frame_bytes: int = Field(default=65536, ge=1024)
    # Connections open at once from one IP address; more are refused (`too_many_connections`).
    # EAs behind a stunnel on the bridge's host all come from its address: count them in.
    max_connections_per_ip: int = Field(default=64, ge=1)
    # TLS on the EA socket when both are set (PEM files); MT4 reaches it through a local
    # stunnel (SECURITY.md).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Frames read but not yet confirmed by Kafka, per connection; past it the bridge stops
    # reading, so a slow broker slows the EA instead of filling memory.
    max_in_flight: int = Field(default=1000, ge=1)
    heartbeat_s: float = Field(default=15.0, gt=0)
    # Accept EAs with no entry in `tokens` (any token). Only for local experiments.
    allow_unknown_eas: bool = False

    @field_validator("tokens", mode="before")
    @classmethod
    def _token_lists(cls, value: Any) -> Any:
        """A list of tokens is kept as one comma-separated secret (the form env vars take)."""
        if not isinstance(value, Mapping):
            return value
        joined = {}
        for ea_id, tokens in value.items():
            if isinstance(tokens, list | tuple):
                tokens = ",".join(
                    t.get_secret_value() if isinstance(t, SecretStr) else str(t) for t in tokens
                )
            text = tokens.get_secret_value() if isinstance(tokens, SecretStr) else tokens
            if isinstance(text, str) and not split_tokens(text):
                raise ValueError(f"bridge.tokens.{ea_id} holds no token")
            joined[ea_id] = tokens
        return joined

    @model_validator(mode="after")
    def _tls_pair(self) -> BridgeSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("bridge.tls_cert_file and bridge.tls_key_file go together")
        return self

    def accepted_tokens(self, ea_id: str) -> tuple[str, ...] | None:
        """Every token ``ea_id`` may present (several during a rotation); None: unknown EA.

        >>> BridgeSettings(tokens={"ea1": ["old-tok", "new-tok"]}).accepted_tokens("ea1")
        ('old-tok', 'new-tok')
        >>> BridgeSettings(tokens={"ea1": "tok"}).accepted_tokens("ea2") is None
        True
        """
        secret = self.tokens.get(ea_id)
        return None if secret is None else split_tokens(secret.get_secret_value())

    def current_token(self, ea_id: str) -> str | None:
        """The token an EA configured from these settings sends: the last (newest) listed."""
        tokens = self.accepted_tokens(ea_id)
        return tokens[-1] if tokens else None

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None


class AgentsSettings(_Section):
    """The Faust worker: rolling windows, retrain thresholds, drift detectors."""

    # The worker's /healthz and /metrics (localhost only).
    web_port: int = Field(default=6066, ge=1, le=65535)
    # How long a silent worker keeps its partitions: after a crash, the others wait this
    # long before taking them over.
    session_timeout_s: float = Field(default=10.0, ge=6.0, le=300.0)
    window_days: int = Field(default=30, ge=1)
    retention_days: int = Field(default=90, ge=1)
    min_win_rate: float = Field(default=0.40, ge=0, le=1)
    win_rate_rearm: float = Field(default=0.45, ge=0, le=1)
    max_drawdown: float = Field(default=500.0, gt=0)
    drawdown_rearm: float = Field(default=400.0, gt=0)
    min_trades: int = Field(default=20, ge=1)
    # Event time, so a replay decides as the live run did.
    cooldown_hours: float = Field(default=24.0, ge=0)
    # Comma-separated: adwin (win/loss), page_hinkley (profit per trade); empty for none.
    drift_detectors: str = "adwin,page_hinkley"
    adwin_delta: float = Field(default=0.002, gt=0)
    page_hinkley_threshold: float = Field(default=50.0, gt=0)
    # Live features vs the distribution stored in the model: PSI per feature over each
    # batch of `psi_batch` decisions of a bot.
    psi_threshold: float = Field(default=0.2, gt=0)
    psi_batch: int = Field(default=500, ge=10)

    @model_validator(mode="after")
    def _consistent(self) -> AgentsSettings:
        if self.retention_days < self.window_days:
            raise ValueError("agents.retention_days must be >= agents.window_days")
        unknown = set(self.detectors()) - {"adwin", "page_hinkley"}
        if unknown:
            raise ValueError(f"unknown drift detectors: {sorted(unknown)}")
        return self

    def detectors(self) -> list[str]:
        return [name.strip() for name in self.drift_detectors.split(",") if name.strip()]


class CollectorSettings(_Section):
    """`botcopier collector`: metrics history in SQLite, served as JSON and to Prometheus."""

    host: str = "127.0.0.1"
    port: int = Field(default=9107, ge=1, le=65535)
    # Default: <state_dir>/collector.sqlite
    database: Path | None = None
    # Rows kept per table; the oldest go first.
    max_rows: int = Field(default=1_000_000, ge=1)


class RetrainerSettings(_Section):
    """`botcopier retrainer`: answers retrain requests with a candidate, published only if
    it beats the live model on the same held-out bars."""

    # Prometheus /metrics and /healthz; 0 turns the endpoint off.
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    family: Literal["linear", "lightgbm", "xgboost", "catboost", "auto"] = "auto"
    metric: Literal["entry_macro_f1", "bar_agreement"] = "entry_macro_f1"
    # The candidate must beat the live model by at least this much on the held-out window.
    margin: float = Field(default=0.01, ge=0, le=1)
    # The floor: a candidate below this score is rejected, live model or not; `botcopier
    # train` reports a clone below it as BELOW THE FLOOR.
    min_score: float = Field(default=0.5, ge=0, le=1)
    validation: float = Field(default=0.15, ge=0, lt=1)
    test: float = Field(default=0.3, gt=0, lt=1)


class FilesyncSettings(_Section):
    """`botcopier filesync`: models from the `models` topic into MT4 `MQL4/Files` folders."""

    # The MT4 data folders' MQL4/Files directories written into (--files-dir adds more).
    files_dirs: list[Path] = Field(default_factory=list)
    # Versions of each model kept on disk besides the current one.
    keep_versions: int = Field(default=5, ge=0)
    # Prometheus /metrics and /healthz; 0 turns the endpoint off.
    metrics_port: int = Field(default=9110, ge=0, le=65535)


class RouterSettings(_Section):
    """`botcopier router`: a bandit choosing among models for the strategy EAs."""

    host: str = "127.0.0.1"
    port: int = Field(default=9111, ge=1, le=65535)
    algorithm: Literal["thompson", "ucb"] = "thompson"
    # Default: <state_dir>/router.json
    state_file: Path | None = None


class LogSettings(_Section):
    """Where the long-running services log (JSON lines, see `botcopier.logs`)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    # The systemd journal when its socket is there; else rotating files under
    # <state_dir>/logs (`directory` moves them).
    journal: bool = True
    directory: Path | None = None
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    backup_count: int = Field(default=5, ge=0)
    # Also on stderr: "auto" when stderr is a terminal, "always" in containers whose
    # runtime collects stderr.
    stderr: Literal["auto", "always", "never"] = "auto"


class DashboardSettings(_Section):
    """`botcopier dashboard`: the live web page over the topics."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Bearer token for the page's data; without one the dashboard needs --no-auth (loopback).
    token: SecretStr | None = None


class Settings(_Section):
    """Everything a BotCopier process is configured with. Build it with `load_settings`."""

    paths: PathSettings
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)
    agents: AgentsSettings = Field(default_factory=AgentsSettings)
    collector: CollectorSettings = Field(default_factory=CollectorSettings)
    retrainer: RetrainerSettings = Field(default_factory=RetrainerSettings)
    filesync: FilesyncSettings = Field(default_factory=FilesyncSettings)
    router: RouterSettings = Field(default_factory=RouterSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    # MetaQuotes' metaeditor.exe for `botcopier mql4-compile` (BOTCOPIER_METAEDITOR); never
    # shipped with BotCopier.
    metaeditor: Path | None = None

    def bootstrap_servers(self) -> str:
        """Where clients connect: kafka.bootstrap_servers, else the local broker."""
        return self.kafka.bootstrap_servers or f"{self.broker.host}:{self.broker.port}"

    def broker_dir(self) -> Path:
        return self.broker.data_dir or self.paths.state_dir / "broker"

    def collector_database(self) -> Path:
        return self.collector.database or self.paths.state_dir / "collector.sqlite"

    def logs_dir(self) -> Path:
        return self.logs.directory or self.paths.state_dir / "logs"

    def topic(self, name: str) -> str:
        """Full topic name for a catalogue name, with the configured prefix."""
        return f"{self.kafka.topic_prefix}{name}"

    def redacted(self) -> dict[str, Any]:
        """The settings as plain data, secrets masked, for `botcopier config show`."""
        return self.model_dump(mode="json")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _env_paths(environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Each BOTCOPIER_SECTION__FIELD[__KEY] variable's place in the settings, and its name."""
    return {
        tuple(name[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER)): name
        for name in environ
        if name.startswith(ENV_PREFIX) and name != ENV_CONFIG_FILE
    }


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """BOTCOPIER_SECTION__FIELD[__KEY] variables as nested dicts."""
    nested: dict[str, Any] = {}
    for path, name in _env_paths(environ).items():
        value = environ[name]
        node = nested
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {name} conflicts with another one")
        node[path[-1]] = value
    return nested


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_config_file(
    config_file: Path | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The file to read: the explicit one, else $BOTCOPIER_CONFIG, else ./botcopier.toml."""
    environ = os.environ if environ is None else environ
    if config_file is not None:
        return config_file
    if environ.get(ENV_CONFIG_FILE):
        return Path(environ[ENV_CONFIG_FILE])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the file, apply environment overrides, validate, and freeze.

    ``environ`` defaults to the process environment; tests pass their own mapping.
    """
    environ = os.environ if environ is None else environ
    path = resolve_config_file(config_file, environ)
    from_file = _read_toml(path) if path is not None else {}
    defaults = {
        "paths": {
            "state_dir": _xdg_dir(environ, "XDG_DATA_HOME", ".local/share"),
            "cache_dir": _xdg_dir(environ, "XDG_CACHE_HOME", ".cache"),
        }
    }
    data = _deep_merge(_deep_merge(defaults, from_file), _env_overrides(environ))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        origin = f" (from {path} and BOTCOPIER_* variables)" if path else ""
        variables = _env_paths(environ)
        problems = "; ".join(_problem(err, variables) for err in exc.errors())
        raise ConfigError(f"invalid configuration{origin}: {problems}") from exc


def _problem(error: Mapping[str, Any], variables: Mapping[tuple[str, ...], str]) -> str:
    """One validation error, naming the environment variable it came from, if one did: a
    stray ``BOTCOPIER_PYTHON`` reads as ``python: Extra inputs…``, which names no variable."""
    loc = tuple(str(part) for part in error["loc"])
    where = ".".join(loc)
    # The variable that set this value, or a section above it (BOTCOPIER_BRIDGE__TOKENS__X).
    name = next((variables[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in variables), None)
    if name is None:
        return f"{where}: {error['msg']}"
    if error["type"] == "extra_forbidden":
        return (
            f"environment variable {name} is not a setting ({where}: {error['msg']}); "
            f"settings are {ENV_PREFIX}<SECTION>{ENV_NESTED_DELIMITER}<FIELD>, "
            f"e.g. {ENV_PREFIX}BROKER{ENV_NESTED_DELIMITER}PORT"
        )
    return f"{where} (environment variable {name}): {error['msg']}"
