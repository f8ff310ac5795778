"""Admission of a new prompt, inside the prompt store's creation script (ADR 0019).

The checks run after the idempotency claim is read and before anything is written, so a refused
creation writes nothing and costs no round trip of its own:

- the backlog: prompts created, preparing or prepared, counted from the status indexes (ZCARD),
  refused past ``BACKLOG_MAX_PROMPTS`` with a wait estimated from the drain rate: the prompts
  submitted to a provider this minute and the last, from the overview's counters that the save
  script keeps anyway, so admission adds no command to a save;
- in flight: the owner's prompts not yet final, from its status indexes;
- the token budget: ``P:limits:tokens:{caller}:{day}``, added to by the save that records an
  answer's usage, the day being the UTC day by Redis's clock;
- the rate: a window per caller that opens with its first creation and lasts one period
  (``P:limits:rate:{caller}``, a count that expires with the window); counted only when the
  creation is admitted.

Every clock reading is Redis's ``TIME``, taken only when a check needs it: processes on different
machines share one clock.
Refusals are counted per reason in ``P:limits:refused`` for the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ai_gateway.application.errors import AdmissionRefused
from ai_gateway.application.ports.limits import Refusal, Standing
from ai_gateway.domain.limits import CallerLimits
from ai_gateway.domain.prompt import PromptStatus

UNKNOWN_DRAIN_WAIT_MS: Final = 30_000
"""The wait suggested when nothing left the backlog lately (no worker running, say)."""
MAX_BACKLOG_WAIT_MS: Final = 300_000
IN_FLIGHT_WAIT_MS: Final = 5_000
NOT_SET: Final = -1

BACKLOG_STATUSES: Final = (PromptStatus.CREATED, PromptStatus.PREPARING, PromptStatus.PREPARED)
"""Prompts accepted and not yet handed to a provider."""
IN_FLIGHT_STATUSES: Final = (*BACKLOG_STATUSES, PromptStatus.SUBMITTED)
"""Prompts not yet final."""


def _lua_list(statuses: tuple[PromptStatus, ...]) -> str:
    return "{" + ", ".join(f"'{s.value}'" for s in statuses) + "}"


_LUA_STATUSES = (
    f"""
local BACKLOG = {_lua_list(BACKLOG_STATUSES)}
local IN_FLIGHT = {_lua_list(IN_FLIGHT_STATUSES)}
"""
    + """local function redis_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function tokens_key(P, caller, day) return P..':limits:tokens:'..caller..':'..day end
"""
)

LUA_SAVE_ACCOUNTING = (
    _LUA_STATUSES
    + f"""
-- A recorded answer's tokens count toward its caller's budget of the day; the key outlives the
-- day it counts, and is given that life when the day's first answer creates it.
local function account(P, caller, tokens)
  if tokens == '0' then return end
  local key = tokens_key(P, caller, math.floor(redis_ms() / 86400000))
  if redis.call('INCRBY', key, tokens) == tonumber(tokens) then
    redis.call('EXPIRE', key, '{2 * 86400}')
  end
end
"""
)

LUA_ADMISSION = (
    _LUA_STATUSES
    + f"""
local function count_in(P, keys_of, statuses)
  local n = 0
  for _, s in ipairs(statuses) do n = n + redis.call('ZCARD', keys_of(s)) end
  return n
end
local function drain_wait(P, now, excess)
  local minute = math.floor(now / 60000)
  local drained = 0
  for m = minute - 1, minute do
    drained = drained + tonumber(redis.call('HGET', stats_minute_key(P, m), 'submitted') or '0')
  end
  if drained == 0 then return {UNKNOWN_DRAIN_WAIT_MS} end
  local per_ms = drained / (now - (minute - 1) * 60000)
  return math.max(1000, math.min({MAX_BACKLOG_WAIT_MS}, math.ceil(excess / per_ms)))
end
-- Returns {{verdict, retry_after_ms, requests_remaining, requests_reset_ms, in_flight,
-- tokens_used, tokens_reset_ms}}, -1 for what does not apply; verdict 'admitted' or a refusal.
-- Reads the creation script's arguments (CreateArgs); a limit of '0' does not apply, and is
-- told from the string as it arrives, without converting it to a number.
local function admission(P, owner)
  local now = nil
  local function clock()
    if not now then now = redis_ms() end
    return now
  end
  local reply = {{'admitted', -1, -1, -1, -1, -1, -1}}
  local function refuse(reason, wait)
    redis.call('HINCRBY', P..':limits:refused', reason, '1')
    reply[1], reply[2] = reason, math.ceil(wait)
    return reply
  end
  if ARG.backlog_max ~= '0' then
    local bound = tonumber(ARG.backlog_max)
    local waiting = count_in(P, function(s) return P..':ix:s:'..s end, BACKLOG)
    if waiting >= bound then
      return refuse('{Refusal.BACKLOG}', drain_wait(P, clock(), waiting - bound + 1))
    end
  end
  if ARG.in_flight ~= '0' then
    local cap = tonumber(ARG.in_flight)
    reply[5] = count_in(P, function(s) return status_index_keys(P, owner, s)[2] end, IN_FLIGHT)
    if reply[5] >= cap then return refuse('{Refusal.IN_FLIGHT}', {IN_FLIGHT_WAIT_MS}) end
  end
  if ARG.tokens_per_day ~= '0' then
    local budget = tonumber(ARG.tokens_per_day)
    local day = math.floor(clock() / 86400000)
    reply[6] = tonumber(redis.call('GET', tokens_key(P, ARG.caller, day)) or '0')
    reply[7] = (day + 1) * 86400000 - now
    if reply[6] >= budget then return refuse('{Refusal.BUDGET}', reply[7]) end
  end
  if ARG.rate_count ~= '0' then
    local count = tonumber(ARG.rate_count)
    local used = tonumber(redis.call('GET', ARG.rate_key) or '0')
    local left = redis.call('PTTL', ARG.rate_key)
    if left < 0 then left = tonumber(ARG.rate_period_ms) end
    reply[4] = left
    if used >= count then
      reply[3] = 0
      return refuse('{Refusal.RATE}', left)
    end
    if redis.call('INCR', ARG.rate_key) == 1 then
      redis.call('PEXPIRE', ARG.rate_key, ARG.rate_period_ms)
    end
    reply[3] = count - used - 1
  end
  return reply
end
"""
)

_DETAILS: Final = {
    Refusal.BACKLOG: "the gateway has as many prompts waiting as it takes; try again later",
    Refusal.IN_FLIGHT: "as many of your prompts are in flight as your limit allows",
    Refusal.BUDGET: "your provider tokens for today are spent",
    Refusal.RATE: "you are creating prompts faster than your limit allows",
}


def whole_seconds(ms: int) -> int:
    """Milliseconds to wait, rounded up to the seconds a header or a body tells."""
    return max(0, -(-ms // 1000))


def _seconds(ms: int) -> int | None:
    return None if ms == NOT_SET else whole_seconds(ms)


def standing_of(reply: Sequence[object], limits: CallerLimits | None) -> Standing | None:
    """The caller's standing in the admission's reply; None without caller limits."""
    if limits is None:
        return None
    numbers = [int(str(n)) for n in reply[2:]]
    remaining, reset, in_flight, used, tokens_reset = numbers
    return Standing(
        limits,
        requests_remaining=None if remaining == NOT_SET else remaining,
        requests_reset_seconds=_seconds(reset),
        in_flight=None if in_flight == NOT_SET else in_flight,
        tokens_used=None if used == NOT_SET else used,
        tokens_reset_seconds=_seconds(tokens_reset),
    )


def raise_if_refused(reply: Sequence[object], limits: CallerLimits | None) -> Standing | None:
    """The standing of an admitted creation; raises AdmissionRefused for a refused one."""
    verdict = str(reply[0])
    standing = standing_of(reply, limits)
    if verdict == "admitted":
        return standing
    reason = Refusal(verdict)
    retry_after = max(1, _seconds(int(str(reply[1]))) or 1)
    raise AdmissionRefused(reason, _DETAILS[reason], retry_after=retry_after, standing=standing)
