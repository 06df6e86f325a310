"""LinkedIn error classification: every status / code row lands in the right taxonomy class, the
429 wait is the midnight-UTC reset, and what is kept of a body never echoes the request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.platforms.linkedin import LinkedInAdapter
from crosspost.platforms.linkedin_api import (
    classify_response,
    classify_token_response,
    duplicate_of,
    error_body,
    seconds_until_reset,
)

TOKEN = "AQliat-secret-token-value-1234567890"


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request(
        "POST",
        "https://api.linkedin.com/rest/posts",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"author": "urn:li:person:x", "commentary": "secret draft"},
    )
    content = json.dumps(body).encode() if not isinstance(body, bytes | type(None)) else (body or b"")
    return httpx.Response(status, content=content, headers=headers or {}, request=request)


def service(status: int, code: int | None, name: str, message: str) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": name, "message": message}
    if code is not None:
        body["serviceErrorCode"] = code
    return body


def restli(status: int, code: str, message: str = "msg") -> dict[str, Any]:
    return {
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": message,
        "errorDetails": {"inputErrors": [{"description": "d", "input": {"commentary": "secret draft"}, "code": code}]},
        "status": status,
    }


DUPLICATE = restli(
    422,
    "DUPLICATE_POST",
    "com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of "
    "urn:li:share:7141138937766391808",
)

# (status, body, creates, class, rule)
ROWS: list[tuple[int, Any, bool, type[PlatformError], str]] = [
    (
        401,
        service(401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"),
        True,
        AuthExpiredError,
        "linkedin.auth.invalid",
    ),
    (401, service(401, 65601, "REVOKED_ACCESS_TOKEN", "revoked"), True, AuthExpiredError, "linkedin.auth.revoked"),
    (401, service(401, 65602, "EXPIRED_ACCESS_TOKEN", "expired"), False, AuthExpiredError, "linkedin.auth.expired"),
    (401, service(401, None, "EXPIRED_ACCESS_TOKEN", "expired"), False, AuthExpiredError, "linkedin.auth.expired"),
    (401, service(401, 65604, "EMPTY_ACCESS_TOKEN", "Empty"), True, AuthExpiredError, "linkedin.auth.invalid"),
    (401, b"<html>nope</html>", True, AuthExpiredError, "linkedin.auth.invalid"),
    (
        403,
        service(403, 100, "ACCESS_DENIED", "Not enough permissions"),
        True,
        AuthExpiredError,
        "linkedin.auth.forbidden",
    ),
    (429, {"status": 429, "message": "Resource level throttle"}, True, RateLimitedError, "linkedin.rate_limited"),
    (429, b"", False, RateLimitedError, "linkedin.rate_limited"),
    (
        426,
        service(426, None, "NONEXISTENT_VERSION", "Requested version 20240101 is not active"),
        True,
        ContentRejectedError,
        "linkedin.version.unsupported",
    ),
    (
        400,
        service(400, None, "VERSION_MISSING", "A version must be present"),
        False,
        ContentRejectedError,
        "linkedin.version.unsupported",
    ),
    (422, DUPLICATE, True, ContentRejectedError, "linkedin.duplicate"),
    (400, restli(400, "DUPLICATE_POST"), True, ContentRejectedError, "linkedin.duplicate"),
    (422, restli(422, "UNPERMITTED_FIELDS"), True, ContentRejectedError, "linkedin.post.invalid"),
    (400, restli(400, "INVALID_CONTENT"), True, ContentRejectedError, "linkedin.post.invalid"),
    (400, b"not json", True, ContentRejectedError, "linkedin.post.invalid"),
    (413, b"", False, ContentRejectedError, "linkedin.media.too_large"),
    (
        404,
        service(404, None, "RESOURCE_NOT_FOUND", "No virtual resource"),
        False,
        ContentRejectedError,
        "linkedin.request.refused",
    ),
    (503, {"status": 503, "message": "Service Unavailable"}, True, PlatformUnavailableError, "linkedin.unavailable"),
    (500, {"status": 500, "message": "Internal Server Error"}, True, OutcomeUnknownError, "linkedin.outcome_unknown"),
    (502, b"<html>Bad gateway</html>", True, OutcomeUnknownError, "linkedin.outcome_unknown"),
    (504, b"", True, OutcomeUnknownError, "linkedin.outcome_unknown"),
    (500, {"status": 500, "message": "Internal Server Error"}, False, PlatformUnavailableError, "linkedin.unavailable"),
    (504, b"", False, PlatformUnavailableError, "linkedin.unavailable"),
    (408, b"", True, PlatformUnavailableError, "linkedin.unavailable"),
]


@pytest.mark.parametrize(("status", "body", "creates", "kind", "rule"), ROWS)
def test_classification_table(status: int, body: Any, creates: bool, kind: type[PlatformError], rule: str) -> None:
    adapter = LinkedInAdapter(httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))))
    exc = adapter.classify(response(status, body), creates=creates)
    assert type(exc) is kind
    assert exc.rule == rule and exc.platform == "linkedin"
    shown = str(exc) + repr(exc) + json.dumps(exc.platform_response)
    assert TOKEN not in shown and "secret draft" not in shown


def test_classification_uses_fields_not_message_text() -> None:
    # A message that talks about duplicates is not a duplicate; the code field decides.
    said = restli(422, "INVALID_VALUE", "Content is a duplicate of urn:li:share:7141138937766391808")
    exc = classify_response(response(422, said), creates=True)
    assert exc.rule == "linkedin.post.invalid"
    assert duplicate_of(error_body(response(422, said))) is None


def test_429_waits_for_the_midnight_utc_reset() -> None:
    exc = classify_response(response(429, {"status": 429, "message": "throttle"}), creates=True)
    assert isinstance(exc, RateLimitedError) and exc.retry_after is not None
    assert 60 <= exc.retry_after <= 24 * 3600 + 60
    evening = datetime(2026, 5, 1, 23, 30, tzinfo=UTC)
    assert seconds_until_reset(evening) == 30 * 60 + 60
    assert seconds_until_reset(datetime(2026, 5, 1, 0, 0, tzinfo=UTC)) == 24 * 3600 + 60


def test_429_honours_a_retry_after_header_when_one_comes() -> None:
    exc = classify_response(response(429, b"", {"Retry-After": "42"}), creates=False)
    assert exc.retry_after == 42


def test_error_body_keeps_fields_and_drops_the_input_echo() -> None:
    body = error_body(response(422, DUPLICATE))
    assert body["status"] == 422 and body["errorDetailType"] == "com.linkedin.common.error.BadRequest"
    assert body["errorDetails"] == {"inputErrors": [{"code": "DUPLICATE_POST", "description": "d"}]}
    assert "secret draft" not in json.dumps(body)
    assert error_body(response(502, b"<html/>")) == {"status": 502}


def test_duplicate_of_names_the_existing_post() -> None:
    assert duplicate_of(error_body(response(422, DUPLICATE))) == "urn:li:share:7141138937766391808"
    ugc = restli(422, "DUPLICATE_POST", "Content is a duplicate of urn:li:ugcPost:7141138937766391808.")
    assert duplicate_of(error_body(response(422, ugc))) == "urn:li:ugcPost:7141138937766391808"
    assert duplicate_of(error_body(response(422, restli(422, "DUPLICATE_POST", "no urn here")))) is None
    assert duplicate_of("nope") is None


TOKEN_ROWS: list[tuple[int, Any, type[PlatformError]]] = [
    (400, {"error": "invalid_request", "error_description": "Unable to retrieve access token"}, AuthExpiredError),
    (401, {"error": "invalid_client", "error_description": "Client authentication failed"}, AuthExpiredError),
    (429, b"", RateLimitedError),
    (500, b"", PlatformUnavailableError),
    (503, {"status": 503}, PlatformUnavailableError),
]


@pytest.mark.parametrize(("status", "body", "kind"), TOKEN_ROWS)
def test_token_endpoint_classification(status: int, body: Any, kind: type[PlatformError]) -> None:
    exc = classify_token_response(response(status, body), rule="linkedin.auth.code_invalid")
    assert type(exc) is kind
    if kind is AuthExpiredError:
        assert exc.rule == "linkedin.auth.code_invalid" and exc.http_status == 401
        assert exc.platform_response["error"] == body["error"]
