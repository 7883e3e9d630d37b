"""``botcopier router``: the bandit that tells strategy EAs which model to trade with.

Examples
--------
>>> import argparse
>>> commands = argparse.ArgumentParser(prog="botcopier").add_subparsers()
>>> add_command(commands)
>>> args = commands.choices["router"].parse_args(["--models", "trend,range", "--port", "0"])
>>> args.models, args.port, args.algorithm
('trend,range', 0, None)
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from botcopier.config import Settings


def add_command(commands: argparse._SubParsersAction) -> None:
    router = commands.add_parser(
        "router",
        help="bandit choosing among models for the strategy EAs (HTTP, for MQL4 WebRequest)",
        description="Serves GET /choose (the arm to trade with), POST /reward (arm=<index or "
        "name>&reward=<profit>, or JSON), GET /state, /healthz and /metrics. Both algorithms "
        "maximise the mean reward per trade; any real reward (profit in money or pips) is "
        "fine. The state is saved atomically after every reward and restored at start. "
        "Stops on SIGTERM/SIGINT.",
    )
    router.add_argument(
        "--models",
        required=True,
        help="a count (arms 0..N-1) or comma-separated model names (arms by index or name)",
    )
    router.add_argument(
        "--algorithm", choices=["thompson", "ucb"], help="default: router.algorithm (thompson)"
    )
    router.add_argument("--host", help="listen address (default: router.host)")
    router.add_argument("--port", type=int, help="HTTP port (default: router.port, 9111)")
    router.add_argument(
        "--state-file", type=Path, help="default: router.state_file, else <state_dir>/router.json"
    )
    router.add_argument("--seed", type=int, help="seed the exploration (reproducible runs)")
    router.set_defaults(handler=run_router)


def run_router(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.bridge.exceptions import RouterError
    from botcopier.bridge.router import ModelRouter, arm_names
    from botcopier.bridge.router_http import RouterServer
    from botcopier.run_record import start_service

    config = settings.router
    state_file = args.state_file or config.state_file or settings.paths.state_dir / "router.json"
    algorithm = args.algorithm or config.algorithm
    host = args.host or config.host
    port = config.port if args.port is None else args.port
    start_service(settings, "router")
    router = ModelRouter.open(state_file, arm_names(args.models), algorithm, seed=args.seed)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = RouterServer(router).start(host, port)
    except OSError as exc:
        raise RouterError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    arms = ", ".join(f"{i}={arm.name}" for i, arm in enumerate(router.bandit.arms))
    print(
        f"router ({algorithm}) on http://{host}:{server.port} arms {arms}; state {state_file}",
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
    print("router stopped; state saved", flush=True)
    return 0
