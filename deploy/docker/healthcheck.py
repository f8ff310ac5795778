"""The image's HEALTHCHECK: asks the gateway process of this container whether it is alive.

Slim images have no curl, so this is the standard library alone. Which process runs is read from
PID 1's command line (or given as the first argument): `serve` answers on PORT at /api/app/health,
`worker` on WORKER_METRICS_PORT at /health. Exit 0 when it answers 200, else 1.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def role() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    arguments = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    return "worker" if b"worker" in arguments else "serve"


def health_url(process: str) -> str:
    if process == "worker":
        return f"http://127.0.0.1:{os.environ.get('WORKER_METRICS_PORT', '9464')}/health"
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/api/app/health"


def main() -> int:
    url = health_url(role())
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 (a fixed http URL)
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        sys.stderr.write(f"unhealthy: {url}: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
