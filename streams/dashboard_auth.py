"""Who may read the dashboard's data: one shared token, or nobody checked on loopback.

The token is ``dashboard.token`` (``BOTCOPIER_DASHBOARD__TOKEN``). A request presents it as
``Authorization: Bearer <token>`` or, for clients that cannot set headers (a browser's
``EventSource``), as a ``token`` query parameter. It is compared in constant time and never
logged. Without a token the dashboard refuses to start unless ``--no-auth`` is given, and
``--no-auth`` is only accepted for a loopback address: anyone who can reach the port can
then read every bot's trades.

Examples
--------
>>> auth = resolve_auth("s3cret", host="0.0.0.0", no_auth=False)
>>> auth.allows(authorization="Bearer s3cret", query_token=None)
True
>>> auth.allows(authorization=None, query_token="s3cret")
True
>>> auth.allows(authorization="Bearer guess", query_token=None)
False
>>> resolve_auth(None, host="127.0.0.1", no_auth=True).allows(None, None)
True
>>> resolve_auth(None, host="0.0.0.0", no_auth=True)
Traceback (most recent call last):
...
botcopier.streams.dashboard_auth.DashboardAuthError: --no-auth is for loopback only ...
"""

from __future__ import annotations

import hmac
import ipaddress

from botcopier.exceptions import BotCopierError


class DashboardAuthError(BotCopierError):
    """The dashboard's token settings do not allow it to start."""


def is_loopback(host: str) -> bool:
    """Only this machine can reach ``host``.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def presented_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token a request carries: the bearer header first, else the query parameter.

    >>> presented_token("Bearer abc", "xyz"), presented_token("Basic abc", None)
    ('abc', None)
    """
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return query_token or None


class DashboardAuth:
    """Checks requests against ``token``; with ``token`` None, every request passes."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token is not None else None

    @property
    def required(self) -> bool:
        return self._token is not None

    def allows(self, authorization: str | None, query_token: str | None) -> bool:
        if self._token is None:
            return True
        given = presented_token(authorization, query_token)
        # compare_digest takes as long for a near miss as for a wild guess.
        return given is not None and hmac.compare_digest(given.encode(), self._token)

    def __repr__(self) -> str:
        return f"DashboardAuth(required={self.required})"


def resolve_auth(token: str | None, host: str, no_auth: bool) -> DashboardAuth:
    """The policy for a dashboard on ``host``; raises DashboardAuthError when it may not run."""
    if no_auth:
        if token:
            raise DashboardAuthError("--no-auth given but dashboard.token is set: drop one of them")
        if not is_loopback(host):
            raise DashboardAuthError(
                f"--no-auth is for loopback only (127.0.0.1, ::1), not {host}: set "
                "BOTCOPIER_DASHBOARD__TOKEN instead"
            )
        return DashboardAuth(None)
    if not token:
        raise DashboardAuthError(
            "no dashboard token: set BOTCOPIER_DASHBOARD__TOKEN (or dashboard.token in "
            "botcopier.toml), or pass --no-auth to serve 127.0.0.1 without one"
        )
    return DashboardAuth(token)
