"""What a call through the mediator costs over calling the handler directly.

Runs N awaited calls per variant in one event loop, repeats, and prints the median per-call time:
the handler alone, the mediator with no behaviours, and the mediator as the gateway configures it
(logging + validation, logging at INFO so that a successful call logs nothing).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ai_gateway.application.mediator import (
    Command,
    LoggingBehaviour,
    Mediator,
    ValidationBehaviour,
)

CALLS = 200_000
REPEATS = 7


@dataclass(frozen=True, slots=True)
class Ping(Command[int]):
    value: int


class PingHandler:
    async def handle(self, command: Ping) -> int:
        return command.value


async def per_call_ns(call: Callable[[Ping], Awaitable[int]]) -> float:
    message = Ping(1)
    started = time.perf_counter_ns()
    for _ in range(CALLS):
        await call(message)
    return (time.perf_counter_ns() - started) / CALLS


async def measure() -> dict[str, float]:
    handler = PingHandler()
    bare = Mediator()
    bare.register(Ping, handler)
    configured = Mediator([LoggingBehaviour(), ValidationBehaviour()])
    configured.register(Ping, handler)
    variants: dict[str, Callable[[Ping], Awaitable[int]]] = {
        "handler called directly": handler.handle,
        "mediator, no behaviours": bare.send,
        "mediator, logging + validation": configured.send,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(REPEATS):
        for name, call in variants.items():
            samples[name].append(await per_call_ns(call))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    results = asyncio.run(measure())
    base = results["handler called directly"]
    print(f"{CALLS} calls x {REPEATS} repeats, median per call:")
    for name, ns in results.items():
        print(f"  {name:32s} {ns / 1000:7.3f} us   (+{(ns - base) / 1000:.3f} us over direct)")


if __name__ == "__main__":
    main()
