"""Caller limits (ADR 0019): where they are kept, and where a caller stands against them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ai_gateway.domain.limits import CallerLimits


class Refusal(StrEnum):
    """Why a creation was refused; each is its own problem type."""

    RATE = "rate-limited"
    IN_FLIGHT = "too-many-in-flight"
    BUDGET = "token-budget-exhausted"
    BACKLOG = "backlog-full"


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one caller stands against its limits; each part is None when that limit is not set.
    ``*_reset_seconds`` is how long until that quota is whole again."""

    limits: CallerLimits
    requests_remaining: int | None = None
    requests_reset_seconds: int | None = None
    in_flight: int | None = None
    tokens_used: int | None = None
    tokens_reset_seconds: int | None = None

    @property
    def in_flight_remaining(self) -> int | None:
        cap, now = self.limits.in_flight, self.in_flight
        return None if cap is None or now is None else max(cap - now, 0)

    @property
    def tokens_remaining(self) -> int | None:
        budget, used = self.limits.tokens_per_day, self.tokens_used
        return None if budget is None or used is None else max(budget - used, 0)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one caller uses now, whatever its limits."""

    requests: int
    """Creations in the current rate window; counted only while a rate limit applies."""
    requests_reset_seconds: int | None
    """Until that window closes; None when none is open."""
    in_flight: int
    """Prompts not yet final."""
    tokens_today: int
    """Provider tokens spent this UTC day."""


class LimitsSource(StrEnum):
    STORED = "stored"
    """Set by an administrator at run time."""
    CONFIGURED = "configured"
    """From ``CALLER_LIMITS``: the caller's entry, else the ``"*"`` one."""


@dataclass(frozen=True, slots=True)
class CallerAccount:
    """A caller's limits, where they come from, and its usage, as an operator reads them."""

    caller: str
    owner: str
    stored: CallerLimits | None
    configured: CallerLimits | None
    usage: Usage

    @property
    def effective(self) -> CallerLimits | None:
        return self.stored or self.configured

    @property
    def source(self) -> LimitsSource | None:
        if self.stored is not None:
            return LimitsSource.STORED
        return None if self.configured is None else LimitsSource.CONFIGURED


@dataclass(frozen=True, slots=True)
class Backlog:
    """Prompts accepted but not yet handed to a provider, over every caller."""

    prompts: int
    bound: int | None
    """BACKLOG_MAX_PROMPTS; None when creation is not bounded."""
    refusals: dict[str, int]
    """Creations refused so far, by ``Refusal`` value."""

    @property
    def full(self) -> bool:
        return self.bound is not None and self.prompts >= self.bound


class BacklogGauge(Protocol):
    async def read(self) -> Backlog: ...


class CallerLimitsStore(Protocol):
    """Each caller's limits: an administrator's, kept at run time, else the configured ones (the
    caller's own entry, else the ``"*"`` one)."""

    async def limits_for(self, caller: str) -> CallerLimits | None:
        """The limits in force; may be up to a second stale on another process."""
        ...

    async def configured(self, caller: str) -> CallerLimits | None:
        """What the settings say, ignoring an administrator's limits."""
        ...

    async def stored(self, caller: str) -> CallerLimits | None:
        """An administrator's limits for the caller, read now."""
        ...

    async def store(self, caller: str, limits: CallerLimits | None, changed_by: str) -> None:
        """Sets (None: removes) an administrator's limits, with a CloudEvent saying so."""
        ...

    async def standing(self, caller: str, owner: str, limits: CallerLimits) -> Standing:
        """Where the caller stands now (its prompts are those of ``owner``)."""
        ...

    async def accounts(self, callers: Sequence[tuple[str, str]]) -> Sequence[CallerAccount]:
        """The limits and usage of each (caller name, owner), in that order, read together: as
        many round trips for a hundred callers as for one."""
        ...
