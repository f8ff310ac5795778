"""The IETF ``RateLimit-Policy`` and ``RateLimit`` header fields (draft-ietf-httpapi-ratelimit-
headers, structured-field lists: a policy per list member, named by a string).

- ``"requests";q=600;w=60``: creations per window, with ``r`` remaining and ``t`` seconds until
  the quota is whole again;
- ``"in-flight";q=50;qu="concurrent-requests"``: prompts not yet final, with ``r`` remaining.

The token budget is told in the problem body and by ``GET /api/me/limits``: tokens are no quota
unit the draft registers.
"""

from __future__ import annotations

from ai_gateway.application.ports.limits import Standing


def rate_limit_headers(standing: Standing | None) -> dict[str, str]:
    """The two header fields for a caller's standing; none when it has no such limit."""
    if standing is None:
        return {}
    policies, states = [], []
    rate = standing.limits.requests
    if rate is not None and standing.requests_remaining is not None:
        policies.append(f'"requests";q={rate.count};w={rate.seconds}')
        reset = standing.requests_reset_seconds or 0
        states.append(f'"requests";r={standing.requests_remaining};t={reset}')
    cap, remaining = standing.limits.in_flight, standing.in_flight_remaining
    if cap is not None and remaining is not None:
        policies.append(f'"in-flight";q={cap};qu="concurrent-requests"')
        states.append(f'"in-flight";r={remaining}')
    if not policies:
        return {}
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}
