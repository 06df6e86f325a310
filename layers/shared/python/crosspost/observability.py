"""Logger, metrics and tracer, importable from anywhere (never from a handler module).

The tracer is created lazily: importing aws_xray_sdk costs cold-start time and is only useful
inside Lambda with tracing on (POWERTOOLS_TRACE_DISABLED is set everywhere else).
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from crosspost.redaction import redact

SERVICE = "crosspost"

# Anything that looks like a credential is masked before a record is emitted (crosspost.redaction).
# This is the last line of defence; code must not log secrets in the first place.
__all__ = ["logger", "metrics", "redact", "tracer"]

# Libraries that log what they handle: botocore at DEBUG logs request bodies (SecretString
# included), httpx at INFO logs every URL (Meta puts access_token in URLs), powertools' resolver
# at DEBUG logs each route's arguments (a connect body). Their records go to the root handler
# (Lambda's), not through the redacting formatter below, so they never log below WARNING.
for _noisy in (
    "botocore",
    "boto3",
    "urllib3",
    "httpx",
    "httpcore",
    "s3transfer",
    "aws_lambda_powertools.event_handler",
):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


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
