"""Provider pacing: the permits every worker shares to call a provider, and the wait room in which
prompts queue fairly for them (ADR 0020)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ai_gateway.application.ports.jobs import Job
from ai_gateway.domain.limits import Priority


@dataclass(frozen=True, slots=True)
class Share:
    """A caller's claim on a provider that is the bottleneck: its ``weight`` against the other
    callers waiting (the order within its own prompts is theirs: ``Prompt.priority``)."""

    weight: float = 1.0


class CallerShares(Protocol):
    async def share(self, caller: str) -> Share:
        """The share of the caller named ``caller`` (ADR 0019: an API key's name, a token's
        client id)."""
        ...


class EqualShares:
    """Every caller alike: weight 1."""

    async def share(self, caller: str) -> Share:  # noqa: ARG002 - the same for every caller
        return Share()


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to call ``provider`` once for one prompt; released after the call."""

    provider: str
    prompt_id: str


@dataclass(frozen=True, slots=True)
class Admitted:
    """The outcome of asking to submit: a ``permit`` at once, or a place in the wait room with the
    ``estimated_wait`` in seconds (None when the prompt is already waiting or being submitted)."""

    permit: Permit | None = None
    estimated_wait: float | None = None

    @property
    def waits(self) -> bool:
        return self.permit is None and self.estimated_wait is not None


@dataclass(frozen=True, slots=True)
class Taken:
    """The next waiting submission with its permit, or how long to wait before asking again
    (``wait`` seconds; None when nothing waits)."""

    job: Job | None = None
    permit: Permit | None = None
    wait: float | None = None


class ProviderPacer(Protocol):
    """The shared limits of the paced providers, and their wait rooms."""

    def paces(self, provider: str) -> bool:
        """Whether ``provider`` is paced (it has a PROVIDER_LIMITS entry)."""
        ...

    @property
    def providers(self) -> tuple[str, ...]:
        """The paced providers."""
        ...

    async def admit(self, provider: str, job: Job, caller: str, share: Share, priority: Priority
                    ) -> Admitted:  # fmt: skip
        """A permit at once when nothing waits and the limits allow; else ``job`` waits in the
        room, among the prompts of ``caller`` (the name its share goes by), unless its prompt is
        there already or being submitted."""
        ...

    async def take(self, provider: str) -> Taken:
        """The next submission in fair order, with its permit, when the limits allow."""
        ...

    async def release(self, permit: Permit, tokens: int = 0) -> None:
        """The call is over: its concurrency slot is free (a permit released already stays so),
        and ``tokens`` used are debited."""
        ...

    async def pause(self, provider: str, seconds: float) -> None:
        """No worker calls ``provider`` for ``seconds`` (it asked for that with a Retry-After)."""
        ...

    async def held(self, prompt_ids: Iterable[str]) -> set[str]:
        """Those of ``prompt_ids`` that wait in a room or are being submitted with a permit."""
        ...

    async def idle(self, provider: str, seconds: float) -> None:
        """Sleeps ``seconds``, or less when a prompt is admitted to the room meanwhile."""
        ...
