"""The console session's limits, and who the console admits."""

from __future__ import annotations

import itsdangerous.timed
import pytest
from fastapi import Request, Response

from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.api.auth.dependencies import NoBearerAuthenticator
from ai_gateway.api.console.access import ConsoleAccess
from ai_gateway.api.console.session import SESSION_COOKIE, SessionCookies, SessionPolicy
from ai_gateway.application.errors import Forbidden
from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.integration.jwt_authenticator import roles_of

OPERATOR = Principal("ops", AuthMethod.API_KEY, frozenset({"api", "admin"}), is_admin=True)


class Clock:
    """Both clocks a session is judged by: itsdangerous's stamp and the session's start."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(itsdangerous.timed, "time", clock)
    return clock


def request(cookie: str | None = None, scheme: str = "http") -> Request:
    headers = [] if cookie is None else [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]
    scope = {"type": "http", "scheme": scheme, "headers": headers, "path": "/console/",
             "server": ("gateway.test", 80), "method": "GET", "query_string": b""}  # fmt: skip
    return Request(scope)


def issued(cookies: SessionCookies, scheme: str = "http") -> tuple[str, str]:
    response = Response()
    cookies.keep(request(scheme=scheme), response, cookies.start(OPERATOR))
    header = response.headers["set-cookie"]
    return header.split(";")[0].split("=", 1)[1], header


def test_a_session_ends_when_idle_and_at_its_lifetime_however_busy(clock: Clock) -> None:
    cookies = SessionCookies(SessionPolicy("s" * 32, lifetime_seconds=3600, idle_seconds=900),
                             clock=clock.time)  # fmt: skip
    value, _ = issued(cookies)

    clock.now += 899
    alive = cookies.read(request(value))
    clock.now += 2
    idle = cookies.read(request(value))

    assert alive is not None
    assert alive.principal.subject == "ops"
    assert alive.principal.is_admin
    assert idle is None
    value, _ = issued(cookies)
    for _ in range(6):  # busy: a page every 650 s keeps it alive, until the lifetime
        session = cookies.read(request(value))
        assert session is not None
        response = Response()
        cookies.keep(request(value), response, session)
        value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        clock.now += 650
    assert cookies.read(request(value)) is None


def test_the_cookie_is_secure_behind_https_and_signed_with_its_secret(clock: Clock) -> None:
    cookies = SessionCookies(SessionPolicy("s" * 32, 3600, 900), clock=clock.time)
    other = SessionCookies(SessionPolicy("t" * 32, 3600, 900), clock=clock.time)
    value, header = issued(cookies, scheme="https")

    assert "secure" in header.lower()
    assert other.read(request(value)) is None


def access(role: str | None) -> ConsoleAccess:
    return ConsoleAccess(
        admin_scope="admin", admin_role=role, keys=ApiKeyAuthenticator((), admin_scope="admin"),
        bearer=NoBearerAuthenticator(), oidc=None,
        cookies=SessionCookies(SessionPolicy("s" * 32, 3600, 900)),
    )  # fmt: skip


def test_the_console_admits_the_admin_scope_or_the_configured_role() -> None:
    author = Principal("author", AuthMethod.JWT, frozenset({"api"}), roles=frozenset({"ops"}))

    admitted = access("ops").admit(author)

    assert access(None).admit(OPERATOR) is OPERATOR
    assert admitted.is_admin
    assert "admin" in admitted.scopes
    with pytest.raises(Forbidden, match="'admin' scope or the 'gateway-operator' role"):
        access("gateway-operator").admit(author)
    with pytest.raises(Forbidden):
        access(None).admit(author)


def test_roles_come_from_the_plain_claim_and_keycloaks_realm_and_client_roles() -> None:
    claims = {
        "roles": ["a"], "realm_access": {"roles": ["b", 7]},
        "resource_access": {"ai-gateway": {"roles": ["c"]}, "other": "not roles"},
    }  # fmt: skip

    assert roles_of(claims) == {"a", "b", "c"}
    assert roles_of({"realm_access": "x"}) == frozenset()
