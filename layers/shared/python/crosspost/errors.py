"""Domain errors: typed, each with a stable API code (API.md "Errors").

Lower layers raise these; ``crosspost.api.errors`` is the one place that maps them to HTTP
responses. Messages must never contain a secret: adapters build them from parsed platform error
fields, never from request data that could hold a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from crosspost.redaction import redact, scrub


@dataclass(frozen=True)
class ErrorDetail:
    rule: str
    message: str
    field: str | None = None


class CrosspostError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        rule: str | None = None,
        field: str | None = None,
        platform: str | None = None,
        remediation: str | None = None,
        details: list[ErrorDetail] | None = None,
        platform_response: Any = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field
        self.platform = platform
        self.remediation = remediation
        self.details = details or []
        self.platform_response = platform_response
        self.http_status = http_status or self.status


class ValidationFailedError(CrosspostError):
    code = "validation_failed"
    status = 400

    @classmethod
    def from_details(cls, details: list[ErrorDetail]) -> ValidationFailedError:
        first = details[0]
        return cls(first.message, rule=first.rule, field=first.field, details=details)


class PreflightFailedError(ValidationFailedError):
    code = "preflight_failed"
    status = 400


class UnauthenticatedError(CrosspostError):
    code = "unauthenticated"
    status = 401


class NotFoundError(CrosspostError):
    code = "not_found"
    status = 404


class ConflictError(CrosspostError):
    code = "conflict"
    status = 409


class IdempotencyConflictError(CrosspostError):
    code = "idempotency_conflict"
    status = 409


class ApiRateLimitedError(CrosspostError):
    """The caller exceeded crosspost's own per-key rate limit."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


# ---- platform failures (publisher and connect paths) -------------------------------------------


class PlatformError(CrosspostError):
    """Something a platform said or failed to say. ``retryable`` means "not sent, try again"."""

    code = "platform_rejected"
    status = 502
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, platform: str, retry_after: float | None = None, **kw: Any) -> None:
        # What a platform says ends up in the post's error, the account's lastError and the API's
        # platformResponse: masked here, once, whatever the adapter copied into it.
        if "platform_response" in kw:
            kw["platform_response"] = scrub(kw["platform_response"])
        super().__init__(redact(message), platform=platform, **kw)
        self.retry_after = retry_after


class AuthExpiredError(PlatformError):
    """The token (or credentials) were refused: refresh once, then fail and mark the account."""

    code = "platform_auth_failed"
    status = 401


class RateLimitedError(PlatformError):
    """The platform said "too many": nothing was done, retry after ``retry_after``."""

    code = "rate_limited"
    status = 429
    retryable = True


class PlatformUnavailableError(PlatformError):
    """Not sent: connection refused, DNS, 503 before processing. Retryable."""

    code = "platform_unavailable"
    status = 503
    retryable = True


class OutcomeUnknownError(PlatformError):
    """Sent, but no usable answer (read timeout, 500/502/504 on a create): reconcile first."""

    code = "platform_unavailable"
    status = 503


class ForbiddenUrlError(PlatformError):
    """crosspost refused to call a platform URL that is not public https (the SSRF guard at
    connect time: a host that resolves to a private address, by DNS rebinding or from a DID
    document). Permanent: the same URL is refused the next time too."""

    code = "validation_failed"
    status = 400


class ContentRejectedError(PlatformError):
    """The platform refused the content (or the request) for good."""

    code = "platform_rejected"
    status = 502
