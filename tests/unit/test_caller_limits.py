"""CALLER_LIMITS and the admin endpoint's body are read by one parser, and refused when unsound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ai_gateway.api.rate_limit_headers import rate_limit_headers
from ai_gateway.application.ports.callers import CallerSeen
from ai_gateway.application.ports.limits import (
    CallerAccount,
    LimitsSource,
    Standing,
    Usage,
)
from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.domain.limits import (
    CallerLimits,
    InvalidLimits,
    Priority,
    Rate,
    parse_caller_limits,
)
from ai_gateway.settings import Settings


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("600/minute", Rate(600, 60)),
        ("10/second", Rate(10, 1)),
        ("100000/day", Rate(100_000, 86_400)),
    ],
)
def test_a_rate_reads_and_writes_back(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate
    assert str(rate) == text


@pytest.mark.parametrize(
    "text", ["0/minute", "ten/second", "5/week", "5", "-1/day", "5/", "1.5/hour"]
)
def test_a_rate_that_is_not_n_per_period_is_refused(text: str) -> None:
    with pytest.raises(InvalidLimits):
        Rate.parse(text)


def test_caller_limits_read_every_field_with_its_defaults() -> None:
    table = parse_caller_limits(
        '{"mosaic": {"requests": "600/minute", "in_flight": 50, "tokens_per_day": 2000000,'
        ' "priority": "batch", "weight": 3}, "*": {"requests": "10/second"}}'
    )
    assert table["mosaic"] == CallerLimits(Rate(600, 60), 50, 2_000_000, Priority.BATCH, 3)
    assert table["*"] == CallerLimits(requests=Rate(10, 1))
    assert table["*"].priority is Priority.INTERACTIVE
    assert CallerLimits.read(table["mosaic"].to_json()) == table["mosaic"]
    assert not CallerLimits(priority=Priority.BATCH, weight=5).restricts


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "{not json",
        '{"a": {"requests": 5}}',
        '{"a": {"in_flight": 0}}',
        '{"a": {"in_flight": true}}',
        '{"a": {"tokens_per_day": 1.5}}',
        '{"a": {"priority": "urgent"}}',
        '{"a": {"weight": 1001}}',
        '{"a": {"burst": 3}}',
        '{"a": "600/minute"}',
    ],
)
def test_unsound_caller_limits_are_refused_at_start(text: str) -> None:
    with pytest.raises(InvalidLimits):
        parse_caller_limits(text)
    with pytest.raises(ValueError, match="CALLER_LIMITS"):
        Settings(caller_limits=text)


def test_the_headers_tell_the_request_and_in_flight_policies() -> None:
    standing = Standing(
        CallerLimits(Rate(30, 60), in_flight=5, tokens_per_day=100),
        requests_remaining=12,
        requests_reset_seconds=41,
        in_flight=2,
        tokens_used=10,
    )
    assert rate_limit_headers(standing) == {
        "RateLimit-Policy": '"requests";q=30;w=60, "in-flight";q=5;qu="concurrent-requests"',
        "RateLimit": '"requests";r=12;t=41, "in-flight";r=3',
    }
    assert rate_limit_headers(Standing(CallerLimits(tokens_per_day=100), tokens_used=1)) == {}
    assert rate_limit_headers(None) == {}


def test_a_caller_seen_goes_by_the_name_its_principal_gives_its_limits() -> None:
    def seen(owner: str, method: str, client_id: str | None) -> str:
        return CallerSeen(owner, method, client_id, frozenset(), datetime.now(UTC)).caller_name

    assert seen("apikey:mosaic", "apikey", None) == "mosaic"
    assert seen("jwt:user-1", "jwt", "portal") == "portal"
    assert seen("jwt:svc", "jwt", None) == "svc"
    assert Principal("user-1", AuthMethod.JWT, client_id="portal").caller_name == "portal"


def test_a_callers_limits_come_from_an_administrator_before_the_settings() -> None:
    idle = Usage(requests=0, requests_reset_seconds=None, in_flight=0, tokens_today=0)
    stored, configured = CallerLimits(in_flight=1), CallerLimits(in_flight=2)

    def account(s: CallerLimits | None, c: CallerLimits | None) -> CallerAccount:
        return CallerAccount("a", "apikey:a", s, c, idle)

    assert (account(stored, configured).effective, account(stored, configured).source) == (
        stored, LimitsSource.STORED
    )  # fmt: skip
    assert (account(None, configured).effective, account(None, configured).source) == (
        configured, LimitsSource.CONFIGURED
    )  # fmt: skip
    assert (account(None, None).effective, account(None, None).source) == (None, None)
