"""The ``ai-gateway`` command."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import uvicorn
from pydantic import SecretStr, ValidationError

from ai_gateway import __version__
from ai_gateway.bootstrap import create_app
from ai_gateway.integration.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from ai_gateway.observability import configure_logging
from ai_gateway.settings import Settings, parse_api_key

LOCAL_KEY_NAME = "local"


class _Stopped(Exception):
    """Raised by SIGINT/SIGTERM, so that every cleanup on the way out runs."""


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


def _local_api_key(data_dir: Path) -> tuple[str, Path]:
    """The embedded set-up's API key, generated once and kept (mode 600) in the data folder."""
    path = data_dir / "api-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"gw_{secrets.token_urlsafe(32)}\n")
    return path.read_text().strip(), path


def _serve(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    with ExitStack() as stack:
        embedded = settings.redis_url is None
        if embedded:
            data_dir = settings.data_dir.resolve()
            server = stack.enter_context(EmbeddedRedis(data_dir))
            key, key_path = _local_api_key(data_dir)
            settings = settings.model_copy(
                update={
                    "redis_url": SecretStr(server.url),
                    "mosaic_api_keys": (
                        *settings.mosaic_api_keys,
                        parse_api_key(f"{LOCAL_KEY_NAME}:{key}"),
                    ),
                }
            )
            print(f"Data folder:  {data_dir}", flush=True)
            print(f"Redis:        {server.url} (embedded, append-only)", flush=True)
            print(f"API key:      {key} (name '{LOCAL_KEY_NAME}', kept in {key_path})", flush=True)
        app = create_app(settings, embedded=embedded)
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
        )
        uvicorn.Server(config).run()
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
    serve.add_argument(
        "--data-dir", type=Path, help="data folder of the embedded set-up (DATA_DIR)"
    )
    args = parser.parse_args(argv)

    overrides = {
        name: value
        for name, value in (("host", args.host), ("port", args.port), ("data_dir", args.data_dir))
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print(f"ai-gateway: invalid settings:\n{exc}", file=sys.stderr)
        return 2
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
