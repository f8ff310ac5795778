"""The console's session: a signed cookie that names the operator, short-lived and idle-bound.

The cookie holds the operator's identity as checked at sign-in, the session's start and its CSRF
token, signed (HMAC-SHA1 through ``itsdangerous``, as Starlette's own sessions are) and
time-stamped at every response: a cookie whose stamp is older than the idle time is refused, and
one whose session started longer ago than the lifetime too. It is HttpOnly, SameSite=Strict,
scoped to ``/console``, and Secure when the request came over https.

A sign-in in progress (the OIDC state and PKCE verifier, or the login form's token) lives in a
second cookie, SameSite=Lax, for the identity provider's redirect back is a cross-site navigation
that a Strict cookie would not follow.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final, Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ai_gateway.application.principal import AuthMethod, Principal

SESSION_COOKIE: Final = "gw_console"
SIGN_IN_COOKIE: Final = "gw_console_sign_in"
COOKIE_PATH: Final = "/console"
SIGN_IN_SECONDS: Final = 600


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in operator."""

    principal: Principal
    started_at: float
    csrf: str

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf)


@dataclass(frozen=True, slots=True)
class SignIn:
    """A sign-in under way: the token the login form echoes, and for OIDC the state, the PKCE
    verifier and where the provider sends the browser back."""

    token: str
    state: str | None = None
    verifier: str | None = None
    redirect_uri: str | None = None


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    secret: str
    lifetime_seconds: int
    idle_seconds: int


class SessionCookies:
    """Issues and reads the console's cookies."""

    def __init__(self, policy: SessionPolicy, clock: Any = time.time) -> None:
        self._policy = policy
        self._sessions = URLSafeTimedSerializer(policy.secret, salt="console-session")
        self._sign_ins = URLSafeTimedSerializer(policy.secret, salt="console-sign-in")
        self._clock = clock

    def start(self, principal: Principal) -> ConsoleSession:
        return ConsoleSession(principal, self._clock(), secrets.token_urlsafe(32))

    def read(self, request: Request) -> ConsoleSession | None:
        """The request's session, or None when it has none, or one expired or tampered with."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._sessions.loads(raw, max_age=self._policy.idle_seconds)
            session = _session_of(data)
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if self._clock() - session.started_at > self._policy.lifetime_seconds:
            return None
        return session

    def keep(self, request: Request, response: Response, session: ConsoleSession) -> None:
        """Stamps the session anew on ``response``: the idle time starts again."""
        p = session.principal
        data = {
            "sub": p.subject, "method": p.method.value, "scopes": sorted(p.scopes),
            "client": p.client_id, "roles": sorted(p.roles),
            "started": session.started_at, "csrf": session.csrf,
        }  # fmt: skip
        _set(request, response, SESSION_COOKIE, self._sessions.dumps(data), "strict")

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")

    def begin_sign_in(self, request: Request, response: Response, sign_in: SignIn) -> None:
        data = [sign_in.token, sign_in.state, sign_in.verifier, sign_in.redirect_uri]
        _set(request, response, SIGN_IN_COOKIE, self._sign_ins.dumps(data), "lax")

    def sign_in(self, request: Request) -> SignIn | None:
        raw = request.cookies.get(SIGN_IN_COOKIE)
        if not raw:
            return None
        try:
            token, state, verifier, redirect_uri = self._sign_ins.loads(
                raw, max_age=SIGN_IN_SECONDS
            )
        except (BadSignature, TypeError, ValueError):
            return None
        return SignIn(token, state, verifier, redirect_uri)

    def end_sign_in(self, response: Response) -> None:
        response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")


def _session_of(data: dict[str, Any]) -> ConsoleSession:
    principal = Principal(
        subject=str(data["sub"]),
        method=AuthMethod(data["method"]),
        scopes=frozenset(str(s) for s in data["scopes"]),
        is_admin=True,  # only operators are given a session (see console.login)
        client_id=data["client"] if isinstance(data["client"], str) else None,
        roles=frozenset(str(r) for r in data["roles"]),
    )
    return ConsoleSession(principal, float(data["started"]), str(data["csrf"]))


def _set(
    request: Request, response: Response, name: str, value: str, same_site: Literal["lax", "strict"]
) -> None:
    response.set_cookie(
        name,
        value,
        path=COOKIE_PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite=same_site,
    )
