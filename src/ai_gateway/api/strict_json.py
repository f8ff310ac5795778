"""JSON as RFC 8259 defines it, at the door: no NaN or Infinity, and no unbounded nesting.

Python's ``json`` module reads ``NaN``, ``Infinity`` and ``1e400`` (as infinity), none of which is
JSON, and nests until the interpreter's recursion limit, where it raises ``RecursionError``.
``StrictJsonBodies`` refuses such bodies with 400 before any route reads them, whatever the route:
every body sent as JSON (a JSON media type, or none, which FastAPI and the CloudEvents binary
mode both read as JSON). Bodies that are merely not JSON are left to the route, which answers as
it documents.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH: Final = 32
"""Objects and arrays nested deeper than this are refused; prompts and events need a handful."""

_JSON_MEDIA = re.compile(r"^(application|text)/([a-z0-9.\-]+\+)?json$")
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BIG_EXPONENT = re.compile(rb"[eE][+-]?0*[0-9]{3,}")
_LONG_DIGITS = re.compile(rb"[0-9]{300,}")  # two searches are twice as fast as one alternation


class MalformedJson(ValueError):
    """The body is not JSON, or is JSON this gateway refuses (400)."""


def _constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedJson(f"the number {text[:20]} is out of range")
    return value


def _depth(skeleton: bytes, limit: int) -> int:
    """How deep ``skeleton`` (JSON without its strings) nests, counted up to ``limit + 1``,
    peeling innermost pairs at C speed instead of recursing."""
    brackets = skeleton.translate(None, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:
        peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if peeled == brackets:  # unbalanced: not JSON, which the parser reports
            break
        brackets = peeled
        depth += 1
    return depth


def loads(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``body`` parsed as strict JSON, or MalformedJson."""
    raw = body.encode() if isinstance(body, str) else body
    skeleton = _STRINGS.sub(b"", raw)
    if _depth(skeleton, max_depth) > max_depth:
        raise MalformedJson(f"the JSON nests deeper than {max_depth} levels")
    # a float hook costs a call per number (3x the parse): only bodies that may overflow pay it
    huge = _BIG_EXPONENT.search(skeleton) or _LONG_DIGITS.search(skeleton)
    parse_float = _finite if huge else float
    try:
        return json.loads(raw, parse_constant=_constant, parse_float=parse_float)
    except MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedJson("the body is not valid JSON") from exc


def _declares_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return bool(_JSON_MEDIA.match(media))
    return True


class StrictJsonBodies:
    """Answers 400 (problem+json) to a JSON body that nests too deep or holds NaN or Infinity."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _declares_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                loads(body, max_depth=self.max_depth)
            except MalformedJson as exc:
                if not isinstance(exc.__cause__, json.JSONDecodeError | UnicodeDecodeError):
                    await _refuse(send, str(exc))
                    return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps(
        {
            "type": "urn:ai-gateway:problem:malformed-json",
            "title": "Bad Request",
            "status": 400,
            "detail": detail,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
