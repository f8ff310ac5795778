"""A GenAI service's rate-limit headers, read as the wait it asks for."""

from __future__ import annotations

import httpx
import pytest

from ai_gateway.integration.genai.rate_limits import duration, rate_limit_wait


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"RateLimit": '"default";r=0;t=30'}, 30.0),
        ({"RateLimit": '"minute";r=5;t=40, "day";r=0;t=3600'}, 3600.0),
        ({"RateLimit": '"default";r=3;t=30'}, None),
        ({"RateLimit-Reset": "12"}, 12.0),
        ({"RateLimit-Reset": "-1"}, None),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, 1.0),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "250ms",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "6m0s",
            },
            360.0,
        ),
        ({"x-ratelimit-remaining-tokens": "10", "x-ratelimit-reset-tokens": "6m0s"}, None),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "soon"}, None),
        ({}, None),
    ],
)
def test_the_wait_is_read_from_the_quota_that_is_spent(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert rate_limit_wait(httpx.Response(429, headers=headers)) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h2m3.5s", 3723.5), ("20ms", 0.02), ("59s", 59.0), ("2m", 120.0), ("1.2.3s", None),
     ("", None), ("5", None), ("²s", None)],
)  # fmt: skip
def test_durations_are_read_as_openai_writes_them(text: str, seconds: float | None) -> None:
    assert duration(text) == seconds
