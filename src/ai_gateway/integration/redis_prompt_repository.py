"""The prompt store in Redis.

Layout, under a configurable key prefix ``P``:

- ``P:prompt:{id}``  hash: ``d`` JSON record, ``v`` version, ``o`` owner, ``s`` status,
  ``r`` request id, ``m`` index member, ``x`` retention deadline (ms) once settled
- ``P:ix:all``, ``P:ix:o:{owner}``, ``P:ix:o:{owner}:s:{status}``, ``P:ix:s:{status}``,
  ``P:ix:o:{owner}:r:{request_id}``, ``P:ix:r:{request_id}``  sorted sets (all scores 0) whose
  members ``{sequence:016d}:{id}`` sort in creation order (``P:seq`` numbers the prompts), so a
  listing is a ZRANGE BYLEX and a cursor is the last member seen: no KEYS or SCAN on any request
- ``P:retention``  sorted set of settled prompt ids by deadline; due ones are removed, with their
  index entries, a few at a time by every write
- ``P:idem:{hash}``  Idempotency-Key records, with their own TTL

Every write is one Lua script, so the record, its version check and its indexes change together.
Owner and request ids are percent-encoded in key names so that no value can forge another key.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Final
from urllib.parse import quote

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ai_gateway.application.errors import ConcurrencyConflict, DependencyUnavailable
from ai_gateway.application.ports.prompts import (
    IdempotencyClaim,
    IdempotencyRecord,
    InvalidCursor,
    Page,
    PromptFilter,
)
from ai_gateway.domain.prompt import Prompt, PromptStatus, is_prompt_id
from ai_gateway.integration.event_outbox import outbox_entries
from ai_gateway.integration.prompt_codec import dump_prompt, load_prompt

MAX_SCAN: Final = 1000
"""Index members one listing call may look at before it returns a short page and a cursor."""

_LUA_COMMON = """
local function status_keys(P, o, s)
  return {P..':ix:s:'..s, P..':ix:o:'..o..':s:'..s}
end
local function all_keys(P, o, s, r)
  local keys = {P..':ix:all', P..':ix:o:'..o}
  for _, k in ipairs(status_keys(P, o, s)) do table.insert(keys, k) end
  if r ~= '' then
    table.insert(keys, P..':ix:r:'..r)
    table.insert(keys, P..':ix:o:'..o..':r:'..r)
  end
  return keys
end
local function publish(P, first, count)
  for i = first, first + count - 1 do redis.call('XADD', P..':outbox', '*', 'e', ARGV[i]) end
end
local function sweep(P, now)
  local due = redis.call('ZRANGEBYSCORE', P..':retention', '-inf', now, 'LIMIT', 0, 20)
  for _, id in ipairs(due) do
    local key = P..':prompt:'..id
    local f = redis.call('HMGET', key, 'o', 's', 'r', 'm')
    if f[1] then
      for _, k in ipairs(all_keys(P, f[1], f[2], f[3])) do redis.call('ZREM', k, f[4]) end
      redis.call('DEL', key)
    end
    redis.call('ZREM', P..':retention', id)
  end
end
"""

# KEYS: record [, idempotency key]
# ARGV: prefix, json, owner, status, request id, id, now ms, outbox bound (0: none), n, n events
#       [, idempotency value, ttl s]
_CREATE = (
    _LUA_COMMON
    + """
local P = ARGV[1]
local n = tonumber(ARGV[9])
if #KEYS == 2 then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return earlier end
end
local bound = tonumber(ARGV[8])
if bound > 0 and redis.call('XLEN', P..':outbox') >= bound then return '!outbox-full' end
if #KEYS == 2 then redis.call('SET', KEYS[2], ARGV[10 + n], 'EX', ARGV[11 + n]) end
publish(P, 10, n)
local member = string.format('%016d:%s', redis.call('INCR', P..':seq'), ARGV[6])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', 1, 'o', ARGV[3], 's', ARGV[4], 'r', ARGV[5],
           'm', member)
for _, k in ipairs(all_keys(P, ARGV[3], ARGV[4], ARGV[5])) do redis.call('ZADD', k, 0, member) end
sweep(P, ARGV[7])
return false
"""
)

# KEYS: record. ARGV: prefix, id, expected version, json, status, deadline ms or '', now ms,
# n, n events. Returns the new version, 0 when the version moved on, -1 when the record is gone.
_SAVE = (
    _LUA_COMMON
    + """
local P = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], 'v', 'o', 's', 'm')
if not cur[1] then return -1 end
if cur[1] ~= ARGV[3] then return 0 end
local version = tonumber(cur[1]) + 1
redis.call('HSET', KEYS[1], 'd', ARGV[4], 'v', version, 's', ARGV[5])
publish(P, 9, tonumber(ARGV[8]))
if cur[3] ~= ARGV[5] then
  for _, k in ipairs(status_keys(P, cur[2], cur[3])) do redis.call('ZREM', k, cur[4]) end
  for _, k in ipairs(status_keys(P, cur[2], ARGV[5])) do redis.call('ZADD', k, 0, cur[4]) end
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'x', ARGV[6])
  redis.call('ZADD', P..':retention', ARGV[6], ARGV[2])
end
sweep(P, ARGV[7])
return version
"""
)


def _live_prompt(row: Sequence[object], now_ms: int) -> Prompt | None:
    """The prompt in an HMGET d, v, x reply, unless absent or past its retention deadline."""
    raw, version, deadline = row
    if raw is None or (deadline is not None and int(str(deadline)) <= now_ms):
        return None
    return load_prompt(str(raw), int(str(version)))


def _enc(value: str) -> str:
    return quote(value, safe="")


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise DependencyUnavailable("redis") from exc


class RedisPromptRepository:
    """PromptRepository on Redis; ``retention_seconds`` 0 keeps settled prompts forever."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "gw",
        retention_seconds: int = 0,
        idempotency_ttl_seconds: int = 86_400,
        publish_events: bool = False,
        outbox_bound: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """With ``publish_events``, each write also appends the prompt's new lifecycle events to
        the outbox stream (``P:outbox``), in the same script; past ``outbox_bound`` waiting
        events, new prompts are refused (DependencyUnavailable) rather than events dropped.
        Retention deadlines are reckoned by ``clock``, in seconds since the epoch."""
        self._redis = redis
        self._clock = clock
        self._publish = publish_events
        self._outbox_bound = outbox_bound
        self._prefix = prefix
        self._retention_ms = retention_seconds * 1000
        self._idempotency_ttl = idempotency_ttl_seconds
        self._create = redis.register_script(_CREATE)
        self._save = redis.register_script(_SAVE)

    def _entries(self, prompt: Prompt) -> list[str | int]:
        """The count of the prompt's new events, then each as an outbox entry (none without
        publishing: the events are consumed either way, so they are never sent twice)."""
        events = prompt.pull_events()
        entries = outbox_entries(prompt, events) if self._publish else []
        return [len(entries), *entries]

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _record_key(self, prompt_id: str) -> str:
        return f"{self._prefix}:prompt:{prompt_id}"

    async def add(
        self, prompt: Prompt, idempotency: IdempotencyClaim | None = None
    ) -> IdempotencyRecord | None:
        keys = [self._record_key(prompt.id)]
        args: list[str | int] = [
            self._prefix,
            dump_prompt(prompt),
            _enc(prompt.owner),
            prompt.status.value,
            _enc(prompt.request_id or ""),
            prompt.id,
            self._now_ms(),
            self._outbox_bound if self._publish else 0,
            *self._entries(prompt),
        ]
        if idempotency is not None:
            keys.append(f"{self._prefix}:idem:{idempotency.key}")
            record = {
                "prompt_id": prompt.id,
                "fingerprint": idempotency.fingerprint,
                "created_at": prompt.created_at.isoformat(),
            }
            args += [json.dumps(record), self._idempotency_ttl]
        async with redis_errors():
            earlier = await self._create(keys=keys, args=args)
        if earlier == "!outbox-full":
            raise DependencyUnavailable("event outbox")
        if earlier is None:
            prompt.version = 1
            return None
        data = json.loads(earlier)
        return IdempotencyRecord(
            data["prompt_id"], data["fingerprint"], datetime.fromisoformat(data["created_at"])
        )

    async def get(self, prompt_id: str) -> Prompt | None:
        if not is_prompt_id(prompt_id):
            return None
        async with redis_errors():
            row = await self._redis.hmget(self._record_key(prompt_id), ["d", "v", "x"])
        return _live_prompt(row, self._now_ms())

    async def save(self, prompt: Prompt) -> None:
        deadline = ""
        if prompt.is_terminal and self._retention_ms:
            deadline = str(self._now_ms() + self._retention_ms)
        args: list[str | int] = [
            self._prefix,
            prompt.id,
            prompt.version,
            dump_prompt(prompt),
            prompt.status.value,
            deadline,
            self._now_ms(),
            *self._entries(prompt),
        ]
        async with redis_errors():
            version = int(await self._save(keys=[self._record_key(prompt.id)], args=args))
        if version <= 0:
            raise ConcurrencyConflict(prompt.id)
        prompt.version = version

    async def list(self, criteria: PromptFilter, limit: int, cursor: str | None) -> Page[Prompt]:
        index, residual = self._plan(criteria)
        upper = "+" if cursor is None else "(" + _decode_cursor(cursor)
        found: list[tuple[str, Prompt]] = []
        scanned = 0
        async with redis_errors():
            while scanned < MAX_SCAN:
                # Every member matches unless a residual filter applies: then read ahead.
                wanted = limit + 1 if residual.is_trivial else max(2 * (limit + 1), 50)
                batch = min(wanted, MAX_SCAN - scanned)
                members = [
                    str(m)
                    for m in await self._redis.zrange(
                        index, upper, "-", desc=True, bylex=True, offset=0, num=batch
                    )
                ]
                scanned += len(members)
                loaded = await self._load_many(members)
                for member, prompt in zip(members, loaded, strict=True):
                    if prompt is not None and residual(prompt):
                        found.append((member, prompt))
                        if len(found) > limit:
                            return Page(
                                tuple(p for _, p in found[:limit]), _encode(found[limit - 1][0])
                            )
                if len(members) < batch:
                    return Page(tuple(p for _, p in found), None)
                upper = "(" + members[-1]
        return Page(tuple(p for _, p in found), _encode(upper[1:]))

    async def oldest(self, status: PromptStatus, limit: int) -> Sequence[Prompt]:
        index = f"{self._prefix}:ix:s:{status.value}"
        async with redis_errors():
            members = [
                str(m)
                for m in await self._redis.zrange(index, "-", "+", bylex=True, offset=0, num=limit)
            ]
            loaded = await self._load_many(members)
        return [p for p in loaded if p is not None and p.status is status]

    async def _load_many(self, members: Sequence[str]) -> Sequence[Prompt | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.hmget(self._record_key(member.partition(":")[2]), ["d", "v", "x"])
            rows = await pipe.execute()
        now = self._now_ms()
        return [_live_prompt(row, now) for row in rows]

    def _plan(self, c: PromptFilter) -> tuple[str, _Residual]:
        """Pick the narrowest index for the criteria; what it does not cover is filtered after."""
        p = self._prefix
        scope = f"{p}:ix:o:{_enc(c.owner)}" if c.owner is not None else f"{p}:ix"
        if c.request_id is not None:
            index = f"{scope}:r:{_enc(c.request_id)}"
            return index, _Residual(status=c.status, kind=c.kind)
        if c.status is not None:
            return f"{scope}:s:{c.status.value}", _Residual(kind=c.kind)
        index = scope if c.owner is not None else f"{p}:ix:all"
        return index, _Residual(kind=c.kind)


class _Residual:
    __slots__ = ("kind", "status")

    def __init__(self, *, status: PromptStatus | None = None, kind: str | None = None) -> None:
        self.status = status
        self.kind = kind

    @property
    def is_trivial(self) -> bool:
        return self.status is None and self.kind is None

    def __call__(self, prompt: Prompt) -> bool:
        return (self.status is None or prompt.status is self.status) and (
            self.kind is None or prompt.kind == self.kind
        )


def _encode(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        member = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(cursor) from None
    stamp, sep, prompt_id = member.partition(":")
    if not (sep and len(stamp) == 16 and stamp.isdigit() and is_prompt_id(prompt_id)):
        raise InvalidCursor(cursor)
    return member


class RedisHealth:
    name = "redis"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def check(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisConnectionError, RedisTimeoutError, OSError):
            return False
