"""The ``ai-gateway`` command."""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import multiprocessing
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import uvicorn
from pydantic import SecretStr, ValidationError

from ai_gateway import __version__
from ai_gateway.api.http_edge import HeaderLimits, guarded_protocol
from ai_gateway.bootstrap.serve import create_app
from ai_gateway.bootstrap.worker import build_worker_container, run_worker
from ai_gateway.bootstrap.worker_endpoint import worker_endpoint
from ai_gateway.integration.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from ai_gateway.observability import configure_logging
from ai_gateway.settings import Settings, parse_api_key
from ai_gateway.tracing import TracingConfigurationError, check_tracing, configure_tracing

LOCAL_KEY_NAME = "local"


class _Stopped(Exception):
    """Raised by SIGINT/SIGTERM, so that every cleanup on the way out runs."""


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def _settle_heap() -> None:
    """Called once the process has built what it keeps (modules, the application, its models):
    that heap is moved out of the garbage collector's sight, so a full collection walks only
    objects made since, and the young generation is collected less often. At 700 allocations,
    requests in flight at each collection were promoted to the oldest generation and forced a
    full collection of ~150,000 objects several times a second under load (ADR 0030)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret of the embedded set-up, generated once and kept (mode 600) in the data folder."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make() + "\n")
    return path.read_text().strip()


def _serve(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing()
    with ExitStack() as stack:
        embedded = not settings.redis_configured
        if embedded:
            data_dir = settings.data_dir.resolve()
            server = stack.enter_context(EmbeddedRedis(data_dir))
            key_path, secret_path = data_dir / "api-key", data_dir / "callback-secret"
            key = _kept_secret(key_path, lambda: f"gw_{secrets.token_urlsafe(32)}")
            signing = settings.callback_signing_secret or SecretStr(
                _kept_secret(
                    secret_path, lambda: f"whsec_{base64.b64encode(os.urandom(32)).decode()}"
                )
            )
            settings = settings.model_copy(
                update={
                    "redis_url": SecretStr(server.url),
                    "mosaic_api_keys": (
                        *settings.mosaic_api_keys,
                        # the operator's own key: it also opens the console
                        parse_api_key(
                            {
                                "name": LOCAL_KEY_NAME,
                                "key": key,
                                "scopes": [settings.required_scope, settings.admin_scope],
                            }
                        ),
                    ),
                    "callback_signing_secret": signing,
                }
            )
            print(f"Data folder:  {data_dir}", flush=True)
            print(f"Redis:        {server.url} (embedded, append-only)", flush=True)
            print(f"API key:      {key} (name '{LOCAL_KEY_NAME}', kept in {key_path})", flush=True)
            print(f"Callbacks:    signed with the secret kept in {secret_path}", flush=True)
        app = create_app(settings, embedded=embedded)
        _settle_heap()
        print(
            f"AI Gateway {__version__} on http://{settings.host}:{settings.port}  (docs: /docs)",
            flush=True,
        )
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=settings.access_log,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            http=guarded_protocol(
                HeaderLimits(
                    max_bytes=settings.max_header_bytes,
                    max_count=settings.max_header_count,
                    read_timeout=settings.header_read_timeout_seconds,
                )
            ),
        )
        uvicorn.Server(config).run()
    return 0


def _worker_process(overrides: dict[str, object]) -> None:
    """One worker process: its own event loop, container and Redis connections."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing()

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        container = build_worker_container(settings)
        _settle_heap()
        try:
            await run_worker(container, settings, stop)
        finally:
            await container.close()

    asyncio.run(work())


def _work(settings: Settings, overrides: dict[str, object]) -> int:
    """Runs WORKER_PROCESSES worker processes; one that dies is started again."""
    configure_logging(settings.log_level, settings.log_format)
    if not settings.redis_configured:
        print("ai-gateway: the worker needs REDIS_URL or REDIS_SENTINELS (embedded, `serve` "
              "runs it)", file=sys.stderr)  # fmt: skip
        return 2
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children: list[multiprocessing.process.BaseProcess] = []
    with worker_endpoint(settings, lambda: sum(c.is_alive() for c in children)) as ended:
        for _ in range(settings.worker_processes):
            children.append(
                context.Process(target=_worker_process, args=(overrides,), daemon=False)
            )
            children[-1].start()
        print(
            f"AI Gateway worker: {len(children)} processes x {settings.worker_concurrency} jobs",
            flush=True,
        )
        while not stopping:
            for i, child in enumerate(children):
                if not child.is_alive():
                    print(f"worker process {child.pid} exited ({child.exitcode}); starting another",
                          file=sys.stderr, flush=True)  # fmt: skip
                    ended(child.pid)
                    children[i] = context.Process(target=_worker_process, args=(overrides,))
                    children[i].start()
            time.sleep(0.2)
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ai-gateway", description="Asynchronous GenAI prompt gateway."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the HTTP API (with an embedded Redis when REDIS_URL is unset)"
    )
    serve.add_argument("--host", help="address to listen on (HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (PORT)")
    serve.add_argument("--data-dir", type=Path, help="the embedded set-up's folder (DATA_DIR)")
    worker = commands.add_parser("worker", help="run background job workers (needs REDIS_URL)")
    worker.add_argument("--processes", type=int, help="worker processes (WORKER_PROCESSES)")
    worker.add_argument(
        "--concurrency", type=int, help="jobs at once per process (WORKER_CONCURRENCY)"
    )
    args = parser.parse_args(argv)

    options = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "data_dir": getattr(args, "data_dir", None),
        "worker_processes": getattr(args, "processes", None),
        "worker_concurrency": getattr(args, "concurrency", None),
    }
    overrides: dict[str, object] = {k: v for k, v in options.items() if v is not None}
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        print(f"ai-gateway: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        check_tracing(os.environ)
    except TracingConfigurationError as exc:
        print(f"ai-gateway: {exc}", file=sys.stderr)
        return 2
    if args.command == "worker":
        return _work(settings, overrides)
    # uvicorn takes these signals over while it serves, drains, then raises them again: our
    # handlers turn that (or a signal during start-up) into an orderly exit through the cleanup.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_stopped)
    try:
        return _serve(settings)
    except _Stopped:
        return 0
    except EmbeddedRedisError as exc:
        print(f"ai-gateway: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
