"""The prompt store's two writes, each one Lua script (ADR 0002).

The record, its version check, its indexes, the deliveries due (ADR 0018) and its lifecycle events
(the outbox, ADR 0010) change together or not at all; a new prompt's first job is queued with it
(ADR 0028). Index keys are built inside Redis from the
stored owner, status and request id (``LUA_INDEX_KEYS``), so a save need not be told where a
prompt was indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ai_gateway.integration.redis_admission import LUA_ADMISSION, LUA_SAVE_ACCOUNTING
from ai_gateway.integration.redis_job_scripts import LUA_QUEUE_JOB, WAITING_MARGIN_MS
from ai_gateway.integration.redis_keys import LUA_INDEX_KEYS
from ai_gateway.integration.redis_scripts import NamedScript

OUTBOX_FULL = "!outbox-full"
MINUTE_COUNTS_TTL = 2 * 3600  # the overview reads the last hour by minute
HOUR_COUNTS_TTL = 26 * 3600  # and the last day by hour
ANSWER_TIMES_KEPT = 1000  # the latest creation-to-answer times, for the percentiles

# Numbers sent to Redis are written as strings ('0', not 0): a Lua number is formatted with
# printf inside Redis on every call, the dearest part of many commands here (docs/performance.md).
_HELPERS = (
    LUA_INDEX_KEYS
    + f"""
local function publish(P, events)
  for _, e in ipairs(events) do redis.call('XADD', outbox_key(P), '*', 'e', e) end
end
-- A minute's or an hour's counts get their life from the first count in it, not from every
-- count: the life outlasts what the overview reads by well over the minute or hour it may start
-- early, and the write saves two commands.
local function count(P, status, now)
  local minute = math.floor(tonumber(now) / 60000)
  local mk, hk = stats_minute_key(P, minute), stats_hour_key(P, math.floor(minute / 60))
  if redis.call('HINCRBY', mk, status, '1') == 1 then
    redis.call('EXPIRE', mk, '{MINUTE_COUNTS_TTL}')
  end
  if redis.call('HINCRBY', hk, status, '1') == 1 then
    redis.call('EXPIRE', hk, '{HOUR_COUNTS_TTL}')
  end
end
local function sweep(P, now)
  local due = redis.call('ZRANGEBYSCORE', retention_key(P), '-inf', now, 'LIMIT', '0', '20')
  for _, id in ipairs(due) do
    local key = prompt_key(P, id)
    local f = redis.call('HMGET', key, 'o', 's', 'r', 'm')
    if f[1] then
      for _, k in ipairs(index_keys(P, f[1], f[2], f[3])) do redis.call('ZREM', k, f[4]) end
      redis.call('DEL', key)
    end
    redis.call('ZREM', retention_key(P), id)
    redis.call('ZREM', deliveries_due_key(P), id)
    redis.call('ZREM', deliveries_dead_key(P), id)
  end
end
"""
)


class CreateKeys(NamedTuple):
    record: str  # the prompt's hash
    idempotency: str | None = None  # the Idempotency-Key record, when the request has one


class CreateArgs(NamedTuple):
    prefix: str  # the key prefix, for the keys the script builds itself
    data: str  # the prompt's JSON record
    owner: str  # encoded with key_part
    status: str
    request_id: str  # encoded with key_part; '' when none
    prompt_id: str
    now_ms: int  # the clock for the retention sweep
    outbox_bound: int  # refuse the prompt when this many events wait; 0: no outbox
    idempotency_record: str = ""  # the JSON kept under KEY.idempotency
    idempotency_ttl: int = 0  # seconds
    backlog_max: int = 0  # refuse while this many prompts wait for a provider; 0: no bound
    rate_key: str = ""  # the caller's count of creations in its rate window (ADR 0019)
    rate_count: int = 0  # creations per period; 0: no rate limit
    rate_period_ms: int = 0
    in_flight: int = 0  # the owner's prompts not yet final; 0: no limit
    tokens_per_day: int = 0  # the caller's provider tokens of the UTC day; 0: no budget
    caller: str = ""  # the name the caller's limits go by, encoded with key_part
    job_step: str = ""  # the first job, queued with the prompt; '' for none
    job_attempt: int = 1
    traceparent: str = ""  # the prompt's trace context ('' for none), kept with the job
    tracestate: str = ""
    events: Sequence[str] = ()  # outbox entries, appended in order


CREATE: NamedScript[CreateKeys, CreateArgs] = NamedScript(
    CreateKeys,
    CreateArgs,
    _HELPERS
    + LUA_ADMISSION
    + LUA_QUEUE_JOB
    + """
local P = ARG.prefix
if KEY.idempotency then
  local earlier = redis.call('GET', KEY.idempotency)
  if earlier then return earlier end
end
if ARG.outbox_bound ~= '0' and redis.call('XLEN', outbox_key(P)) >= tonumber(ARG.outbox_bound) then
  return '"""
    + OUTBOX_FULL
    + """'
end
local verdict = admission(P, ARG.owner)
if verdict[1] ~= 'admitted' then return verdict end
if KEY.idempotency then
  redis.call('SET', KEY.idempotency, ARG.idempotency_record, 'EX', ARG.idempotency_ttl)
end
publish(P, ARG.events)
local member = string.format('%016d:%s', redis.call('INCR', sequence_key(P)), ARG.prompt_id)
redis.call('HSET', KEY.record, 'd', ARG.data, 'v', '1', 'o', ARG.owner, 's', ARG.status,
           'r', ARG.request_id, 'm', member)
for _, k in ipairs(index_keys(P, ARG.owner, ARG.status, ARG.request_id)) do
  redis.call('ZADD', k, '0', member)
end
if ARG.job_step ~= '' then
  local job = queue_job(jobs_key(P), ARG.job_step, ARG.prompt_id, ARG.job_attempt,
                        ARG.traceparent, ARG.tracestate)
  -- The prompt is new, and so is its set of waiting jobs: it has no longer life to keep.
  local waiting = jobs_waiting_key(P, ARG.prompt_id)
  redis.call('SADD', waiting, job)
  redis.call('PEXPIRE', waiting, '"""
    + str(WAITING_MARGIN_MS)
    + """')
end
count(P, ARG.status, ARG.now_ms)
sweep(P, ARG.now_ms)
return verdict
""",
    variadic="events",
)
"""Returns the earlier idempotency record, ``OUTBOX_FULL``, or the admission's verdict (a list,
``redis_admission``): stored, with its first job, when it is ``admitted``, else refused with
nothing written."""


class SaveKeys(NamedTuple):
    record: str  # the prompt's hash


class SaveArgs(NamedTuple):
    prefix: str  # the key prefix, for the keys the script builds itself
    prompt_id: str
    expected_version: int  # the version the caller loaded: the compare-and-set
    data: str  # the prompt's JSON record
    status: str
    deadline_ms: str  # retention deadline once settled; '' for none
    now_ms: int  # the clock for the retention sweep
    delivery_due_ms: str = ""  # when the callback owed is due; '' when none is owed
    dead_letter_ms: str = ""  # when its callback was dead-lettered; '' when it was not
    answer_ms: str = ""  # creation to answer, when this save records the answer; '' otherwise
    tokens: int = 0  # provider tokens of the answer this save records, for the caller's budget
    caller: str = ""  # whose budget they count in, encoded with key_part
    callback: int = 1  # 0: the prompt has no callback, so no delivery set ever holds it
    events: Sequence[str] = ()  # outbox entries, appended in order


SAVE: NamedScript[SaveKeys, SaveArgs] = NamedScript(
    SaveKeys,
    SaveArgs,
    _HELPERS
    + LUA_SAVE_ACCOUNTING
    + """
local P = ARG.prefix
local cur = redis.call('HMGET', KEY.record, 'v', 'o', 's', 'm', 'x')
if not cur[1] then return -1 end
if cur[1] ~= ARG.expected_version then return 0 end
account(P, ARG.caller, ARG.tokens)
local version = tonumber(cur[1]) + 1
if ARG.deadline_ms ~= '' then
  redis.call('HSET', KEY.record, 'd', ARG.data, 'v', version, 's', ARG.status, 'x', ARG.deadline_ms)
  redis.call('ZADD', retention_key(P), ARG.deadline_ms, ARG.prompt_id)
else
  redis.call('HSET', KEY.record, 'd', ARG.data, 'v', version, 's', ARG.status)
  if cur[5] then  -- settled no more (an operator's retry): kept until it settles again
    redis.call('HDEL', KEY.record, 'x')
    redis.call('ZREM', retention_key(P), ARG.prompt_id)
  end
end
publish(P, ARG.events)
if cur[3] ~= ARG.status then
  local o, member = cur[2], cur[4]
  for _, k in ipairs(status_index_keys(P, o, cur[3])) do redis.call('ZREM', k, member) end
  for _, k in ipairs(status_index_keys(P, o, ARG.status)) do redis.call('ZADD', k, '0', member) end
  count(P, ARG.status, ARG.now_ms)
  if ARG.answer_ms ~= '' and redis.call('LPUSH', answer_times_key(P), ARG.answer_ms) > """
    + str(ANSWER_TIMES_KEPT)
    + """ then
    redis.call('LTRIM', answer_times_key(P), '0', '"""
    + str(ANSWER_TIMES_KEPT - 1)
    + """')
  end
end
if ARG.callback ~= '0' then
  if ARG.delivery_due_ms == '' then
    redis.call('ZREM', deliveries_due_key(P), ARG.prompt_id)
  else
    redis.call('ZADD', deliveries_due_key(P), ARG.delivery_due_ms, ARG.prompt_id)
  end
  if ARG.dead_letter_ms == '' then
    redis.call('ZREM', deliveries_dead_key(P), ARG.prompt_id)
  else
    redis.call('ZADD', deliveries_dead_key(P), ARG.dead_letter_ms, ARG.prompt_id)
  end
end
sweep(P, ARG.now_ms)
return version
""",
    variadic="events",
)
"""Returns the new version, 0 when the version moved on, -1 when the record is gone."""
