"""JSON as RFC 8259 defines it, at the door: no NaN or Infinity, and no unbounded nesting.

Python's ``json`` module reads ``NaN``, ``Infinity`` and ``1e400`` (as infinity), none of which is
JSON, and nests until the interpreter's recursion limit, where it raises ``RecursionError``.
It also reads UTF-16 and UTF-32, which RFC 8259 (section 8.1) excludes and which the
byte-level checks below could not see through. ``StrictJsonBodies`` refuses such bodies with 400
before any route reads them, whatever the route: every body FastAPI reads as JSON (no media type,
or one whose subtype is ``json`` or ends in ``+json``, judged as FastAPI judges it) and any
``text/json``. A small body with few brackets (``PARSED_AT_THE_DOOR``) is parsed here, strictly,
and a route that reads its body with ``DirectRoute`` takes the value from the scope instead of
parsing it again; in a larger one, only what may hold what ``json`` reads and JSON does not is
parsed here (``screen``), and the route parses it. A CloudEvent in binary mode names its data's type
in ``ce-datacontenttype``, which the events route checks with ``loads`` itself. Bodies that are
merely not JSON are left to the route, which answers as it documents.

The body of a request without credentials is withheld from the application: every route that takes
a body needs credentials, and FastAPI would parse the body before the route's dependencies refuse
the caller, handing anyone the CPU cost of a megabyte of JSON per request. One exception: the
operator console's forms (URL-encoded, under ``/console/``), whose caller is known by a cookie,
not a header, and which the console reads itself, bounded, only after checking that cookie (the
login form, which has none, reads at most a few kilobytes); FastAPI parses none of them.
"""

from __future__ import annotations

import email.message
import functools
import json
import re
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_gateway.json_values import MalformedJson, finite, no_constant

MAX_DEPTH: Final = 32
"""Objects and arrays nested deeper than this are refused; prompts and events need a handful."""
PARSED_AT_THE_DOOR: Final = 16 * 1024
"""A body up to this size with no more brackets than the depth allowed (strings included) cannot
nest too deep: it is parsed at once, with every float checked, instead of having its strings cut
out first to find its depth and its numbers, and its route takes the value (ADR 0038). The bound
keeps the check of every float, three times the parse, small."""
SCREENED: Final = "ai_gateway.screened_json"
"""The scope's key for a body ``StrictJsonBodies`` parsed: ``(the bytes, their value)``."""
UNPARSED: Final = object()
"""What ``screen`` returns for a body it left to its route to parse."""

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_EXPONENT = re.compile(rb"[0-9][eE]")
_LONG_DIGITS = re.compile(rb"[0-9]{300,}")  # two searches are twice as fast as one alternation
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
CONSOLE_FORMS: Final = "/console/"
_BODILESS: Final = frozenset({"GET", "HEAD"})  # no route of these methods reads a body
_NO_BODY: Final[Message] = {"type": "http.request", "body": b"", "more_body": False}


def _depth(skeleton: bytes, limit: int) -> int | None:
    """How deep ``skeleton`` (JSON without its strings) nests, counted up to ``limit + 1``,
    peeling innermost pairs at C speed instead of recursing; None when its brackets do not
    pair up (not JSON, which the parser reports)."""
    brackets = skeleton.translate(None, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:
        # One level a turn: a removed pair leaves a mark until both kinds are peeled, or "{[]}"
        # would lose its "[]" and then the "{}" that closed up, two levels in one turn.
        peeled = brackets.replace(b"[]", b"-").replace(b"{}", b"-").replace(b"-", b"")
        if peeled == brackets:
            return None
        brackets = peeled
        depth += 1
    return depth


def _utf8(raw: bytes) -> None:
    if b"\x00" in raw[:2] or raw.startswith(_UTF16_MARKS):  # what json.loads reads as UTF-16/32
        raise MalformedJson("JSON text is encoded as UTF-8")


def _parsed_at_once(raw: bytes, max_depth: int) -> bool:
    return len(raw) <= PARSED_AT_THE_DOOR and raw.count(b"[") + raw.count(b"{") <= max_depth


def _skeleton(raw: bytes, max_depth: int) -> tuple[bytes, bool]:
    """``raw`` without its strings, once its depth is checked, and whether its brackets pair
    up."""
    skeleton = _STRINGS.sub(b"", raw)
    depth = _depth(skeleton, max_depth)
    if depth is not None and depth > max_depth:
        raise MalformedJson(f"the JSON nests deeper than {max_depth} levels")
    return skeleton, depth is not None


def _huge(skeleton: bytes) -> bool:
    """Whether a number may overflow to infinity."""
    return bool(_EXPONENT.search(skeleton) or _LONG_DIGITS.search(skeleton))


def _parse(raw: bytes, *, huge: bool) -> Any:
    # a float hook costs a call per number (3x the parse): only bodies that may overflow, and
    # small ones parsed at the door, pay it
    parse_float = finite if huge else float
    try:
        return json.loads(raw, parse_constant=no_constant, parse_float=parse_float)
    except MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedJson("the body is not valid JSON") from exc


def loads(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``body`` parsed as strict JSON, or MalformedJson."""
    raw = body.encode() if isinstance(body, str) else body
    value = screen(raw, max_depth=max_depth)
    # left unparsed by the screen: paired, and no number in it can overflow
    return _parse(raw, huge=False) if value is UNPARSED else value


def screen(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Raises MalformedJson for what ``loads`` refuses; returns the body's value when it parsed
    it, else ``UNPARSED``. It parses a small body with few brackets (``PARSED_AT_THE_DOOR``), and
    any other only when it may hold NaN, Infinity or a number out of range (no JSON token
    outside a string has an ``N`` or an ``I``), or when its brackets do not pair up (the parser
    may recurse without bound); the rest is left for its route to parse, once."""
    _utf8(body)
    if _parsed_at_once(body, max_depth):
        return _parse(body, huge=True)
    skeleton, paired = _skeleton(body, max_depth)
    huge = _huge(skeleton)
    if not paired or b"N" in skeleton or b"I" in skeleton or huge:
        return _parse(body, huge=huge)
    return UNPARSED


def _request_head(scope: Scope) -> tuple[bool, str | None, bool]:
    """Whether the request carries credentials, its first content type, and whether it has a
    body (HTTP/1.1 frames one only with Content-Length or Transfer-Encoding)."""
    media: str | None = None
    credentials = framed = False
    for name, value in scope["headers"]:
        if name == b"content-type" and media is None:
            media = value.decode("latin-1")
        elif name in (b"authorization", b"x-api-key"):
            credentials = True
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            framed = True
    return credentials, media, framed


def _console_form(scope: Scope) -> bool:
    """A form posted to the operator console (see the module's docstring)."""
    path: str = scope.get("path", "")
    if scope.get("method") != "POST" or not path.startswith(CONSOLE_FORMS):
        return False
    _, media, _ = _request_head(scope)
    return (media or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


@functools.lru_cache(maxsize=64)
def media_type(media: str) -> tuple[str, str]:
    """A ``Content-Type``'s main type and subtype, parsed as FastAPI parses them. Clients send a
    handful of media types, and parsing one as a MIME header costs 4 µs a request."""
    message = email.message.Message()
    message["content-type"] = media
    return message.get_content_maintype(), message.get_content_subtype()


def json_subtype(subtype: str) -> bool:
    return subtype == "json" or subtype.endswith("+json")


def declares_json(media: str) -> bool:
    """Whether a body of this media type is read as JSON (FastAPI's ``application/*``, and
    ``text/json``)."""
    if not media:
        return True
    main, subtype = media_type(media)
    return main in ("application", "text") and json_subtype(subtype)


class StrictJsonBodies:
    """Answers 400 (problem+json) to a JSON body that nests too deep or holds NaN or Infinity."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _console_form(scope):
            await self.app(scope, receive, send)
            return
        credentials, media, framed = _request_head(scope)
        if not framed and scope["method"] in _BODILESS:  # a read, and nothing to screen
            await self.app(scope, receive, send)
        elif not credentials:
            # FastAPI parses a body before a route's dependencies authenticate the caller
            await self.app(scope, _replay([dict(_NO_BODY)], receive), send)
        elif media is not None and not declares_json(media):
            await self.app(scope, receive, send)
        else:
            await self._screened(scope, receive, send)

    async def _screened(self, scope: Scope, receive: Receive, send: Send) -> None:
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
                value = screen(body, max_depth=self.max_depth)
            except MalformedJson as exc:
                if not isinstance(exc.__cause__, json.JSONDecodeError | UnicodeDecodeError):
                    await _refuse(send, str(exc))
                    return
            else:
                if value is not UNPARSED:
                    scope[SCREENED] = (body, value)
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
