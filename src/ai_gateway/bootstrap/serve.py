"""The served application: the HTTP side, with the worker beside it when ``SERVE_WORKER`` says
so. It sits above both, so that neither the HTTP side nor the container knows the worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from dishka import Provider
from fastapi import FastAPI

from ai_gateway.bootstrap.http import build_http_app, build_http_container
from ai_gateway.bootstrap.worker import WorkerProvider, run_worker
from ai_gateway.settings import Settings
from ai_gateway.tracing import configure_tracing


def create_app(
    settings: Settings | None = None,
    *,
    embedded: bool = False,
    overrides: Sequence[Provider] = (),
) -> FastAPI:
    """The ASGI application for these settings (read from the environment when omitted).

    ``overrides`` are dishka providers that replace adapters (see ``bootstrap.container``); the
    in-process worker uses them too. With ``SERVE_WORKER`` (on by default for the embedded
    set-up) the worker runs in the same process, next to the API: ``SERVE_WORKER_CONCURRENCY``
    jobs at once, and the API ``SERVE_CREATION_CONCURRENCY`` creations at once, so that it
    leaves the worker its share of the loop (ADR 0031)."""
    settings = settings or Settings()
    configure_tracing()  # before the app is built: it gets request spans only when traced
    if not settings.redis_configured:
        raise ValueError(
            "neither REDIS_URL nor REDIS_SENTINELS is set: run `ai-gateway serve` for the "
            "embedded server"
        )
    in_process = settings.serve_worker if settings.serve_worker is not None else embedded
    rooms = (WorkerProvider(settings.serve_worker_concurrency),) if in_process else ()
    container = build_http_container(settings, *rooms, embedded=embedded, overrides=overrides)

    @asynccontextmanager
    async def background() -> AsyncIterator[None]:
        if not in_process:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(container, settings, stop), name="worker")
        try:
            yield
        finally:
            stop.set()
            await task

    # the loop is shared: the API is held to a number of creations at once (ADR 0031)
    creations_at_once = settings.serve_creation_concurrency if in_process else 0
    return build_http_app(container, settings, background, creations_at_once=creations_at_once)
