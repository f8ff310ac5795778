# The team's entry points; CI runs `make check` then `make test` (see .ci/run).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run check fmt test bench assets clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)  ## create .venv with the gateway and its dev tools (pinned by constraints.txt)

run: $(STAMP)  ## run the gateway on its embedded default (no external services)
	$(BIN)/ai-gateway serve

check: $(STAMP)  ## format check, lint, strict typing, layer contracts
	$(BIN)/ruff format --check src tests bench deploy
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/mypy src tests bench deploy
	$(BIN)/lint-imports

fmt: $(STAMP)  ## format and autofix
	$(BIN)/ruff format src tests bench deploy
	$(BIN)/ruff check --fix src tests bench deploy

test: $(STAMP)  ## the whole test suite: unit, real Redis, ASGI API, real serve processes
	$(BIN)/pytest

bench: $(STAMP)  ## benchmarks: mediator, HTTP load, pipeline, event relay, serve's worker share, tracing and limits costs (wrk); docs/performance.md
	$(BIN)/python -m bench.mediator_overhead
	$(BIN)/python -m bench.http_load
	$(BIN)/python -m bench.pipeline_throughput
	$(BIN)/python -m bench.event_relay
	$(BIN)/python -m bench.event_relay --mode batched
	$(BIN)/python -m bench.serve_fair_share
	$(BIN)/python -m bench.tracing_overhead
	$(BIN)/python -m bench.limits_overhead

assets:  ## copy the pinned browser assets (web/package-lock.json) into the package
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && node bundle.mjs

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
