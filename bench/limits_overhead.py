"""What caller limits and the backlog bound cost prompt creation: ``POST /api/prompts`` with no
limit at all, with the default backlog bound, and with the caller's own ``CALLER_LIMITS`` entry
(a rate, an in-flight limit and a token budget, set high enough never to refuse) or the ``"*"``
default's. The limits run inside the creation's one script (ADR 0019): what they may add is that
script's own reads, not a round trip. How the variants are run and compared: ``bench.variants``.

    python -m bench.limits_overhead [--duration 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json

from bench.variants import Variants, compare, report

_HIGH = {"requests": "100000000/day", "in_flight": 100_000_000, "tokens_per_day": 10**12}
_NO_BOUND = "100000000"  # far above what a run creates: the bound is checked, never reached

VARIANTS: Variants = {
    "no limits": {"BACKLOG_MAX_PROMPTS": "0"},
    "backlog bound": {"BACKLOG_MAX_PROMPTS": _NO_BOUND},
    "bound + own limits": {"BACKLOG_MAX_PROMPTS": _NO_BOUND,
                           "CALLER_LIMITS": json.dumps({"bench": _HIGH})},
    "bound + '*' limits": {"BACKLOG_MAX_PROMPTS": _NO_BOUND,
                           "CALLER_LIMITS": json.dumps({"*": _HIGH})},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    record = compare(VARIANTS, args.duration, args.connections, args.rounds)
    report(record, "limits_overhead", duration_s=args.duration, connections=args.connections,
           rounds=args.rounds)  # fmt: skip


if __name__ == "__main__":
    main()
