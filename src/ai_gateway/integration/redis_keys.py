"""Every Redis key name the gateway uses, under one configurable prefix ``P``.

Prompt store (ADR 0002):

- ``P:prompt:{id}``  a prompt's hash
- ``P:ix:all``, ``P:ix:o:{owner}``, ``P:ix:o:{owner}:s:{status}``, ``P:ix:s:{status}``,
  ``P:ix:o:{owner}:r:{request_id}``, ``P:ix:r:{request_id}``  listing indexes
- ``P:seq``  the creation counter; ``P:retention``  settled prompts by deadline
- ``P:idem:{hash}``  Idempotency-Key records

Jobs (ADR 0008, 0018): ``P:jobs`` stream, ``P:jobs:due`` delayed jobs, ``P:jobs:dead`` dead
letters, ``P:jobs:waiting:{id}`` a prompt's waiting jobs, ``P:deliveries:due`` prompts whose
callback is owed, by when, ``P:deliveries:dead`` prompts whose callback was dead-lettered, by
when, ``P:reconciler`` the reconciler's leader lock.

Overview (ADR 0023): ``P:stats:m:{minute}`` and ``P:stats:h:{hour}`` count the prompts entering
each status in that minute or hour (since the epoch), ``P:stats:answer-ms`` the latest
creation-to-answer times.

Callers seen (ADR 0023): ``P:callers`` (owner id -> when and how) and ``P:callers:seen`` (by when).

Events (ADR 0010): ``P:outbox`` stream, ``P:outbox:dead`` refused events, ``P:outbox:relay`` the
relay's leader lock; received events in ``P:events:seen:{hash}``, ``P:events:data``,
``P:events:unsettled`` and the ``P:events:log`` stream.

Caller limits (ADR 0019): ``P:limits:callers`` an administrator's limits by caller name,
``P:limits:rate:{caller}`` a caller's creations in its current rate window,
``P:limits:tokens:{caller}:{day}`` a caller's provider tokens of a UTC day, ``P:limits:refused``
refusals by reason.

Owner and request ids are percent-encoded (``key_part``) so that no value can forge another key.
The prompt scripts build index keys from stored fields inside Redis, and the job scripts a
prompt's waiting-job key, so ``LUA_INDEX_KEYS`` spells the same names in Lua; a test holds the two
spellings together.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


def key_part(value: str) -> str:
    """A value made safe to embed in a key name (no ``:`` or other separator survives)."""
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str

    def prompt(self, prompt_id: str) -> str:
        return f"{self.prefix}:prompt:{prompt_id}"

    def index(
        self, *, owner: str | None = None, status: str | None = None, request_id: str | None = None
    ) -> str:
        """The listing index for these criteria (raw values: encoded here). Status and request id
        together have no index of their own: the request id one is narrower."""
        if status is not None and request_id is not None:
            raise ValueError("no index combines a status and a request id")
        scope = f"{self.prefix}:ix"
        if owner is not None:
            scope += f":o:{key_part(owner)}"
        if request_id is not None:
            return f"{scope}:r:{key_part(request_id)}"
        if status is not None:
            return f"{scope}:s:{status}"
        return scope if owner is not None else f"{scope}:all"

    @property
    def sequence(self) -> str:
        return f"{self.prefix}:seq"

    @property
    def retention(self) -> str:
        return f"{self.prefix}:retention"

    def idempotency(self, key_hash: str) -> str:
        return f"{self.prefix}:idem:{key_hash}"

    @property
    def jobs(self) -> str:
        return f"{self.prefix}:jobs"

    @property
    def jobs_due(self) -> str:
        return f"{self.prefix}:jobs:due"

    @property
    def jobs_dead(self) -> str:
        return f"{self.prefix}:jobs:dead"

    def jobs_waiting(self, prompt_id: str) -> str:
        return f"{self.prefix}:jobs:waiting:{prompt_id}"

    @property
    def deliveries_due(self) -> str:
        return f"{self.prefix}:deliveries:due"

    @property
    def deliveries_dead(self) -> str:
        return f"{self.prefix}:deliveries:dead"

    def stats_minute(self, minute: int) -> str:
        return f"{self.prefix}:stats:m:{minute}"

    def stats_hour(self, hour: int) -> str:
        return f"{self.prefix}:stats:h:{hour}"

    @property
    def answer_times(self) -> str:
        return f"{self.prefix}:stats:answer-ms"

    @property
    def callers(self) -> str:
        return f"{self.prefix}:callers"

    @property
    def callers_seen(self) -> str:
        return f"{self.prefix}:callers:seen"

    @property
    def reconciler_lock(self) -> str:
        return f"{self.prefix}:reconciler"

    @property
    def caller_limits(self) -> str:
        return f"{self.prefix}:limits:callers"

    def caller_rate(self, caller: str) -> str:
        return f"{self.prefix}:limits:rate:{key_part(caller)}"

    def caller_tokens(self, caller: str, day: int) -> str:
        return f"{self.prefix}:limits:tokens:{key_part(caller)}:{day}"

    @property
    def refusals(self) -> str:
        return f"{self.prefix}:limits:refused"

    @property
    def outbox(self) -> str:
        return f"{self.prefix}:outbox"

    @property
    def outbox_dead(self) -> str:
        return f"{self.prefix}:outbox:dead"

    @property
    def relay_lock(self) -> str:
        return f"{self.prefix}:outbox:relay"

    def event_seen(self, event_hash: str) -> str:
        return f"{self.prefix}:events:seen:{event_hash}"

    @property
    def events_data(self) -> str:
        return f"{self.prefix}:events:data"

    @property
    def events_unsettled(self) -> str:
        return f"{self.prefix}:events:unsettled"

    @property
    def events_log(self) -> str:
        return f"{self.prefix}:events:log"


# Owner and request ids arrive already encoded: the scripts read them from the stored record.
LUA_INDEX_KEYS = """
local function prompt_key(P, id) return P..':prompt:'..id end
local function status_index_keys(P, o, s) return {P..':ix:s:'..s, P..':ix:o:'..o..':s:'..s} end
local function index_keys(P, o, s, r)
  local keys = {P..':ix:all', P..':ix:o:'..o}
  for _, k in ipairs(status_index_keys(P, o, s)) do table.insert(keys, k) end
  if r ~= '' then
    table.insert(keys, P..':ix:r:'..r)
    table.insert(keys, P..':ix:o:'..o..':r:'..r)
  end
  return keys
end
local function outbox_key(P) return P..':outbox' end
local function sequence_key(P) return P..':seq' end
local function retention_key(P) return P..':retention' end
local function jobs_key(P) return P..':jobs' end
local function jobs_waiting_key(P, id) return P..':jobs:waiting:'..id end
local function deliveries_due_key(P) return P..':deliveries:due' end
local function deliveries_dead_key(P) return P..':deliveries:dead' end
local function stats_minute_key(P, m) return P..':stats:m:'..m end
local function stats_hour_key(P, h) return P..':stats:h:'..h end
local function answer_times_key(P) return P..':stats:answer-ms' end
"""
