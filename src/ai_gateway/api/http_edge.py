"""Limits on request headers, enforced by the HTTP protocol before the application sees a request.

uvicorn bounds neither the size nor the number of header fields on its httptools parser, and it
has no deadline for a request's headers: its keep-alive timer runs only between requests, so a
client that trickles a header line now and then keeps its connection (and a file descriptor)
forever. This protocol adds all three (ADR 0016):

- the headers of a request must be complete ``read_timeout`` seconds after the connection opened or
  after the first byte that follows the previous request (even a bare line break, which the parser
  skips without beginning a request); otherwise the connection is closed, with a 408 when part of a
  request had arrived;
- a request line and header fields of more than ``max_bytes`` (counted as they arrive, so an
  unfinished header cannot grow without bound either), or more than ``max_count`` header fields,
  answer 431 and close the connection.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True, slots=True)
class HeaderLimits:
    max_bytes: int = 32 * 1024
    max_count: int = 100
    read_timeout: float = 10.0


class _Refused(Exception):
    """Raised inside the parser to stop it; the protocol then answers ``status``."""


def _answer(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps(
        {
            "type": "urn:ai-gateway:problem:request-headers",
            "title": reason,
            "status": status,
            "detail": detail,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _too_large(detail: str) -> bytes:
    return _answer(431, "Request Header Fields Too Large", detail)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``limits`` on every request's headers."""

    limits = HeaderLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._refusal: bytes | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._header_count = self._header_size = 0
        self._reading_headers = True
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:
            self._header_bytes += len(data)
            # the parser skips line breaks between requests without beginning a message
            self._start_header_timer()
        super().data_received(data)
        if self._reading_headers and self._header_bytes > self.limits.max_bytes:
            self._refuse(_too_large(f"the request headers exceed {self.limits.max_bytes} bytes"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_header_timer()

    def on_url(self, url: bytes) -> None:
        self._header_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # bytes received cannot tell a header block that arrived whole, with its body, in one read
        self._header_count += 1
        self._header_size += len(name) + len(value) + 4
        if self._header_count > self.limits.max_count:
            self._refusal = _too_large(
                f"a request may carry at most {self.limits.max_count} header fields"
            )
            raise _Refused
        if self._header_size > self.limits.max_bytes:
            self._refusal = _too_large(f"the request headers exceed {self.limits.max_bytes} bytes")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        self._reading_headers = False
        self._header_bytes = self._header_count = self._header_size = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_headers = True

    def send_400_response(self, msg: str) -> None:
        # the parser reports an exception from a callback as a malformed request
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._refuse(self._refusal)

    def _start_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.limits.read_timeout, self._too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._header_bytes == 0:
            self.transport.close()
            return
        detail = f"the request headers did not arrive within {self.limits.read_timeout:g} s"
        self._refuse(_answer(408, "Request Timeout", detail))

    def _refuse(self, answer: bytes) -> None:
        self._stop_header_timer()
        self._reading_headers = False
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()


def guarded_protocol(limits: HeaderLimits) -> type[GuardedHttpProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``), bound to ``limits``."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})
