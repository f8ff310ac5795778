"""How long a GenAI service that refused for its rate limit asks us to wait, when it says so in
rate-limit headers rather than ``Retry-After``:

- the IETF ``RateLimit`` field (``"default";r=0;t=30``: the quota ``r`` left, ``t`` seconds to
  its reset) and the older ``RateLimit-Reset`` (delay seconds);
- OpenAI's ``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens`` (durations such as
  ``1s``, ``6m0s``, ``250ms``), for the quota whose ``x-ratelimit-remaining-*`` is spent.
"""

from __future__ import annotations

import re

import httpx

_ITEM_PARAMS = re.compile(r";\s*([a-z]+)\s*=\s*([0-9]+)")
_DURATION = re.compile(r"^(?:([0-9]+)h)?(?:([0-9]+)m(?!s))?(?:([0-9.]+)s)?(?:([0-9]+)ms)?$")
_OPENAI_QUOTAS = ("requests", "tokens")


def rate_limit_wait(response: httpx.Response) -> float | None:
    """The seconds until the spent quota resets, from the response's rate-limit headers; None
    when they say nothing usable."""
    for read in (_ietf, _ietf_reset, _openai):
        seconds = read(response.headers)
        if seconds is not None:
            return seconds
    return None


def _ietf(headers: httpx.Headers) -> float | None:
    """The longest reset among the quotas the ``RateLimit`` field says are spent (``r=0``)."""
    waits = []
    for item in headers.get_list("ratelimit", split_commas=True):
        params = dict(_ITEM_PARAMS.findall(item))
        if params.get("r") == "0" and "t" in params:
            waits.append(float(params["t"]))
    return max(waits) if waits else None


def _ietf_reset(headers: httpx.Headers) -> float | None:
    value = headers.get("ratelimit-reset", "").strip()
    return float(value) if value.isascii() and value.isdigit() else None


def _openai(headers: httpx.Headers) -> float | None:
    waits = []
    for quota in _OPENAI_QUOTAS:
        if headers.get(f"x-ratelimit-remaining-{quota}", "").strip() != "0":
            continue
        seconds = duration(headers.get(f"x-ratelimit-reset-{quota}", ""))
        if seconds is not None:
            waits.append(seconds)
    return max(waits) if waits else None


def duration(text: str) -> float | None:
    """``1h2m3.5s``, ``6m0s``, ``250ms``, ``20s`` as seconds; None for anything else."""
    match = _DURATION.fullmatch(text.strip()) if text.strip() else None
    if match is None:
        return None
    hours, minutes, seconds, millis = match.groups()
    try:
        return (
            int(hours or 0) * 3600
            + int(minutes or 0) * 60
            + float(seconds or 0)
            + int(millis or 0) / 1000
        )
    except ValueError:  # "1.2.3s"
        return None
