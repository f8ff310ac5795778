"""Signing in to the console and out of it.

Two ways in, both ending in the same session: an API key with the admin scope typed into the
login form, or the identity provider's own login page (authorization code with PKCE), after which
the access token the provider issued is checked exactly as the API checks bearer tokens. Either
way only an operator (``ConsoleAccess.admit``) gets a session. The login form carries a token
bound to a cookie of its own, so no other site can sign a browser in under its own key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from dishka import FromDishka
from dishka.integrations.fastapi import DishkaRoute
from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ai_gateway.api.console.access import ConsoleAccess, checked_form, read_form
from ai_gateway.api.console.render import Pages
from ai_gateway.api.console.session import SignIn
from ai_gateway.application.errors import DependencyUnavailable, Forbidden, Unauthenticated
from ai_gateway.application.principal import Principal

router = APIRouter(prefix="/console", route_class=DishkaRoute, include_in_schema=False)

CALLBACK_PATH = "/console/auth/callback"


def _login_page(
    request: Request,
    access: ConsoleAccess,
    pages: Pages,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = pages.render(
        request, None, "login.html", status_code=status_code, error=error, token=token,
        oidc=access.oidc is not None, keys=access.key_sign_in,
    )  # fmt: skip
    access.cookies.begin_sign_in(request, response, SignIn(token))
    return response


def _signed_in(request: Request, access: ConsoleAccess, principal: Principal) -> Response:
    session = access.cookies.start(principal)
    response = RedirectResponse("/console/", status_code=status.HTTP_303_SEE_OTHER)
    access.cookies.keep(request, response, session)
    access.cookies.end_sign_in(response)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, access: FromDishka[ConsoleAccess], pages: FromDishka[Pages]
) -> Response:
    if access.cookies.read(request) is not None:
        return RedirectResponse("/console/", status_code=status.HTTP_303_SEE_OTHER)
    return _login_page(request, access, pages)


@router.post("/login", response_class=HTMLResponse)
async def login_with_key(
    request: Request, access: FromDishka[ConsoleAccess], pages: FromDishka[Pages]
) -> Response:
    """The login form: an API key with the admin scope."""
    pending = access.cookies.sign_in(request)
    form = await read_form(request)
    token = form.get("token", [""])[0]
    if pending is None or not hmac.compare_digest(token, pending.token):
        return _login_page(
            request, access, pages, status_code=400,
            error="The sign-in form expired. Please enter the key again.",
        )  # fmt: skip
    principal = access.keys.authenticate(form.get("api_key", [""])[0].strip())
    if principal is None or not access.key_sign_in:
        return _login_page(
            request, access, pages, status_code=401,
            error="That API key is not valid. Check it and try again.",
        )  # fmt: skip
    try:
        return _signed_in(request, access, access.admit(principal))
    except Forbidden as exc:
        return _login_page(request, access, pages, status_code=403, error=str(exc))


@router.get("/auth/start")
async def sign_in_with_provider(request: Request, access: FromDishka[ConsoleAccess]) -> Response:
    """Sends the browser to the identity provider's login page (PKCE, S256)."""
    if access.oidc is None:
        return RedirectResponse("/console/login", status_code=status.HTTP_303_SEE_OTHER)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    pending = SignIn(
        token=secrets.token_urlsafe(24),
        state=secrets.token_urlsafe(24),
        verifier=verifier,
        redirect_uri=access.url(request, CALLBACK_PATH),
    )
    assert pending.state is not None  # noqa: S101 - set just above
    assert pending.redirect_uri is not None  # noqa: S101 - set just above
    url = await access.oidc.authorization_url(
        state=pending.state,
        challenge=challenge.rstrip(b"=").decode(),
        redirect_uri=pending.redirect_uri,
    )
    response = RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
    access.cookies.begin_sign_in(request, response, pending)
    return response


@router.get("/auth/callback", response_class=HTMLResponse)
async def provider_callback(
    request: Request,
    access: FromDishka[ConsoleAccess],
    pages: FromDishka[Pages],
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """Where the identity provider sends the browser back with a code."""
    pending = access.cookies.sign_in(request)
    if error is not None or access.oidc is None or code is None or state is None:
        return _login_page(
            request, access, pages, status_code=401,
            error="The identity provider did not sign you in. Try again.",
        )  # fmt: skip
    if pending is None or pending.state is None or not hmac.compare_digest(state, pending.state):
        return _login_page(
            request, access, pages, status_code=400,
            error="This sign-in was not started here, or it expired. Please sign in again.",
        )  # fmt: skip
    try:
        token = await access.oidc.access_token(
            code=code, verifier=pending.verifier or "", redirect_uri=pending.redirect_uri or ""
        )
        principal = access.admit(await access.bearer.authenticate(token))
    except (Unauthenticated, Forbidden) as exc:
        return _login_page(request, access, pages, status_code=403, error=str(exc))
    except DependencyUnavailable:
        return _login_page(
            request, access, pages, status_code=503,
            error="The identity provider cannot be reached now. Try again in a moment.",
        )  # fmt: skip
    session = access.cookies.start(principal)
    # A SameSite=Strict cookie set on a cross-site redirect is not sent on the redirect's next
    # hop; a page of our own that moves on is a same-site navigation, so the session is.
    response = pages.render(request, session, "signed_in.html")
    access.cookies.end_sign_in(response)
    return response


@router.post("/logout")
async def logout(request: Request, access: FromDishka[ConsoleAccess]) -> Response:
    session = access.session(request)
    await checked_form(request, session)
    response = RedirectResponse("/console/login", status_code=status.HTTP_303_SEE_OTHER)
    access.cookies.end(response)
    return response
