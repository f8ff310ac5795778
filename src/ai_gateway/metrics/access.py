"""Who may read ``/metrics``: anyone presenting ``METRICS_TOKEN`` as a bearer token when one is
set, else only clients on the loopback interface."""

from __future__ import annotations

import hmac
import ipaddress
from enum import Enum


class Verdict(Enum):
    ALLOWED = "allowed"
    UNAUTHENTICATED = "unauthenticated"  # a token is needed and was not presented right: 401
    FORBIDDEN = "forbidden"  # no token is set and the client is not on loopback: 403


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsAccess:
    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    def judge(self, peer: str | None, authorization: str | None) -> Verdict:
        """``peer`` is the client's address as the socket gives it, ``authorization`` the
        header's value; the token is compared in constant time."""
        if self._token is None:
            return Verdict.ALLOWED if is_loopback(peer) else Verdict.FORBIDDEN
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self._token
        ):
            return Verdict.ALLOWED
        return Verdict.UNAUTHENTICATED
