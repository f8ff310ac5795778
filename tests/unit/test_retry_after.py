from __future__ import annotations

import httpx
import pytest

from ai_gateway.integration.retry_after import retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-5", None),
        ("1.5", None),
        ("NaN", None),
        ("²".encode("latin-1"), None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("", None),
    ],
)
def test_only_plain_delay_seconds_are_taken_from_retry_after(
    header: str | bytes, seconds: float | None
) -> None:
    value = header if isinstance(header, bytes) else header.encode()
    response = httpx.Response(503, headers=[(b"Retry-After", value)])
    assert retry_after(response) == seconds


def test_no_retry_after_header_leaves_the_delay_to_the_caller() -> None:
    assert retry_after(httpx.Response(429)) is None
