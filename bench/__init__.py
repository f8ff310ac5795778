"""Benchmarks; run with `make bench`. Results are recorded in docs/performance.md."""
