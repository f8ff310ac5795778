"""The job queue's writes, each one Lua script (ADR 0008, 0018).

A prompt's waiting jobs (queued, delayed or running) are tokens in the set
``RedisKeys.jobs_waiting``: a stream entry id, or ``due:`` and the delayed set's member. The
tokens change in the same script as the job they stand for: added with it, moved with it from
the delayed set to the stream, removed when it is acknowledged. A token is checked against the
stream or the delayed set before it counts, so a job lost from the queue (trimmed, deleted by
hand) does not count as waiting, and the set expires a day after its latest job was due, should
tokens ever outlive their jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ai_gateway.integration.redis_keys import LUA_INDEX_KEYS
from ai_gateway.integration.redis_scripts import NamedScript

DELAYED_MARK = "due:"
WAITING_MARGIN_MS = 86_400_000

LUA_QUEUE_JOB = """
local function queue_job(stream, step, prompt_id, attempt, traceparent, tracestate)
  return redis.call('XADD', stream, '*', 'step', step, 'prompt_id', prompt_id,
                    'attempt', attempt, 'traceparent', traceparent, 'tracestate', tracestate)
end
"""
"""Appends a job to the stream. The creation script queues a prompt's first job with it, as
``ENQUEUE`` queues every other."""

_LUA_NOTE_WAITING = """
local function note_waiting(waiting, token, lifetime_ms)
  redis.call('SADD', waiting, token)
  if redis.call('PTTL', waiting) < tonumber(lifetime_ms) then
    redis.call('PEXPIRE', waiting, lifetime_ms)
  end
end
"""
"""Notes a prompt's waiting job; its tokens are kept at least ``lifetime_ms`` from now."""


class EnqueueKeys(NamedTuple):
    stream: str  # the job stream
    due: str  # delayed jobs, scored by when they are due (epoch seconds)
    waiting: str  # the prompt's waiting-job tokens


class EnqueueArgs(NamedTuple):
    step: str
    prompt_id: str
    attempt: int
    member: str  # the job as the delayed set keeps it (JSON)
    due_at: float  # epoch seconds; 0 to queue it now
    lifetime_ms: int  # how long the tokens are kept at least
    unless_waiting: int  # 1: queue nothing when the prompt has a job waiting
    traceparent: str  # the prompt's trace context ('' for none), kept with the job
    tracestate: str


ENQUEUE: NamedScript[EnqueueKeys, EnqueueArgs] = NamedScript(
    EnqueueKeys,
    EnqueueArgs,
    LUA_QUEUE_JOB
    + _LUA_NOTE_WAITING
    + f"""
if ARG.unless_waiting == '1' then
  for _, token in ipairs(redis.call('SMEMBERS', KEY.waiting)) do
    local alive
    if string.sub(token, 1, {len(DELAYED_MARK)}) == '{DELAYED_MARK}' then
      alive = redis.call('ZSCORE', KEY.due, string.sub(token, {len(DELAYED_MARK) + 1}))
    else
      alive = #redis.call('XRANGE', KEY.stream, token, token) > 0
    end
    if alive then return 0 end
    redis.call('SREM', KEY.waiting, token)
  end
end
local token
if tonumber(ARG.due_at) > 0 then
  redis.call('ZADD', KEY.due, ARG.due_at, ARG.member)
  token = '{DELAYED_MARK}' .. ARG.member
else
  token = queue_job(KEY.stream, ARG.step, ARG.prompt_id, ARG.attempt, ARG.traceparent,
                    ARG.tracestate)
end
note_waiting(KEY.waiting, token, ARG.lifetime_ms)
return 1
""",
)
"""Returns 1 when the job was queued, 0 when the prompt had a job waiting."""


class PromoteKeys(NamedTuple):
    due: str  # delayed jobs, scored by when they are due (epoch seconds)
    stream: str  # the job stream


class PromoteArgs(NamedTuple):
    prefix: str  # the key prefix, for the waiting-job keys the script builds itself
    now: float  # epoch seconds


PROMOTE: NamedScript[PromoteKeys, PromoteArgs] = NamedScript(
    PromoteKeys,
    PromoteArgs,
    LUA_INDEX_KEYS
    + f"""
local due = redis.call('ZRANGEBYSCORE', KEY.due, '-inf', ARG.now, 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local job = cjson.decode(member)
  local id = redis.call('XADD', KEY.stream, '*', 'step', job.step, 'prompt_id', job.prompt_id,
                        'attempt', tostring(job.attempt), 'traceparent', job.traceparent or '',
                        'tracestate', job.tracestate or '')
  redis.call('ZREM', KEY.due, member)
  local waiting = jobs_waiting_key(ARG.prefix, job.prompt_id)
  if redis.call('SREM', waiting, '{DELAYED_MARK}' .. member) == 1 then
    redis.call('SADD', waiting, id)
  end
end
return #due
""",
)
"""Moves due jobs to the stream, their tokens with them; returns how many."""


class AckKeys(NamedTuple):
    stream: str  # the job stream


class AckArgs(NamedTuple):
    group: str  # the consumer group
    prefix: str  # the key prefix, for the waiting-job keys the script builds itself
    entries: Sequence[str]  # for each job: its stream entry id, then its prompt's id


ACK: NamedScript[AckKeys, AckArgs] = NamedScript(
    AckKeys,
    AckArgs,
    LUA_INDEX_KEYS
    + """
local ids = {}
for i = 1, #ARG.entries, 2 do
  ids[#ids + 1] = ARG.entries[i]
  redis.call('SREM', jobs_waiting_key(ARG.prefix, ARG.entries[i + 1]), ARG.entries[i])
end
if #ids == 0 then return 0 end
redis.call('XACK', KEY.stream, ARG.group, unpack(ids))
redis.call('XDEL', KEY.stream, unpack(ids))
return #ids
""",
    variadic="entries",
)
"""Acknowledges and deletes jobs, each prompt with one job less waiting; returns how many."""


class ReleaseKeys(NamedTuple):
    stream: str  # the job stream
    waiting: str  # the job's prompt's waiting-job tokens


class ReleaseArgs(NamedTuple):
    group: str  # the consumer group
    consumer: str  # the worker giving the job up
    entry: str  # the job's stream entry id
    step: str
    prompt_id: str
    attempt: str


RELEASE: NamedScript[ReleaseKeys, ReleaseArgs] = NamedScript(
    ReleaseKeys,
    ReleaseArgs,
    """
local pending = redis.call('XPENDING', KEY.stream, ARG.group, ARG.entry, ARG.entry, 1)
if #pending == 0 or pending[1][2] ~= ARG.consumer then return 0 end
redis.call('XACK', KEY.stream, ARG.group, ARG.entry)
redis.call('XDEL', KEY.stream, ARG.entry)
redis.call('SREM', KEY.waiting, ARG.entry)
local id = redis.call('XADD', KEY.stream, '*', 'step', ARG.step, 'prompt_id', ARG.prompt_id,
                      'attempt', ARG.attempt)
redis.call('SADD', KEY.waiting, id)
return 1
""",
)
"""Gives a job its worker still holds back to the queue, as a new entry any worker reads next;
returns 0 when another worker has taken it over meanwhile."""
