"""What a caller may ask of the gateway (ADR 0019): its rate of creations, its prompts in flight,
its daily budget of provider tokens, the default priority of its prompts and its share of a busy
provider.

``CALLER_LIMITS`` and the admin endpoint write the same JSON form, read by ``CallerLimits.read``:
``{"requests": "600/minute", "in_flight": 50, "tokens_per_day": 2000000, "priority": "batch",
"weight": 2}``, every field optional.

What the workers together may ask of a provider (``PROVIDER_LIMITS``, ADR 0020) is counted in the
same ``Rate``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ai_gateway.domain.values import JsonObject

DEFAULT_CALLER: Final = "*"
"""The ``CALLER_LIMITS`` entry for every caller without one of its own."""

PERIODS: Final[Mapping[str, int]] = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}
_FIELDS: Final = frozenset({"requests", "in_flight", "tokens_per_day", "priority", "weight"})
MAX_WEIGHT: Final = 1000


class InvalidLimits(ValueError):
    """A limit that cannot be enforced as written."""


class Priority(StrEnum):
    """Within one caller's prompts, ``interactive`` ones are submitted before ``batch`` ones."""

    INTERACTIVE = "interactive"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` per ``seconds``, written ``"600/minute"``."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``N/second``, ``N/minute``, ``N/hour`` or ``N/day``, N a positive integer."""
        count, sep, unit = text.strip().partition("/")
        if not (sep and count.isdigit() and int(count) >= 1 and unit in PERIODS):
            raise InvalidLimits(f"{text!r}: a rate is N/second, N/minute, N/hour or N/day, N ≥ 1")
        return cls(int(count), PERIODS[unit])

    def __str__(self) -> str:
        unit = next(u for u, seconds in PERIODS.items() if seconds == self.seconds)
        return f"{self.count}/{unit}"


@dataclass(frozen=True, slots=True)
class ProviderLimit:
    """What the workers together may ask of one provider (or one of its models); an empty entry
    paces nothing but still shares the provider's pauses."""

    requests: Rate | None = None
    tokens: Rate | None = None
    concurrency: int | None = None
    burst: int = 1


@dataclass(frozen=True, slots=True)
class CallerLimits:
    """A caller's limits; None is no limit of that kind."""

    requests: Rate | None = None
    in_flight: int | None = None
    tokens_per_day: int | None = None
    priority: Priority = Priority.INTERACTIVE
    weight: int = 1

    @property
    def restricts(self) -> bool:
        """Whether creating a prompt has anything to check."""
        return not (
            self.requests is None and self.in_flight is None and self.tokens_per_day is None
        )

    @classmethod
    def read(cls, entry: object, name: str = "limits") -> CallerLimits:
        """The limits in their JSON form; raises InvalidLimits naming the faulty field."""
        if not isinstance(entry, dict) or not set(entry) <= _FIELDS:
            raise InvalidLimits(f"{name} is an object of {', '.join(sorted(_FIELDS))}")
        requests = entry.get("requests")
        if requests is not None and not isinstance(requests, str):
            raise InvalidLimits(f'{name}.requests is a rate such as "600/minute"')
        priority = entry.get("priority", Priority.INTERACTIVE.value)
        if priority not in {p.value for p in Priority}:
            raise InvalidLimits(f"{name}.priority is interactive or batch")
        return cls(
            requests=None if requests is None else Rate.parse(requests),
            in_flight=_count(entry, "in_flight", name),
            tokens_per_day=_count(entry, "tokens_per_day", name),
            priority=Priority(priority),
            weight=_count(entry, "weight", name, ceiling=MAX_WEIGHT) or 1,
        )

    def to_json(self) -> JsonObject:
        return {
            "requests": None if self.requests is None else str(self.requests),
            "in_flight": self.in_flight,
            "tokens_per_day": self.tokens_per_day,
            "priority": self.priority.value,
            "weight": self.weight,
        }


def _count(entry: Mapping[str, object], field: str, name: str, ceiling: int = 2**53) -> int | None:
    value = entry.get(field)
    if value is None:
        return None
    # bool is an int to Python, not a count to anyone
    if type(value) is not int or not 1 <= value <= ceiling:
        raise InvalidLimits(f"{name}.{field} is a whole number from 1 to {ceiling}")
    return value


def parse_caller_limits(text: str) -> dict[str, CallerLimits]:
    """``CALLER_LIMITS``: a JSON object from caller name (``"*"`` for everyone else) to limits."""
    try:
        table = json.loads(text or "{}")
    except ValueError:
        raise InvalidLimits("CALLER_LIMITS is a JSON object of caller name to limits") from None
    if not isinstance(table, dict):
        raise InvalidLimits("CALLER_LIMITS is a JSON object of caller name to limits")
    return {
        str(caller): CallerLimits.read(entry, f"CALLER_LIMITS[{caller!r}]")
        for caller, entry in table.items()
    }
