"""Logging: one configuration for our loggers and uvicorn's, as console text or JSON lines.

Every record passes ``UntrustedText`` on its way out: credentials in query strings become
``[redacted]`` and control characters are escaped, so that a request line cannot hide a key in
the access log or forge a log line of its own. Every line carries the trace and span ids and what
is known of the work in hand (``tracing.trace_fields``).
"""

from __future__ import annotations

import logging
import re
import sys
from urllib.parse import unquote

import structlog

from ai_gateway.tracing import trace_fields

CREDENTIAL_WORDS = (
    "key", "token", "secret", "passw", "pwd", "signature", "sig", "credential", "auth", "jwt",
    "session", "cookie", "code",
)  # fmt: skip
"""A query parameter whose name, percent-decoded, lowercased and without ``-`` and ``_``,
contains one of these has its value redacted: a list of exact names always misses one."""
_PARAMETER = re.compile(r"([?&;])([^=&;#\s\"]*)=([^&;#\s\"]*)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact(text: str) -> str:
    """``text`` with credential query parameters hidden and control characters escaped."""
    text = _PARAMETER.sub(_redacted, text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _redacted(match: re.Match[str]) -> str:
    name = match.group(2)
    for _ in range(3):  # a name encoded twice (%2561) is decoded twice by some servers
        name = unquote(name)
    name = name.lower().replace("-", "").replace("_", "")
    if any(word in name for word in CREDENTIAL_WORDS):
        return f"{match.group(1)}{match.group(2)}=[redacted]"
    return match.group()


class UntrustedText(logging.Filter):
    """Renders each record's message once, redacted; tracebacks stay as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def configure_logging(level: str, fmt: str) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            trace_fields,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(UntrustedText())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
