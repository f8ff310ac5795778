"""A server's ``Retry-After``, read the same way by every outbound call (data, GenAI, callbacks)."""

from __future__ import annotations

import httpx


def retry_after(response: httpx.Response) -> float | None:
    """The seconds the server asks for (RFC 9110 delay-seconds), or None.

    An HTTP-date, a sign, a fraction or non-ASCII digits give None: the caller's own backoff then
    decides, which is safer than guessing what the server meant.
    """
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isascii() and value.isdigit() else None
