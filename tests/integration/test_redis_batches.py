"""Commands called together travel together, each keeping its own reply and error (real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from ai_gateway.integration.redis_batches import BATCH_LIMIT, CommandBatches
from ai_gateway.integration.redis_scripts import BoundScript, NamedScript

pytestmark = pytest.mark.integration


class OneKey(NamedTuple):
    key: str


class Amount(NamedTuple):
    amount: int


ADD = NamedScript(OneKey, Amount, "return redis.call('INCRBY', KEY.key, ARG.amount)")
SLOW = NamedScript(
    OneKey,
    Amount,
    """
local function ms() local t = redis.call('TIME') return t[1] * 1000 + t[2] / 1000 end
local until_ms = ms() + ARG.amount
while ms() < until_ms do end
return 1
""",
)  # a command that stays on its way for ARG.amount ms


async def loaded(
    script: NamedScript[OneKey, Amount], redis: Redis, key_prefix: str
) -> BoundScript[OneKey, Amount]:
    """The script bound to ``redis`` and run once: Redis has it, a pipeline runs it as is."""
    bound = script.bind(redis)
    await bound(OneKey(f"{key_prefix}:warm"), Amount(0))
    return bound


async def failed_scripts(redis: Redis) -> int:
    """EVALSHA calls Redis refused so far (NOSCRIPT among them)."""
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("failed_calls", 0))


class CountedPipelines:
    """How many pipelines the client sent, and how many commands each held."""

    def __init__(self, redis: Redis) -> None:
        self.sizes: list[int] = []
        make = redis.pipeline

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = make(*args, **kwargs)
            execute = pipe.execute

            async def counted(*a: Any, **kw: Any) -> Any:
                self.sizes.append(len(pipe.command_stack))
                return await execute(*a, **kw)

            pipe.execute = counted  # type: ignore[method-assign]
            return pipe

        redis.pipeline = pipeline  # type: ignore[method-assign]


async def test_commands_called_while_one_is_away_share_one_round_trip(
    redis_client: Redis, key_prefix: str
) -> None:
    pipelines = CountedPipelines(redis_client)
    batches = CommandBatches(redis_client)
    add = await loaded(ADD, redis_client, key_prefix)
    for i in range(40):
        await redis_client.hset(f"{key_prefix}:h{i}", mapping={"d": f"v{i}"})
    refused = await failed_scripts(redis_client)

    reads = [batches.hmget(f"{key_prefix}:h{i}", ["d", "x"]) for i in range(40)]
    adds = [batches.script(add, OneKey(f"{key_prefix}:n"), Amount(i)) for i in range(1, 41)]
    replies = await asyncio.gather(*reads, *adds)

    assert replies[:40] == [[f"v{i}", None] for i in range(40)]
    assert len(set(replies[40:])) == 40  # each saw the count as its own INCRBY left it
    assert max(int(r) for r in replies[40:]) == sum(range(1, 41))
    assert await redis_client.get(f"{key_prefix}:n") == str(sum(range(1, 41)))
    assert pipelines.sizes == [79]  # the first went at once, alone; the others after it
    assert await failed_scripts(redis_client) == refused


async def test_a_lone_command_is_sent_at_once_as_itself(
    redis_client: Redis, key_prefix: str
) -> None:
    pipelines = CountedPipelines(redis_client)
    batches = CommandBatches(redis_client)
    await redis_client.hset(f"{key_prefix}:h", mapping={"d": "v"})

    for _ in range(3):
        assert await batches.hmget(f"{key_prefix}:h", ["d"]) == ["v"]
    two = await asyncio.gather(*(batches.hmget(f"{key_prefix}:h", ["d"]) for _ in range(2)))

    assert two == [["v"], ["v"]]
    assert pipelines.sizes == []  # the second of the two left alone too, after the first


async def test_a_burst_larger_than_a_batch_goes_in_several(
    redis_client: Redis, key_prefix: str
) -> None:
    pipelines = CountedPipelines(redis_client)
    batches = CommandBatches(redis_client)
    count = BATCH_LIMIT * 2 + 5

    replies = await asyncio.gather(
        *(batches.hmget(f"{key_prefix}:none{i}", ["d"]) for i in range(count))
    )

    assert replies == [[None]] * count
    assert pipelines.sizes == [BATCH_LIMIT, BATCH_LIMIT, 4]


async def test_commands_called_while_a_batch_is_away_leave_together_after_it(
    redis_client: Redis, key_prefix: str
) -> None:
    pipelines = CountedPipelines(redis_client)
    batches = CommandBatches(redis_client)
    first = [asyncio.ensure_future(batches.hmget(f"{key_prefix}:a{i}", ["d"])) for i in range(4)]
    while not pipelines.sizes:  # the first command is away, then the three behind it
        await asyncio.sleep(0)
    later = [asyncio.ensure_future(batches.hmget(f"{key_prefix}:b{i}", ["d"])) for i in range(5)]

    await asyncio.gather(*first, *later)

    assert pipelines.sizes == [3, 5]


async def test_an_error_reaches_only_the_command_that_had_it(
    redis_client: Redis, key_prefix: str
) -> None:
    batches = CommandBatches(redis_client)
    add = await loaded(ADD, redis_client, key_prefix)
    await redis_client.set(f"{key_prefix}:text", "not a hash")
    await redis_client.set(f"{key_prefix}:word", "not a number")
    pipelines = CountedPipelines(redis_client)

    first, *replies = await asyncio.gather(
        batches.hmget(f"{key_prefix}:missing", ["d"]),  # goes alone; the others in a pipeline
        batches.hmget(f"{key_prefix}:text", ["d"]),
        batches.script(add, OneKey(f"{key_prefix}:word"), Amount(1)),
        batches.script(add, OneKey(f"{key_prefix}:n"), Amount(2)),
        batches.hmget(f"{key_prefix}:missing", ["d"]),
        return_exceptions=True,
    )

    assert first == [None]
    assert pipelines.sizes == [4]
    assert isinstance(replies[0], ResponseError)
    assert "WRONGTYPE" in str(replies[0])
    assert isinstance(replies[1], ResponseError)
    assert "not an integer" in str(replies[1])
    assert replies[2:] == [2, [None]]


async def test_scripts_that_redis_lost_are_loaded_again_and_run_once(
    redis_client: Redis, key_prefix: str
) -> None:
    batches = CommandBatches(redis_client)
    add = await loaded(ADD, redis_client, key_prefix)
    await redis_client.script_flush()
    refused = await failed_scripts(redis_client)

    first, *replies = await asyncio.gather(
        batches.hmget(f"{key_prefix}:h", ["d"]),  # goes alone: the scripts wait in one pipeline
        *(batches.script(add, OneKey(f"{key_prefix}:n"), Amount(1)) for _ in range(10)),
    )

    assert first == [None]
    # Each of the ten was refused in the pipeline; then, alone, a first one may be refused again
    # before it loads the script.
    assert 10 <= await failed_scripts(redis_client) - refused <= 20
    assert sorted(int(r) for r in replies) == list(range(1, 11))
    assert await redis_client.get(f"{key_prefix}:n") == "10"


async def test_a_command_cancelled_before_it_left_is_not_sent(
    redis_client: Redis, key_prefix: str
) -> None:
    batches = CommandBatches(redis_client)
    add = await loaded(ADD, redis_client, key_prefix)
    await redis_client.hset(f"{key_prefix}:h", mapping={"d": "v"})
    slow = await loaded(SLOW, redis_client, key_prefix)
    away = asyncio.ensure_future(batches.script(slow, OneKey(f"{key_prefix}:s"), Amount(200)))
    await asyncio.sleep(0)  # it leaves alone
    queued = [
        asyncio.ensure_future(batches.script(add, OneKey(f"{key_prefix}:n{i}"), Amount(1)))
        for i in range(3)
    ]
    await asyncio.sleep(0)
    queued[1].cancel()

    replies = await asyncio.gather(away, *queued, return_exceptions=True)

    assert replies[0] == 1
    assert isinstance(replies[2], asyncio.CancelledError)
    assert [replies[1], replies[3]] == [1, 1]
    assert await redis_client.get(f"{key_prefix}:n1") is None
    assert await redis_client.get(f"{key_prefix}:n0") == "1"


async def test_cancelling_the_command_on_its_way_lets_those_behind_it_go(
    redis_client: Redis, key_prefix: str
) -> None:
    batches = CommandBatches(redis_client)
    await redis_client.hset(f"{key_prefix}:h", mapping={"d": "v"})
    slow = await loaded(SLOW, redis_client, key_prefix)
    away = asyncio.ensure_future(batches.script(slow, OneKey(f"{key_prefix}:s"), Amount(200)))
    await asyncio.sleep(0)
    behind = [asyncio.ensure_future(batches.hmget(f"{key_prefix}:h", ["d"])) for _ in range(3)]
    await asyncio.sleep(0)
    away.cancel()

    replies = await asyncio.gather(*behind)

    assert replies == [["v"]] * 3
    assert away.done()  # cancelled, or finished: redis-py may see a command it sent through
    assert await batches.hmget(f"{key_prefix}:h", ["d"]) == ["v"]  # nothing is left on its way


async def test_an_unreachable_redis_fails_every_command_of_the_batch(key_prefix: str) -> None:
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry_on_error=[])
    batches = CommandBatches(unreachable)
    try:
        replies = await asyncio.gather(
            *(batches.hmget(f"{key_prefix}:h{i}", ["d"]) for i in range(3)),
            return_exceptions=True,
        )
    finally:
        await unreachable.aclose()

    assert [type(r) for r in replies] == [RedisConnectionError] * 3
