"""How many creations one process handles at once, when its event loop also runs the worker
(ADR 0031).

asyncio runs whatever is ready in turn, so a process's loop is shared by what is under way in it:
each request in progress and each job running takes its turns. Left alone, a busy API has as many
creations under way as its clients have connections, and the worker beside it gets a share too
small to drain what they create. Held to ``at_once`` creations, the API's share no longer grows
with its clients; the others wait here, before anything is read or parsed, costing the loop
nothing until their turn.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

CREATION_PATHS = frozenset({"/api/prompts", "/api/prompts/item"})


class CreationShare:
    """ASGI middleware: at most ``at_once`` creations (``POST`` to a creation path) at once; the
    others wait their turn, first come first served. Every other request passes."""

    def __init__(self, app: ASGIApp, *, at_once: int) -> None:
        self.app = app
        self._turns = asyncio.Semaphore(at_once)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") not in CREATION_PATHS
        ):
            await self.app(scope, receive, send)
            return
        async with self._turns:
            await self.app(scope, receive, send)
