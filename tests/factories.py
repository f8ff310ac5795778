"""Builders for the objects tests need, with sensible defaults."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.domain.prompt import TRANSITIONS, Prompt, PromptStatus
from ai_gateway.domain.values import Fault, PromptResponse

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WALKED_ANSWER = "The answer found on the way"
WALKED_FAULT = Fault("walked", "faulted on the way")

S = PromptStatus
_STEPS: dict[PromptStatus, Callable[[Prompt, datetime], object]] = {
    S.PREPARING: lambda p, at: p.start_preparing(at),
    S.PREPARED: lambda p, at: p.mark_prepared(at),
    S.SUBMITTED: lambda p, at: p.mark_submitted(at),
    S.COMPLETED: lambda p, at: p.record_response(PromptResponse.of(WALKED_ANSWER, {}, at)),
    S.RESPONDED: lambda p, at: p.mark_responded(at),
    S.CANCELLED: lambda p, at: p.cancel(at),
    S.FAULTED: lambda p, at: p.fail(WALKED_FAULT, at),
}


def _path(start: PromptStatus, target: PromptStatus) -> list[PromptStatus]:
    """The shortest run of allowed moves from ``start`` to ``target``, read off the table."""
    paths: dict[PromptStatus, list[PromptStatus]] = {start: []}
    frontier = [start]
    while frontier and target not in paths:
        status = frontier.pop(0)
        for nxt in sorted(TRANSITIONS[status]):
            if nxt not in paths:
                paths[nxt] = [*paths[status], nxt]
                frontier.append(nxt)
    if target not in paths:
        raise ValueError(f"no way from {start} to {target}")
    return paths[target]


def walk(prompt: Prompt, status: PromptStatus, at: datetime) -> Prompt:
    """Moves ``prompt`` to ``status`` through the state machine, every step stamped ``at``.

    On the way it gets what each step brings: an answer to be COMPLETED, a fault to be FAULTED.
    """
    for step in _path(prompt.status, status):
        _STEPS[step](prompt, at)
    return prompt


def principal(name: str = "mosaic", *, admin: bool = False) -> Principal:
    return Principal(subject=name, method=AuthMethod.API_KEY, is_admin=admin)


def prompt_in(status: PromptStatus, *, owner: str = "apikey:mosaic") -> Prompt:
    """A prompt that walked to ``status`` a second after T0, with no pending events."""
    prompt = Prompt.create(owner=owner, content="Review this item", at=T0)
    walk(prompt, status, T0 + timedelta(seconds=1))
    prompt.pull_events()
    return prompt


class StepClock:
    """A clock that moves one millisecond per reading, so ordering by time is deterministic."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


class ManualClock:
    """A clock in seconds (as ``time.time``) that moves only when a test moves it."""

    def __init__(self, now: float = T0.timestamp()) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def zip_of(entries: Mapping[str, bytes] | Iterable[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    """A zip archive in memory, its entries deflated (so that a test's zip bomb stays small)."""
    pairs = entries.items() if isinstance(entries, Mapping) else entries
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in pairs:
            archive.writestr(name, data)
    return buffer.getvalue()
