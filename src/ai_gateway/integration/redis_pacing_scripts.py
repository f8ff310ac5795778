"""The provider pacer's writes, each one Lua script over one provider's keys (ADR 0020).

The time is Redis's own (``TIME``), so that every worker, whatever its clock, reads one timeline.
A permit is granted only when:

- the provider is not paused (``paused``, a key with the pause as its expiry),
- fewer than ``concurrency`` permits are out (``inflight``: prompt ids scored by when their lease
  ends; a worker that died holding one frees it when the lease ends),
- the tokens debited in the current window (``tokens:<window>``) are below ``token_limit``,
- the request rate allows it: GCRA over ``tat`` (the theoretical arrival time), ``interval_ms``
  apart with a burst of ``burst``.

The wait room is start-time fair queueing: each waiting caller has a start tag in ``callers``
(a sorted set), its prompts in one list per priority. The caller with the lowest tag is served;
its tag then advances by 1/weight. ``clock`` is the tag of the last one served: a caller that
becomes active starts at the clock (or at its own last finish tag, when later), so time without
prompts earns it no credit. ``members`` maps each waiting prompt to its caller.
"""

from __future__ import annotations

from typing import NamedTuple

from ai_gateway.integration.redis_scripts import NamedScript

CONCURRENCY_POLL_MS = 100
"""How soon to ask again when every concurrency slot is out (a release frees one any time)."""


class PaceKeys(NamedTuple):
    base: str  # the provider's key prefix; each caller's queues and token windows are under it
    callers: str  # waiting callers by start tag
    members: str  # waiting prompt id -> caller
    weights: str  # caller -> weight
    finish: str  # caller -> finish tag of its last prompt served
    clock: str  # the virtual clock: the start tag of the last prompt served
    inflight: str  # prompt ids holding a permit, by end of lease (epoch ms)
    tat: str  # GCRA's theoretical arrival time (epoch ms)
    paused: str  # present while the provider is paused


class Limits(NamedTuple):
    """A provider's limits, the arguments every pacing script starts with (TAKE takes no more)."""

    interval_ms: int  # 0: no request rate
    burst: int
    concurrency: int  # 0: no limit
    token_limit: int  # 0: no token budget
    token_period_ms: int
    lease_ms: int  # how long a permit is held at most


class AdmitArgs(NamedTuple):
    interval_ms: int
    burst: int
    concurrency: int
    token_limit: int
    token_period_ms: int
    lease_ms: int
    prompt_id: str
    item: str  # what the room keeps: "<prompt id>:<attempt>"
    caller: str  # the prompt's owner, made safe for key names
    priority: str
    weight: float


class ReleaseArgs(NamedTuple):
    interval_ms: int
    burst: int
    concurrency: int
    token_limit: int
    token_period_ms: int
    lease_ms: int
    prompt_id: str
    tokens: int


_GATE = f"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, burst = tonumber(ARG.interval_ms), tonumber(ARG.burst)
local concurrency, lease = tonumber(ARG.concurrency), tonumber(ARG.lease_ms)
local token_limit, token_period = tonumber(ARG.token_limit), tonumber(ARG.token_period_ms)
local PRIORITIES = {{'interactive', 'batch'}}

local function queue_key(caller, priority) return KEY.base .. ':q:' .. caller .. ':' .. priority end
local function tokens_key() return KEY.base .. ':tokens:' .. math.floor(now / token_period) end

-- milliseconds until a permit may be granted; 0 now
local function gate()
  redis.call('ZREMRANGEBYSCORE', KEY.inflight, '-inf', now)
  local paused = redis.call('PTTL', KEY.paused)
  if paused > 0 then return paused end
  if concurrency > 0 and redis.call('ZCARD', KEY.inflight) >= concurrency then
    return {CONCURRENCY_POLL_MS}
  end
  if token_limit > 0 and tonumber(redis.call('GET', tokens_key()) or '0') >= token_limit then
    return (math.floor(now / token_period) + 1) * token_period - now
  end
  if interval > 0 then
    local allowed_at = tonumber(redis.call('GET', KEY.tat) or '0') - interval * (burst - 1)
    if allowed_at > now then return allowed_at - now end
  end
  return 0
end

local function grant(prompt_id)
  if interval > 0 then
    local tat = math.max(tonumber(redis.call('GET', KEY.tat) or '0'), now) + interval
    redis.call('SET', KEY.tat, tat, 'PX', tat - now + interval * burst)
  end
  redis.call('ZADD', KEY.inflight, now + lease, prompt_id)
  redis.call('PEXPIRE', KEY.inflight, lease)
end
"""

ADMIT: NamedScript[PaceKeys, AdmitArgs] = NamedScript(
    PaceKeys,
    AdmitArgs,
    _GATE
    + """
if redis.call('HEXISTS', KEY.members, ARG.prompt_id) == 1 then return {'waiting', -1} end
local wait = gate()
if redis.call('ZSCORE', KEY.inflight, ARG.prompt_id) then return {'held', -1} end
if wait == 0 and redis.call('ZCARD', KEY.callers) == 0 then
  grant(ARG.prompt_id)
  return {'granted', 0}
end
redis.call('HSET', KEY.members, ARG.prompt_id, ARG.caller)
redis.call('RPUSH', queue_key(ARG.caller, ARG.priority), ARG.item)
redis.call('HSET', KEY.weights, ARG.caller, ARG.weight)
if not redis.call('ZSCORE', KEY.callers, ARG.caller) then
  local clock = tonumber(redis.call('GET', KEY.clock) or '0')
  local finish = tonumber(redis.call('HGET', KEY.finish, ARG.caller) or '0')
  redis.call('ZADD', KEY.callers, math.max(clock, finish), ARG.caller)
end
local ahead = redis.call('HLEN', KEY.members) - 1
return {'queued', wait + ahead * interval}
""",
)
"""``{outcome, estimated wait in ms}``: ``granted`` (a permit), ``queued`` (in the room),
``waiting`` (in the room already) or ``held`` (being submitted under a permit)."""

TAKE: NamedScript[PaceKeys, Limits] = NamedScript(
    PaceKeys,
    Limits,
    _GATE
    + """
local wait = gate()
if redis.call('ZCARD', KEY.callers) == 0 then return {'', -1} end
if wait > 0 then return {'', wait} end
for _ = 1, 16 do
  local head = redis.call('ZRANGE', KEY.callers, 0, 0, 'WITHSCORES')
  if #head == 0 then return {'', -1} end
  local caller, start = head[1], tonumber(head[2])
  local item
  for _, priority in ipairs(PRIORITIES) do
    item = redis.call('LPOP', queue_key(caller, priority))
    if item then break end
  end
  local finish = start + 1 / tonumber(redis.call('HGET', KEY.weights, caller) or '1')
  redis.call('SET', KEY.clock, start)
  local left = 0
  for _, priority in ipairs(PRIORITIES) do
    left = left + redis.call('LLEN', queue_key(caller, priority))
  end
  if left == 0 then
    redis.call('ZREM', KEY.callers, caller)
    redis.call('HSET', KEY.finish, caller, finish)
  else
    redis.call('ZADD', KEY.callers, finish, caller)
  end
  if item then
    local prompt_id = string.match(item, '^[^:]+')
    redis.call('HDEL', KEY.members, prompt_id)
    grant(prompt_id)
    return {item, 0}
  end
end
return {'', -1}
""",
)
"""``{item, 0}`` with a permit granted to the item's prompt; ``{'', wait in ms}`` while the
limits refuse; ``{'', -1}`` when nothing waits."""

RELEASE: NamedScript[PaceKeys, ReleaseArgs] = NamedScript(
    PaceKeys,
    ReleaseArgs,
    _GATE
    + """
redis.call('ZREM', KEY.inflight, ARG.prompt_id)
local tokens = tonumber(ARG.tokens)
if tokens > 0 and token_limit > 0 then
  local key = tokens_key()
  redis.call('INCRBY', key, tokens)
  redis.call('PEXPIRE', key, token_period * 2)
end
return 1
""",
)
"""Frees the prompt's permit and debits the tokens its call used from the current window."""


class PauseKeys(NamedTuple):
    paused: str


class PauseArgs(NamedTuple):
    milliseconds: int


PAUSE: NamedScript[PauseKeys, PauseArgs] = NamedScript(
    PauseKeys,
    PauseArgs,
    """
if redis.call('PTTL', KEY.paused) < tonumber(ARG.milliseconds) then
  redis.call('SET', KEY.paused, '1', 'PX', ARG.milliseconds)
end
return 1
""",
)
"""Pauses the provider for at least this long; a longer pause already set is kept."""
