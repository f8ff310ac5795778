"""Outbound HTTP to user-supplied URLs, guarded against server-side request forgery.

For every URL, and again for every redirect:
- only ``http`` and ``https``, without credentials in the URL;
- the host is resolved here, and *every* address must be permitted (``egress_addresses``: public,
  or in a network of the allow-list); one bad address refuses the URL (no DNS-rebinding lottery);
- the connection goes to the vetted address itself; the name travels in the Host header and in
  TLS SNI, so the certificate is still checked against the name;
- connect and read timeouts, an overall deadline, a byte cap on the streamed body.

A credential the gateway adds is asked for on every hop, and only while every hop so far stayed on
the origin of the URL first named: a redirect to another origin is followed without it, and so is
the rest of the chain, even a redirect back into that origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx

from ai_gateway.application.errors import PermanentFailure, TransientFailure
from ai_gateway.integration.egress_addresses import IPAddress, IPNetwork, address_permitted
from ai_gateway.integration.retry_after import retry_after

logger = logging.getLogger("ai_gateway.egress")

REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

Credentials = Callable[[httpx.URL], Awaitable[Mapping[str, str]]]
"""The headers that authenticate a request to this URL; empty where the credential does not go."""


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port, the default port written out, so equal origins compare equal."""
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


class EgressRefused(PermanentFailure):
    def __init__(self, detail: str) -> None:
        super().__init__("url_refused", detail)


# A name that does not exist and one that resolves to an internal address look alike to the
# caller, so a URL cannot probe which internal names exist; the log tells the operator which.
_NO_SUCH_NAME: Final = frozenset(
    {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
)


def _unreachable(host: str) -> EgressRefused:
    return EgressRefused(
        f"{host} cannot be reached from the gateway; give a URL that is reachable from the internet"
    )


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    allow_networks: tuple[IPNetwork, ...] = ()
    max_redirects: int = 3
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class Fetched:
    content: bytes
    content_type: str
    url: str


@dataclass(slots=True)
class _Target:
    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


class SafeHttp:
    def __init__(self, http: httpx.AsyncClient, policy: EgressPolicy) -> None:
        self._http = http
        self._policy = policy

    def permitted(self, address: IPAddress) -> bool:
        return address_permitted(address, self._policy.allow_networks)

    async def vet(self, url: str | httpx.URL) -> _Target:
        """Where to connect for ``url``, or EgressRefused."""
        parsed = _url(url)
        if parsed.scheme not in {"http", "https"}:
            raise EgressRefused(f"the scheme {parsed.scheme!r} is not allowed")
        if parsed.userinfo:
            raise EgressRefused("credentials in URLs are not allowed")
        host = parsed.host
        if not host:
            raise EgressRefused("the URL has no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await self._resolve(host, port)
        refused = [a for a in addresses if not self.permitted(a)]
        if refused:
            logger.warning("egress refused: %s resolves to %s", host, refused[0])
            raise _unreachable(host)
        chosen = addresses[0]
        target = _Target(parsed.copy_with(host=str(chosen)))
        if parsed.host != str(chosen):
            default_port = parsed.port is None
            target.headers["Host"] = host if default_port else f"{host}:{port}"
            if parsed.scheme == "https":
                target.extensions["sni_hostname"] = host
        return target

    @staticmethod
    async def _resolve(host: str, port: int) -> Sequence[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except UnicodeError:  # a label over 63 characters or one IDNA cannot encode
            raise EgressRefused(f"{host[:200]!r} is not a valid host name") from None
        except OSError as exc:
            logger.warning("egress: %s could not be resolved: %s", host, exc)
            if getattr(exc, "errno", None) in _NO_SUCH_NAME:
                raise _unreachable(host) from None
            raise TransientFailure(
                "dns_failed", f"the name {host} could not be resolved now; the gateway tries again"
            ) from None
        found: list[IPAddress] = []
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        if not found:
            logger.warning("egress: %s has no address", host)
            raise _unreachable(host)
        return found

    def _timeout(self) -> httpx.Timeout:
        p = self._policy
        return httpx.Timeout(p.read_timeout, connect=p.connect_timeout)

    async def get(
        self, url: str, *, max_bytes: int, credentials: Credentials | None = None
    ) -> Fetched:
        """GET ``url``, following at most ``max_redirects`` redirects, each vetted again."""
        try:
            async with asyncio.timeout(self._policy.total_timeout):
                return await self._follow(url, max_bytes, credentials)
        except TimeoutError:
            raise TransientFailure(
                "timeout", f"the download took longer than {self._policy.total_timeout:g} s"
            ) from None

    async def _follow(self, url: str, max_bytes: int, credentials: Credentials | None) -> Fetched:
        first = current = _url(url)
        authenticated = True
        for _ in range(self._policy.max_redirects + 1):
            target = await self.vet(current)
            # sticky: once a hop has left the origin, a way back into it earns nothing
            authenticated = authenticated and origin(first) == origin(current)
            request = self._http.build_request(
                "GET",
                target.url,
                headers={
                    **(await credentials(current) if credentials and authenticated else {}),
                    **target.headers,
                },
                extensions={**target.extensions, "timeout": self._timeout().as_dict()},
            )
            response = await self._send(request)
            try:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    current = _url(current, response.headers["location"])
                    continue
                _raise_for_status(response, "download")
                content = await _read_capped(response, max_bytes)
            finally:
                await response.aclose()
            return Fetched(content, response.headers.get("content-type", ""), str(current))
        raise PermanentFailure(
            "too_many_redirects", f"more than {self._policy.max_redirects} redirects"
        )

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeout_seconds: float,
        credentials: Credentials | None = None,
    ) -> httpx.Response:
        """POST without following redirects (a 3xx is the answer); the body is read in full."""
        parsed = _url(url)
        target = await self.vet(parsed)
        request = self._http.build_request(
            "POST",
            target.url,
            content=content,
            headers={
                **headers,
                **(await credentials(parsed) if credentials else {}),
                **target.headers,
            },
            extensions={**target.extensions, "timeout": httpx.Timeout(timeout_seconds).as_dict()},
        )
        try:
            async with asyncio.timeout(timeout_seconds + 1):
                response = await self._send(request)
                try:
                    with contextlib.suppress(PermanentFailure):  # only the status matters
                        await _read_capped(response, 64 * 1024)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise TransientFailure(
                "timeout", f"{target.url.host} did not answer within {timeout_seconds:g} s"
            ) from None
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # the URL holds the vetted address; the caller knows the host by the name it gave
        name = request.headers.get("host", request.url.host)
        try:
            return await self._http.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise TransientFailure(
                "timeout", f"{name} did not answer in time; the gateway tries again later"
            ) from exc
        except httpx.HTTPError as exc:
            logger.warning("egress: connecting to %s (%s) failed: %s", name, request.url.host, exc)
            raise TransientFailure(
                "connection_failed",
                f"{name} could not be reached; the gateway tries again later",
            ) from exc


def _url(url: str | httpx.URL, location: str | None = None) -> httpx.URL:
    """``url``, or ``location`` resolved against it, or EgressRefused when either is no URL."""
    try:
        parsed = httpx.URL(url)
        return parsed if location is None else parsed.join(location)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise EgressRefused(f"not a valid URL: {exc}") from None


def _raise_for_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    detail = f"the {what} answered HTTP {status}"
    if status in {408, 425, 429} or status >= 500:
        raise TransientFailure(f"{what}_failed", detail, retry_after=retry_after(response))
    raise PermanentFailure(f"{what}_failed", detail)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PermanentFailure("data_too_large", f"{declared} bytes, the limit is {max_bytes}")
    chunks: list[bytes] = []
    received = 0
    try:
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise PermanentFailure("data_too_large", f"more than {max_bytes} bytes")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise TransientFailure("timeout", "the server stopped sending") from exc
    except httpx.HTTPError as exc:
        raise TransientFailure(
            "connection_failed", "the transfer broke off; the gateway tries again later"
        ) from exc
    return b"".join(chunks)
