"""Lua scripts whose KEYS and ARGV are named, not numbered.

A script declares its keys and its arguments as two ``NamedTuple`` classes (one documented field
each). The body reads ``KEY.record`` and ``ARG.owner``, and a call site builds both tuples by
keyword. The order lives in one place, the tuple, and the source and the call follow it: nothing
is positional by hand, and the call is still one EVALSHA.

Each name is replaced by its position when the source is built (``KEY.record`` is sent as
``KEYS[1]``), so a call builds no table of names: Redis runs the whole script on every call, and
a table of twenty named arguments cost the creation script more than several of its commands
(docs/performance.md). A name that is not a field is refused when the script is built, instead
of reading as nil when it runs.

- The last argument may be ``variadic``: it takes a list, and Lua reads every remaining ARGV
  entry as the table ``ARG.<name>``.
- Trailing keys may be None: they are left out and read as nil in Lua.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

KeysT = TypeVar("KeysT", bound=NamedTuple)
ArgsT = TypeVar("ArgsT", bound=NamedTuple)

_NAMED = re.compile(r"\b(ARG|KEY)\b(?:\.([A-Za-z_]\w*))?")


class NamedScript(Generic[KeysT, ArgsT]):
    def __init__(
        self, keys: type[KeysT], args: type[ArgsT], body: str, *, variadic: str | None = None
    ) -> None:
        if variadic is not None and args._fields[-1] != variadic:
            raise ValueError(f"the variadic argument {variadic!r} must be the last one")
        self.variadic = variadic is not None
        self.source = _positional(body, keys._fields, args._fields, variadic)

    def bind(self, redis: Redis) -> BoundScript[KeysT, ArgsT]:
        return BoundScript(self, redis)


class BoundScript(Generic[KeysT, ArgsT]):
    """A named script registered with one client (EVALSHA, loading it again if Redis lost it)."""

    def __init__(self, script: NamedScript[KeysT, ArgsT], redis: Redis) -> None:
        self._run = redis.register_script(script.source)
        self._variadic = script.variadic

    async def __call__(self, keys: KeysT, args: ArgsT, *, client: Redis | None = None) -> Any:
        """Runs the script; with a pipeline as ``client``, queues it there instead."""
        return await self._run(keys=_key_list(keys), args=self._arg_list(args), client=client)

    def queue(self, pipe: Pipeline, keys: KeysT, args: ArgsT) -> None:
        """Queues the script on ``pipe`` as a bare EVALSHA: unlike a call with the pipeline as
        ``client``, it costs no SCRIPT EXISTS first, and a NoScriptError in its reply says that
        Redis lost the script."""
        key_list = _key_list(keys)
        pipe.evalsha(self._run.sha, len(key_list), *key_list, *self._arg_list(args))

    def _arg_list(self, args: ArgsT) -> list[Any]:
        values = list(args)
        if self._variadic:
            rest: Sequence[Any] = values.pop()
            values.extend(rest)
        return values


def _key_list(keys: NamedTuple) -> list[str]:
    names = list(keys)
    while names and names[-1] is None:
        names.pop()
    if None in names:
        raise ValueError("only trailing keys may be left out")
    return names


def _positional(body: str, keys: Sequence[str], args: Sequence[str], variadic: str | None) -> str:
    """``body`` with each ``KEY.name`` and ``ARG.name`` replaced by its position; the variadic
    argument, read as a table, is built once by a prologue."""
    positions = {
        "KEY": {name: f"KEYS[{i}]" for i, name in enumerate(keys, 1)},
        "ARG": {name: f"ARGV[{i}]" for i, name in enumerate(args, 1)},
    }
    prologue = ""
    if variadic is not None:
        positions["ARG"][variadic] = f"ARG_{variadic}"
        prologue = f"local ARG_{variadic} = {{unpack(ARGV, {len(args)})}}\n"

    def position(match: re.Match[str]) -> str:
        table, name = match.groups()
        if name not in positions[table]:
            raise ValueError(f"{match.group(0)!r}: a script reads {table}.name, for a field name")
        return positions[table][name]

    return prologue + _NAMED.sub(position, body)
