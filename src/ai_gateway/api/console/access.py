"""Who may open the console, and how a request proves it is one of them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Request

from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.api.console.session import ConsoleSession, SessionCookies
from ai_gateway.application.errors import Forbidden
from ai_gateway.application.ports.identity import BearerAuthenticator, OperatorSignIn
from ai_gateway.application.principal import Principal

MAX_FORM_BYTES = 64 * 1024
"""A console form carries a token and a few ids; anything longer is not one of ours."""
MAX_FORM_FIELDS = 200


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """Operators are callers with the admin scope, or with ``admin_role`` when one is set.
    ``oidc`` is None when no identity provider client is configured for the console; the API key
    form is offered when ``key_sign_in`` (keys are configured)."""

    admin_scope: str
    admin_role: str | None
    keys: ApiKeyAuthenticator
    bearer: BearerAuthenticator
    oidc: OperatorSignIn | None
    cookies: SessionCookies
    key_sign_in: bool = True
    public_url: str | None = None
    """Where browsers reach the gateway (GATEWAY_PUBLIC_URL); else the request's own URL."""

    def admit(self, principal: Principal) -> Principal:
        """The operator ``principal`` is in the console; raises Forbidden for anyone else.
        A configured role stands for the admin scope."""
        if self.admin_scope in principal.scopes:
            return principal
        if self.admin_role is not None and self.admin_role in principal.roles:
            scopes = principal.scopes | {self.admin_scope}
            return dataclasses.replace(principal, scopes=scopes, is_admin=True)
        raise Forbidden(
            f"the console is for operators: this needs the '{self.admin_scope}' scope"
            + (f" or the '{self.admin_role}' role" if self.admin_role else ""),
            required_scope=self.admin_scope,
        )

    def session(self, request: Request) -> ConsoleSession:
        """The request's live session; raises SignInRequired."""
        session = self.cookies.read(request)
        if session is None:
            raise SignInRequired
        return session

    def url(self, request: Request, path: str) -> str:
        """The absolute URL of ``path`` as browsers reach the gateway."""
        base = self.public_url or str(request.base_url)
        return base.rstrip("/") + path


class SignInRequired(Exception):
    """The request has no live session; the browser goes to the login page."""


class ActionRefused(Exception):
    """A console action came without a valid CSRF token (or with an unreadable form)."""


async def read_form(request: Request) -> dict[str, list[str]]:
    """The URL-encoded form of a console POST, read only after the session was checked (or, for
    the login form, bounded by MAX_FORM_BYTES)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise ActionRefused("a console action is a URL-encoded form")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ActionRefused("the form is too large")
    try:
        pairs = parse_qsl(
            body.decode(), max_num_fields=MAX_FORM_FIELDS, strict_parsing=False, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise ActionRefused("the form is not readable") from None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


async def checked_form(request: Request, session: ConsoleSession) -> dict[str, list[str]]:
    """The form of an action, or ActionRefused when its CSRF token is not the session's."""
    form = await read_form(request)
    token = form.get("csrf", [None])[0]
    if not session.csrf_matches(token):
        raise ActionRefused("the form's CSRF token is missing or not this session's")
    return form
