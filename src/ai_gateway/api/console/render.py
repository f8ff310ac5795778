"""Rendering console pages: Jinja2 templates from the package, every value escaped.

Autoescaping is on for every template, and no template marks a value safe: a prompt's content or
answer is text wherever it appears, whatever markup it holds. Times are shown in UTC, with how
long ago they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ai_gateway.api.console.session import ConsoleSession, SessionCookies
from ai_gateway.domain.events import lifecycle_steps, prompt_event_type

_environment = Environment(
    loader=PackageLoader("ai_gateway.api.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def utc(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago (or how soon) ``moment`` is, in the largest whole unit."""
    if moment is None:
        return ""
    delta = (now or datetime.now(UTC)) - moment
    future = delta < timedelta(0)
    seconds = int(abs(delta.total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{seconds // size} {unit}"
            break
    else:
        if seconds < 5:
            return "just now"
        amount = f"{seconds} s"
    return f"in {amount}" if future else f"{amount} ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


_environment.filters.update(utc=utc, iso=iso, ago=ago, duration=duration)


def page_html(template: str, **context: Any) -> str:
    """A page no session is needed for (an error page)."""
    return _environment.get_template(template).render(session=None, path="", **context)


class Pages:
    """Renders a page for a signed-in operator, stamping the session anew (its idle time starts
    again with every page). Every page's times are reckoned from one ``now``."""

    def __init__(self, cookies: SessionCookies, event_prefix: str | None = None) -> None:
        """``event_prefix``: the lifecycle events' type prefix; None when none are published."""
        self._cookies = cookies
        self._event_prefix = event_prefix

    def lifecycle_events(self, statuses: Sequence[str]) -> tuple[str, ...]:
        """The type of the CloudEvent published on entering each of ``statuses``; none when
        the gateway publishes no events."""
        prefix = self._event_prefix
        if prefix is None:
            return ()
        return tuple(prompt_event_type(prefix, step) for step in lifecycle_steps(statuses))

    def render(
        self,
        request: Request,
        session: ConsoleSession | None,
        template: str,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = _environment.get_template(template).render(
            session=session, path=request.url.path, now=datetime.now(UTC), **context
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        if session is not None:
            self._cookies.keep(request, response, session)
        return response
