"""Named Lua script arguments and the Lua spellings of key names, against a real Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import pytest
from redis.asyncio import Redis

from ai_gateway.integration.redis_keys import LUA_INDEX_KEYS, RedisKeys, key_part
from ai_gateway.integration.redis_scripts import NamedScript

pytestmark = pytest.mark.integration


class EchoKeys(NamedTuple):
    first: str
    optional: str | None = None


class EchoArgs(NamedTuple):
    word: str
    number: int
    rest: Sequence[str] = ()


ECHO: NamedScript[EchoKeys, EchoArgs] = NamedScript(
    EchoKeys,
    EchoArgs,
    """
return cjson.encode({first = KEY.first, optional = KEY.optional or 'nil', word = ARG.word,
                     number = ARG.number, rest = ARG.rest, argc = #ARGV})
""",
    variadic="rest",
)


async def test_a_script_reads_its_keys_and_arguments_by_name(redis_client: Redis) -> None:
    echo = ECHO.bind(redis_client)

    full = json.loads(await echo(EchoKeys("k1", "k2"), EchoArgs("w", 7, ["a", "b", "c"])))
    bare = json.loads(await echo(EchoKeys(first="k1"), EchoArgs(word="w", number=7)))

    assert full == {
        "first": "k1", "optional": "k2", "word": "w", "number": "7", "rest": ["a", "b", "c"],
        "argc": 5,
    }  # fmt: skip
    assert bare["optional"] == "nil"
    assert bare["argc"] == 2


def test_only_the_last_argument_can_be_variadic() -> None:
    with pytest.raises(ValueError, match="last"):
        NamedScript(EchoKeys, EchoArgs, "return 1", variadic="word")


def test_a_name_that_is_no_field_is_refused_when_the_script_is_built() -> None:
    with pytest.raises(ValueError, match=r"ARG\.wrod"):
        NamedScript(EchoKeys, EchoArgs, "return ARG.wrod")
    with pytest.raises(ValueError, match="KEY"):
        NamedScript(EchoKeys, EchoArgs, "return #KEY")


async def test_a_missing_key_before_a_present_one_is_refused(redis_client: Redis) -> None:
    class TwoKeys(NamedTuple):
        first: str | None
        second: str

    script = NamedScript(TwoKeys, EchoArgs, "return 1", variadic="rest").bind(redis_client)
    with pytest.raises(ValueError, match="trailing"):
        await script(TwoKeys(None, "k"), EchoArgs("w", 1))


async def test_lua_spells_every_prompt_key_as_python_does(
    redis_client: Redis, key_prefix: str
) -> None:
    owner, request_id = "apikey:a/b c", "req:1"
    spelled = await redis_client.eval(
        LUA_INDEX_KEYS
        + """
local P, o, r = ARGV[1], ARGV[2], ARGV[3]
local all = index_keys(P, o, 'received', r)
table.insert(all, prompt_key(P, 'abc'))
table.insert(all, outbox_key(P))
table.insert(all, sequence_key(P))
table.insert(all, retention_key(P))
table.insert(all, jobs_key(P))
table.insert(all, jobs_waiting_key(P, 'abc'))
table.insert(all, deliveries_due_key(P))
table.insert(all, deliveries_dead_key(P))
return all
""",
        0,
        key_prefix,
        key_part(owner),
        key_part(request_id),
    )
    keys = RedisKeys(key_prefix)

    assert sorted(spelled) == sorted([
        keys.index(),
        keys.index(owner=owner),
        keys.index(status="received"),
        keys.index(owner=owner, status="received"),
        keys.index(request_id=request_id),
        keys.index(owner=owner, request_id=request_id),
        keys.prompt("abc"),
        keys.outbox,
        keys.sequence,
        keys.retention,
        keys.jobs,
        keys.jobs_waiting("abc"),
        keys.deliveries_due,
        keys.deliveries_dead,
    ])  # fmt: skip


def test_a_value_cannot_forge_another_key() -> None:
    keys = RedisKeys("gw")

    assert keys.index(owner="x:s:done") == "gw:ix:o:x%3As%3Adone"
    assert keys.index(owner="x:s:done") != keys.index(owner="x", status="done")
    with pytest.raises(ValueError, match="no index"):
        keys.index(status="done", request_id="r")
