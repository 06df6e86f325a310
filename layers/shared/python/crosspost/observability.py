"""Logger, metrics and tracer, importable from anywhere (never from a handler module).

The tracer is created lazily: importing aws_xray_sdk costs cold-start time and is only useful
inside Lambda with tracing on (POWERTOOLS_TRACE_DISABLED is set everywhere else).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "crosspost"

# Anything that looks like a credential is masked before a record is emitted: JWTs, bearer
# tokens, our API keys, and "token=..."-style query/form parameters (Meta puts access_token in
# URLs). This is the last line of defence; code must not log secrets in the first place.
_SECRET_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"cp_(?:live|test)_[A-Za-z0-9_-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|app_?password|password|code_verifier|token)"
        r"[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"
    ),
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


class _RedactingFormatter(LambdaPowertoolsFormatter):
    """Redacts the whole formatted line: message, extra keys and tracebacks alike."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


logger = Logger(service=SERVICE, logger_formatter=_RedactingFormatter())
metrics = Metrics(namespace="Crosspost", service=SERVICE)

_tracer: Any = None


def tracer() -> Any:
    """The powertools Tracer, created on first use."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service=SERVICE)
    return _tracer
