"""BlueskyAdapter.classify: every status / error name row lands in the right taxonomy class."""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.platforms.bluesky import BlueskyAdapter

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOng.c2VjcmV0LXNpZ25hdHVyZQ"


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request(
        "POST",
        "https://pds.example/xrpc/com.atproto.repo.putRecord",
        headers={"Authorization": f"Bearer {SECRET}"},
        json={"repo": "did:plc:x", "record": {"text": "hi"}},
    )
    content = json.dumps(body).encode() if not isinstance(body, bytes | type(None)) else (body or b"")
    return httpx.Response(status, content=content, headers=headers or {}, request=request)


def xrpc(name: str, message: str = "msg") -> dict[str, str]:
    return {"error": name, "message": message}


ROWS: list[tuple[int, Any, type[PlatformError], str]] = [
    (400, xrpc("ExpiredToken", "Token has expired"), AuthExpiredError, "bluesky.auth.expired"),
    (400, xrpc("InvalidToken", "Token could not be verified"), AuthExpiredError, "bluesky.auth.expired"),
    (401, xrpc("AuthMissing", "Authentication Required"), AuthExpiredError, "bluesky.auth.expired"),
    (401, xrpc("AuthenticationRequired", "Invalid identifier or password"), AuthExpiredError, "bluesky.auth.expired"),
    (401, b"<html>nope</html>", AuthExpiredError, "bluesky.auth.expired"),
    (400, xrpc("AccountTakedown"), AuthExpiredError, "bluesky.account.unavailable"),
    (401, xrpc("AccountDeactivated"), AuthExpiredError, "bluesky.account.unavailable"),
    (429, xrpc("RateLimitExceeded", "Rate Limit Exceeded"), RateLimitedError, "bluesky.rate_limited"),
    (413, xrpc("PayloadTooLarge", "request entity too large"), ContentRejectedError, "bluesky.media.too_large"),
    (413, b"", ContentRejectedError, "bluesky.media.too_large"),
    (
        400,
        xrpc("InvalidRequest", "Invalid app.bsky.feed.post record: ..."),
        ContentRejectedError,
        "bluesky.record.invalid",
    ),
    (400, xrpc("BlobTooLarge"), ContentRejectedError, "bluesky.media.too_large"),
    (400, xrpc("InvalidMimeType"), ContentRejectedError, "bluesky.media.mime_allowed"),
    (400, xrpc("InvalidSize"), ContentRejectedError, "bluesky.media.invalid"),
    (400, xrpc("BlobNotFound"), ContentRejectedError, "bluesky.media.invalid"),
    (400, xrpc("InvalidSwap", "Record was at bafyrei..."), ContentRejectedError, "bluesky.record.conflict"),
    (400, xrpc("RecordNotFound"), ContentRejectedError, "bluesky.record.not_found"),
    (400, xrpc("SomethingNew"), ContentRejectedError, "bluesky.record.invalid"),
    (400, b"not json", ContentRejectedError, "bluesky.record.invalid"),
    (403, xrpc("Forbidden"), ContentRejectedError, "bluesky.request.refused"),
    (404, b"", ContentRejectedError, "bluesky.request.refused"),
    (501, xrpc("MethodNotImplemented"), PlatformUnavailableError, "bluesky.unavailable"),
    (500, xrpc("InternalServerError", "Internal Server Error"), PlatformUnavailableError, "bluesky.unavailable"),
    (502, xrpc("UpstreamFailure"), PlatformUnavailableError, "bluesky.unavailable"),
    (503, xrpc("NotEnoughResources"), PlatformUnavailableError, "bluesky.unavailable"),
    (504, xrpc("UpstreamTimeout"), PlatformUnavailableError, "bluesky.unavailable"),
    (502, b"<html>Bad gateway</html>", PlatformUnavailableError, "bluesky.unavailable"),
    (408, b"", PlatformUnavailableError, "bluesky.unavailable"),
]


@pytest.fixture
def adapter() -> BlueskyAdapter:
    return BlueskyAdapter(httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))))


@pytest.mark.parametrize(("status", "body", "kind", "rule"), ROWS)
@pytest.mark.parametrize("creates", [True, False])
def test_classification_table(
    adapter: BlueskyAdapter, status: int, body: Any, kind: type[PlatformError], rule: str, creates: bool
) -> None:
    error = adapter.classify(response(status, body), creates=creates)
    assert type(error) is kind
    assert error.rule == rule and error.platform == "bluesky"
    # the parsed XRPC error fields only (or the status), never the request
    expected = {"error": body["error"], "message": body["message"]} if isinstance(body, dict) else {"status": status}
    assert error.platform_response == expected
    for text in (str(error), repr(error), json.dumps(error.platform_response)):
        assert SECRET not in text and "Authorization" not in text and "Bearer" not in text


def test_5xx_is_retryable_because_creates_are_idempotent(adapter: BlueskyAdapter) -> None:
    error = adapter.classify(response(500, xrpc("InternalServerError")), creates=True)
    assert error.retryable


def test_retry_after_seconds(adapter: BlueskyAdapter) -> None:
    headers = {"Retry-After": "290", "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 900)}
    error = adapter.classify(response(429, xrpc("RateLimitExceeded"), headers), creates=True)
    assert isinstance(error, RateLimitedError) and error.retry_after == 290 and error.retryable


def test_retry_after_from_ratelimit_reset(adapter: BlueskyAdapter) -> None:
    headers = {"RateLimit-Limit": "30", "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 120)}
    error = adapter.classify(response(429, xrpc("RateLimitExceeded"), headers), creates=False)
    assert error.retry_after is not None and 115 <= error.retry_after <= 121


def test_retry_after_http_date(adapter: BlueskyAdapter) -> None:
    headers = {"Retry-After": formatdate(time.time() + 60, usegmt=True)}
    error = adapter.classify(response(429, xrpc("RateLimitExceeded"), headers), creates=False)
    assert error.retry_after is not None and 55 <= error.retry_after <= 61


def test_retry_after_unknown(adapter: BlueskyAdapter) -> None:
    error = adapter.classify(response(429, b"", {"Retry-After": "soon"}), creates=False)
    assert isinstance(error, RateLimitedError) and error.retry_after is None


def test_long_platform_messages_are_cut(adapter: BlueskyAdapter) -> None:
    error = adapter.classify(response(400, xrpc("InvalidRequest", "x" * 5000)), creates=True)
    assert len(error.platform_response["message"]) == 300
