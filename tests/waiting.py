"""Waiting for a condition with a deadline, instead of sleeping for a guessed time."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.02
# How long a server the suite starts may take to answer. Generous: it is only reached when the
# server never comes up, and a busy machine can take tens of seconds to import and bind.
STARTUP_SECONDS = 120.0
# How long real processes may take to settle prompts whose own deadlines are seconds: the bound
# only says when to give up, the assertions after it say what settling means.
SETTLE_SECONDS = 120.0


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls ``predicate`` (an OSError counts as not yet) until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if predicate():
                return
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{what} not ready after {timeout} s")


async def until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10, what: str = "condition"
) -> None:
    """Polls ``predicate`` (plain or async) without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        held = predicate()
        if await held if inspect.isawaitable(held) else held:
            return
        assert time.monotonic() < deadline, f"{what} not met after {timeout} s"
        await asyncio.sleep(POLL_SECONDS)
