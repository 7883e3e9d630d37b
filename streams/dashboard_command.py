"""`botcopier dashboard`: the live web page over trades, bot metrics, drift, retraining and
models."""

from __future__ import annotations

import argparse

from botcopier.config import Settings


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.dashboard_auth import resolve_auth
    from botcopier.streams.dashboard_service import run_dashboard

    host = args.host or settings.dashboard.host
    port = settings.dashboard.port if args.port is None else args.port
    token = settings.dashboard.token.get_secret_value() if settings.dashboard.token else None
    auth = resolve_auth(token, host=host, no_auth=args.no_auth)
    return run_dashboard(settings, auth, host, port, history=args.history)


def add_command(commands: argparse._SubParsersAction) -> None:
    dashboard = commands.add_parser(
        "dashboard",
        help="live web page: trades, bot metrics, drift, retraining, models",
        description="Follows trade-events, bot-metrics, drift, retrain-requests, "
        "retrain-decisions and models (starting --history records before each partition's "
        "end) and serves a page that updates live over Server-Sent Events. The page asks "
        "for dashboard.token (BOTCOPIER_DASHBOARD__TOKEN); without a token it refuses to "
        "start unless --no-auth is given, for a loopback address only. /healthz and "
        "/metrics (Prometheus) need no token.",
    )
    dashboard.add_argument("--host", help="listen address (default: dashboard.host, 127.0.0.1)")
    dashboard.add_argument("--port", type=int, help="HTTP port (default: dashboard.port, 8080)")
    dashboard.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without a token (loopback addresses only)",
    )
    dashboard.add_argument(
        "--history",
        type=int,
        default=200,
        metavar="N",
        help="records read back from the end of each partition at start (default 200)",
    )
    dashboard.set_defaults(handler=_run)
