"""A CloudEvents sink that answers at once, for bench.event_relay: a bare ASGI app, no framework.

It keeps each event's subject and type (structured, binary or batched) and writes them, in the order
received, to the file named by ``SINK_LOG`` when it shuts down.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]

_received: list[str] = []


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    if b"ce-subject" in headers:
        _received.append(f"{headers[b'ce-subject'].decode()} {headers[b'ce-type'].decode()}")
    elif body:
        sent = json.loads(body)
        events = sent if isinstance(sent, list) else [sent]
        _received.extend(f"{event['subject']} {event['type']}" for event in events)
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _lifespan(
    receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            with open(os.environ["SINK_LOG"], "w") as log:
                log.write("\n".join(_received))
            await send({"type": "lifespan.shutdown.complete"})
            return
