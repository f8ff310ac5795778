"""What tracing costs prompt creation: ``POST /api/prompts`` with tracing off, on at 100 % and on
at 10 % sampling, and, with ``--before NAME=SRC`` (repeatable), earlier code of the gateway (a
checkout's ``src`` folder: before tracing, before metrics) as the references for "off".

Traced variants export over OTLP/HTTP to a receiver in this process that decodes every batch
(``tests.otlp_receiver``). How the variants are run and compared: ``bench.variants``.

    python -m bench.tracing_overhead [--duration 10] [--rounds 3] [--before "before tracing=SRC"]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.otlp_receiver import OtlpReceiver

from bench.variants import Variants, compare, report


def variants(receiver: OtlpReceiver, before: dict[str, Path]) -> Variants:
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}
    found = {
        "tracing off": {},
        "on, 100 %": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
        "on, 10 %": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                     "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    }  # fmt: skip
    return {**{name: {"PYTHONPATH": str(src)} for name, src in before.items()}, **found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--before", action="append", default=[], metavar="NAME=SRC",
        help="a reference: the src folder of an earlier gateway, under a name",
    )  # fmt: skip
    args = parser.parse_args()
    before = {name: Path(src) for name, _, src in (b.partition("=") for b in args.before)}
    receiver = OtlpReceiver()
    receiver.start()
    try:
        record = compare(variants(receiver, before), args.duration, args.connections, args.rounds)
    finally:
        receiver.stop()
    record["spans_received"] = len(receiver.spans)
    report(record, "tracing_overhead", duration_s=args.duration, connections=args.connections,
           rounds=args.rounds)  # fmt: skip


if __name__ == "__main__":
    main()
