"""CreationShare: creations are held to so many at once; every other request passes."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Receive, Scope, Send

from ai_gateway.api.creation_share import CreationShare
from tests.waiting import until


class HeldApp:
    """An ASGI app whose requests stay under way until released, counting those under way."""

    def __init__(self) -> None:
        self.under_way = 0
        self.most = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.under_way += 1
        self.most = max(self.most, self.under_way)
        await self.release.wait()
        self.under_way -= 1


def http(method: str, path: str) -> Scope:
    return {"type": "http", "method": method, "path": path}


async def nothing() -> dict[str, str]:
    return {}


async def ignore(_message: object) -> None:
    return None


async def test_creations_beyond_the_share_wait_their_turn_and_all_get_one() -> None:
    app = HeldApp()
    share = CreationShare(app, at_once=3)
    paths = ["/api/prompts", "/api/prompts/item", "/api/prompts/"] * 3
    requests = [asyncio.create_task(share(http("POST", p), nothing, ignore)) for p in paths]

    await until(lambda: app.under_way == 3, what="three creations under way")
    await asyncio.sleep(0.01)
    assert app.under_way == 3
    app.release.set()
    await asyncio.gather(*requests)

    assert app.most == 3
    assert app.under_way == 0


async def test_reads_and_other_writes_are_not_held() -> None:
    app = HeldApp()
    share = CreationShare(app, at_once=1)
    scopes = [
        http("POST", "/api/prompts"),
        http("GET", "/api/prompts"),
        http("POST", "/api/prompts/p-1/cancel"),
        http("GET", "/api/app/ready"),
        {"type": "lifespan"},
    ]
    requests = [asyncio.create_task(share(s, nothing, ignore)) for s in scopes]

    await until(lambda: app.under_way == len(scopes), what="every request under way")
    app.release.set()
    await asyncio.gather(*requests)


async def test_a_turn_is_given_back_when_its_creation_fails_or_its_wait_is_cancelled() -> None:
    held = HeldApp()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("fails"):  # as the route does when its client went away while waiting
            raise RuntimeError("the client went away")
        await held(scope, receive, send)

    share = CreationShare(app, at_once=1)
    holder = asyncio.create_task(share(http("POST", "/api/prompts"), nothing, ignore))
    await until(lambda: held.under_way == 1, what="the turn taken")
    cancelled = asyncio.create_task(share(http("POST", "/api/prompts"), nothing, ignore))
    failed = asyncio.create_task(
        share({**http("POST", "/api/prompts"), "fails": True}, nothing, ignore)
    )
    last = asyncio.create_task(share(http("POST", "/api/prompts"), nothing, ignore))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    held.release.set()

    await holder
    with pytest.raises(RuntimeError):
        await failed
    await asyncio.wait_for(last, 5)
    assert cancelled.cancelled()
    assert held.most == 1
