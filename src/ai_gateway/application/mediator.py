"""A small typed mediator: one handler per message type, wrapped in pipeline behaviours.

The handler registry is explicit (filled by the composition root). Each message type's pipeline is
composed once, at registration, so a call costs a dict lookup plus one awaited call per behaviour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from ai_gateway.application.errors import ApplicationError, FieldError, ValidationFailed
from ai_gateway.domain.errors import DomainError

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
M = TypeVar("M", bound="Message[Any]")
M_contra = TypeVar("M_contra", bound="Message[Any]", contravariant=True)

logger = logging.getLogger("ai_gateway.mediator")


class Message(Generic[R_co]):
    """A command or query whose handler returns ``R_co``."""

    __slots__ = ()

    def validate(self) -> Sequence[FieldError]:
        """Rules beyond the wire schema; an empty result means valid."""
        return ()


class Command(Message[R_co]):
    """A request to change state."""

    __slots__ = ()


class Query(Message[R_co]):
    """A request to read state."""

    __slots__ = ()


class Handler(Protocol[M_contra, R_co]):
    async def handle(self, message: M_contra, /) -> R_co: ...


Next = Callable[[Message[Any]], Awaitable[Any]]


class Behaviour(Protocol):
    """A step around every handler call; it must await ``call_next`` to go on."""

    async def __call__(self, message: Message[Any], call_next: Next) -> Any: ...


class NoHandler(LookupError):
    pass


class Mediator:
    """Sends each message to its registered handler through the behaviours, outermost first."""

    def __init__(self, behaviours: Sequence[Behaviour] = ()) -> None:
        self._behaviours = tuple(behaviours)
        self._pipelines: dict[type[Message[Any]], Next] = {}

    def register(self, message_type: type[M], handler: Handler[M, Any]) -> None:
        if message_type in self._pipelines:
            raise ValueError(f"{message_type.__name__} already has a handler")
        pipeline: Next = handler.handle  # type: ignore[assignment]  # M narrows Message[Any]
        for behaviour in reversed(self._behaviours):
            pipeline = partial(behaviour, call_next=pipeline)
        self._pipelines[message_type] = pipeline

    async def send(self, message: Message[R]) -> R:
        try:
            pipeline = self._pipelines[type(message)]
        except KeyError:
            raise NoHandler(type(message).__name__) from None
        result: R = await pipeline(message)
        return result


class LoggingBehaviour:
    """Logs each message with its outcome and duration; failures at the level they deserve."""

    async def __call__(self, message: Message[Any], call_next: Next) -> Any:
        name = type(message).__name__
        started = time.perf_counter()
        try:
            result = await call_next(message)
        except (ApplicationError, DomainError) as exc:  # expected outcomes: 4xx, no traceback
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info("%s refused in %.2f ms: %s", name, elapsed_ms, type(exc).__name__)
            raise
        except Exception:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.exception("%s failed in %.2f ms", name, elapsed_ms)
            raise
        if logger.isEnabledFor(logging.DEBUG):
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.debug("%s handled in %.2f ms", name, elapsed_ms)
        return result


class ValidationBehaviour:
    """Refuses a message whose ``validate`` reports errors, before its handler runs."""

    async def __call__(self, message: Message[Any], call_next: Next) -> Any:
        errors = message.validate()
        if errors:
            raise ValidationFailed(errors)
        return await call_next(message)
