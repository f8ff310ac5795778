"""The gateway's metrics, each defined once.

Module-level, as prometheus_client intends: in a worker process started with
``PROMETHEUS_MULTIPROC_DIR`` set, every value below is kept in that folder and the supervisor
adds them up (ADR 0022). Gauges read at scrape time (queue depth, lag, readiness, build) are not
here: ``exposition`` and the ``MetricsSource`` produce them when asked."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Histogram

QUICK: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""HTTP requests and provider calls: milliseconds to half a minute."""
SLOW: Final = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0,
    7200.0, 21600.0, 86400.0,
)  # fmt: skip
"""A prompt's life: a synchronous echo takes milliseconds, an answer or a callback retry hours."""

HTTP_DURATION: Final = Histogram(
    "ai_gateway_http_request_duration_seconds",
    "HTTP requests served, by route template, method and status class; _count is the requests.",
    ["route", "method", "status"],
    buckets=QUICK,
)

PROMPTS_CREATED: Final = Counter(
    "ai_gateway_prompts_created_total", "Prompts accepted, by kind and caller.", ["kind", "caller"]
)
PROMPTS_FINISHED: Final = Counter(
    "ai_gateway_prompts_finished_total",
    "Prompts reaching a final status (completed, faulted, cancelled), by kind and fault code.",
    ["kind", "status", "fault"],
)
PROMPT_STEP_SECONDS: Final = Histogram(
    "ai_gateway_prompt_step_seconds",
    "Time from a prompt's creation to each status it reaches (the final ones are its end).",
    ["kind", "step"],
    buckets=SLOW,
)

JOB_QUEUE_WAIT: Final = Histogram(
    "ai_gateway_job_queue_wait_seconds",
    "Time a job waited in the queue, from ready (queued or due) to taken by a worker, by step.",
    ["step"],
    buckets=SLOW,
)
JOB_DURATION: Final = Histogram(
    "ai_gateway_job_duration_seconds",
    "Time a worker spent on a job, by step and outcome (done, failed).",
    ["step", "outcome"],
    buckets=SLOW,
)
JOBS_DEAD_LETTERED: Final = Counter(
    "ai_gateway_jobs_dead_lettered_total",
    "Jobs dead-lettered after crashing every worker, by the step that failed.",
    ["step"],
)

PROVIDER_DURATION: Final = Histogram(
    "ai_gateway_provider_request_duration_seconds",
    "GenAI provider calls, by provider and outcome (answered, accepted for later, failed).",
    ["provider", "outcome"],
    buckets=QUICK,
)
PROVIDER_ERRORS: Final = Counter(
    "ai_gateway_provider_errors_total",
    "GenAI provider calls that failed, by provider and reason (the fault code).",
    ["provider", "reason"],
)
PROVIDER_TOKENS: Final = Counter(
    "ai_gateway_provider_tokens_total",
    "Tokens the GenAI provider reported, by provider, model, caller and direction (in, out).",
    ["provider", "model", "caller", "direction"],
)
ASYNC_ANSWERS: Final = Counter(
    "ai_gateway_provider_async_answers_total",
    "Answers that arrived after the submission (internal API or CloudEvent), by provider.",
    ["provider"],
)

CALLBACK_DELIVERIES: Final = Counter(
    "ai_gateway_callback_deliveries_total",
    "Callback attempts by outcome: delivered, retried, gone (refused for good), dead_lettered.",
    ["outcome"],
)
CALLBACK_ATTEMPTS: Final = Histogram(
    "ai_gateway_callback_attempts",
    "Attempts a callback delivery took until delivered or dead-lettered.",
    ["outcome"],
    buckets=(1, 2, 3, 4, 5, 6, 8, 10, 15, 20),
)

JWKS_REFRESHES: Final = Counter(
    "ai_gateway_jwks_refreshes_total",
    "Fetches of the identity provider's signing keys, by outcome (ok, failed).",
    ["outcome"],
)
