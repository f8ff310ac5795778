"""The HTTP client every outbound call is made with.

httpx keeps the cookies a server sets and sends them with every later request the same client
makes to a matching domain, and one client serves many trust lines here: Mosaic's paths, other
ports of the same host, callback receivers. A cookie set on an authenticated Mosaic response would
then travel where the token may not, so the gateway's clients keep no cookies at all: it talks to
APIs, none of which needs a session.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx


def cookieless_jar() -> CookieJar:
    """A jar that stores nothing, so it sends nothing: no domain is allowed."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def outbound_client(**options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for calls out of the gateway: no redirects unless asked, and no
    cookies kept between requests."""
    options.setdefault("follow_redirects", False)
    return httpx.AsyncClient(cookies=cookieless_jar(), **options)
