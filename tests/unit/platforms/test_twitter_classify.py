"""X error classification (from statuses, ``type``, ``title`` and legacy codes: never free text,
except the documented duplicate ``detail``), the waits read from X's rate-limit headers, what of
an error body is kept, and token parsing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
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
from crosspost.platforms.base import TokenSet
from crosspost.platforms.twitter_api import (
    DUPLICATE_DETAIL,
    classify_response,
    error_body,
    is_duplicate,
    retry_after,
    token_set,
)

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
FORBIDDEN = {
    "title": "Forbidden",
    "type": "about:blank",
    "status": 403,
    "detail": "You are not permitted to perform this action.",
}
DUPLICATE = {"detail": DUPLICATE_DETAIL, "type": "about:blank", "title": "Forbidden", "status": 403}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}


def invalid(*parameters: str) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {p: ["value"] for p in parameters}, "message": "bad"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "creates", "kind", "rule"),
    [
        (401, UNAUTHORIZED, True, AuthExpiredError, "twitter.auth.expired"),
        (
            401,
            {"errors": [{"code": 89, "message": "Invalid or expired token."}]},
            False,
            AuthExpiredError,
            "twitter.auth.expired",
        ),
        (429, TOO_MANY, True, RateLimitedError, "twitter.rate_limited"),
        (
            429,
            {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
            True,
            RateLimitedError,
            "twitter.rate_limited",
        ),
        (
            403,
            {"errors": [{"code": 185, "message": "User is over daily status update limit."}]},
            True,
            RateLimitedError,
            "twitter.rate_limited",
        ),
        (
            429,
            {
                "title": "UsageCapExceeded",
                "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped",
            },
            True,
            RateLimitedError,
            "twitter.usage_capped",
        ),
        (403, DUPLICATE, True, ContentRejectedError, "twitter.duplicate"),
        (
            403,
            {"errors": [{"code": 187, "message": "Status is a duplicate."}]},
            True,
            ContentRejectedError,
            "twitter.duplicate",
        ),
        (403, FORBIDDEN, True, ContentRejectedError, "twitter.request.forbidden"),
        (
            403,
            {
                "title": "Client Forbidden",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
                "reason": "client-not-enrolled",
            },
            True,
            ContentRejectedError,
            "twitter.client.forbidden",
        ),
        (400, invalid("text"), True, ContentRejectedError, "twitter.request.invalid"),
        (400, invalid("media.media_ids"), True, ContentRejectedError, "twitter.media.invalid"),
        (413, None, False, ContentRejectedError, "twitter.media.too_large"),
        (404, {"title": "Not Found Error"}, False, ContentRejectedError, "twitter.request.refused"),
        (500, {"title": "Internal Server Error"}, True, OutcomeUnknownError, "twitter.outcome_unknown"),
        (502, None, True, OutcomeUnknownError, "twitter.outcome_unknown"),
        (504, None, True, OutcomeUnknownError, "twitter.outcome_unknown"),
        (408, None, True, OutcomeUnknownError, "twitter.outcome_unknown"),
        (500, None, False, PlatformUnavailableError, "twitter.unavailable"),
        (503, {"title": "Service Unavailable"}, True, PlatformUnavailableError, "twitter.unavailable"),
        (503, None, False, PlatformUnavailableError, "twitter.unavailable"),
    ],
)
def test_classification(status: int, body: Any, creates: bool, kind: type[PlatformError], rule: str) -> None:
    error = classify_response(response(status, body), creates=creates)
    assert type(error) is kind
    assert error.rule == rule and error.platform == "twitter"


def test_duplicate_is_told_by_the_whole_detail_field_only() -> None:
    assert is_duplicate(403, DUPLICATE)
    assert not is_duplicate(400, DUPLICATE)
    assert not is_duplicate(403, {**DUPLICATE, "detail": DUPLICATE_DETAIL + " Or is it?"})
    assert not is_duplicate(403, {"title": "duplicate content"})


def test_rate_limit_wait_comes_from_the_exhausted_window() -> None:
    now = time.time()
    fifteen = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(now + 300))}
    assert retry_after(response(429, TOO_MANY, fifteen), current=now) == pytest.approx(300, abs=1)
    daily = {
        "x-rate-limit-remaining": "40",
        "x-rate-limit-reset": str(int(now + 300)),
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(int(now + 40_000)),
    }
    assert retry_after(response(429, TOO_MANY, daily), current=now) == pytest.approx(40_000, abs=1)
    app = {"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": str(int(now + 9_000))}
    assert retry_after(response(429, TOO_MANY, app), current=now) == pytest.approx(9_000, abs=1)
    unknown_window = {"x-rate-limit-remaining": "3", "x-rate-limit-reset": str(int(now + 60))}
    assert retry_after(response(429, TOO_MANY, unknown_window), current=now) == pytest.approx(60, abs=1)
    assert retry_after(response(429, TOO_MANY, {"Retry-After": "17"}), current=now) == 17
    assert retry_after(response(429, TOO_MANY), current=now) is None
    past = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(now - 10))}
    assert retry_after(response(429, TOO_MANY, past), current=now) == 0
    junk = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "soon"}
    assert retry_after(response(429, TOO_MANY, junk), current=now) is None


def test_rate_limited_error_carries_the_wait() -> None:
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time() + 120))}
    error = classify_response(response(429, TOO_MANY, headers), creates=True)
    assert isinstance(error, RateLimitedError) and error.retryable
    assert error.retry_after == pytest.approx(120, abs=2)


def test_error_body_keeps_what_went_wrong_and_never_the_request() -> None:
    body = invalid("text", "media.media_ids")
    body["errors"][0]["parameters"]["text"] = ["the post text, maybe private"]
    kept = error_body(response(400, body))
    assert kept["errors"] == [{"message": "bad", "parameters": ["media.media_ids", "text"]}]
    assert "maybe private" not in str(kept)
    assert kept["type"] == "https://api.twitter.com/2/problems/invalid-request"
    long = error_body(response(403, {"detail": "x" * 5000, "title": "Forbidden"}))
    assert len(long["detail"]) == 300
    assert error_body(httpx.Response(502, text="<html>bad gateway</html>")) == {"status": 502}
    assert error_body(response(400, ["not", "an", "object"])) == {"status": 400}
    oauth = error_body(
        response(400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
    )
    assert oauth == {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}


def test_token_set_from_the_token_endpoint() -> None:
    issued = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    answer = {
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": "at-1",
        "scope": "tweet.read",
        "refresh_token": "rt-1",
    }
    tokens = token_set(answer, issued_at=issued)
    assert tokens.access_token == "at-1" and tokens.refresh_token == "rt-1"
    assert tokens.access_expires_at == issued + timedelta(hours=2)
    assert tokens.connection_expires_at is None and tokens.refresh_after is None
    assert tokens.extra == {"scope": "tweet.read"}
    previous = TokenSet("old", "rt-old", extra={"userId": "1", "username": "u"})
    kept = token_set({"access_token": "at-2", "expires_in": 60}, issued_at=issued, previous=previous)
    assert kept.refresh_token == "rt-old" and kept.extra == {"userId": "1", "username": "u"}
    with pytest.raises(PlatformUnavailableError):
        token_set({"expires_in": 60}, issued_at=issued)
