from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from ai_gateway.application.errors import FieldError, NotFound, ValidationFailed
from ai_gateway.application.mediator import (
    Command,
    LoggingBehaviour,
    Mediator,
    Message,
    Next,
    NoHandler,
    ValidationBehaviour,
)


@dataclass(frozen=True)
class Double(Command[int]):
    value: int

    def validate(self) -> Sequence[FieldError]:
        return [FieldError("value", "must not be negative")] if self.value < 0 else ()


class DoubleHandler:
    def __init__(self) -> None:
        self.calls = 0

    async def handle(self, command: Double) -> int:
        self.calls += 1
        if command.value == 404:
            raise NotFound("number", "404")
        if command.value == 500:
            raise RuntimeError("boom")
        return command.value * 2


class Recorder:
    def __init__(self, name: str, trail: list[str]) -> None:
        self.name = name
        self.trail = trail

    async def __call__(self, message: Message[Any], call_next: Next) -> Any:
        self.trail.append(f"{self.name}>")
        result = await call_next(message)
        self.trail.append(f"<{self.name}")
        return result


async def test_a_message_reaches_its_handler_through_the_behaviours_in_order() -> None:
    trail: list[str] = []
    mediator = Mediator([Recorder("outer", trail), Recorder("inner", trail)])
    mediator.register(Double, DoubleHandler())

    assert await mediator.send(Double(21)) == 42
    assert trail == ["outer>", "inner>", "<inner", "<outer"]


async def test_an_invalid_message_never_reaches_its_handler() -> None:
    handler = DoubleHandler()
    mediator = Mediator([ValidationBehaviour()])
    mediator.register(Double, handler)

    with pytest.raises(ValidationFailed) as raised:
        await mediator.send(Double(-1))
    assert raised.value.errors == (FieldError("value", "must not be negative"),)
    assert handler.calls == 0


async def test_a_message_without_a_handler_is_an_error() -> None:
    with pytest.raises(NoHandler, match="Double"):
        await Mediator().send(Double(1))


def test_a_message_type_takes_only_one_handler() -> None:
    mediator = Mediator()
    mediator.register(Double, DoubleHandler())
    with pytest.raises(ValueError, match="already has a handler"):
        mediator.register(Double, DoubleHandler())


async def test_logging_tells_refusals_from_failures(caplog: pytest.LogCaptureFixture) -> None:
    mediator = Mediator([LoggingBehaviour()])
    mediator.register(Double, DoubleHandler())
    caplog.set_level(logging.DEBUG, "ai_gateway.mediator")

    assert await mediator.send(Double(1)) == 2
    with pytest.raises(NotFound):
        await mediator.send(Double(404))
    with pytest.raises(RuntimeError):
        await mediator.send(Double(500))

    levels = [(r.levelname, r.getMessage().split(" in ")[0]) for r in caplog.records]
    assert levels == [
        ("DEBUG", "Double handled"),
        ("INFO", "Double refused"),
        ("ERROR", "Double failed"),
    ]
    assert all(" ms" in r.getMessage() for r in caplog.records)
