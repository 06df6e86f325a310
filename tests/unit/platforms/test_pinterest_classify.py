"""Pinterest on the wire: every status row lands in the right taxonomy class (for a pin creation
and for a read), Retry-After is honoured, error bodies keep only ``code``/``message``, and token
answers become the right ``TokenSet`` (tokenExpiresAt = the refresh token's expiry)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
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
from crosspost.platforms.pinterest import PinterestAdapter
from crosspost.platforms.pinterest_api import (
    DEFAULT_RATE_LIMIT_WAIT,
    REFRESH_AHEAD,
    classify_response,
    error_body,
    retry_after,
    token_set,
    upload_refused,
)

TOKEN = "pina_AMAxxSECRETxxTOKENxxVALUExx0123456789"


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request(
        "POST",
        "https://api.pinterest.com/v5/pins",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"board_id": "1", "description": "hi"},
    )
    content = json.dumps(body).encode() if not isinstance(body, bytes | type(None)) else (body or b"")
    return httpx.Response(status, content=content, headers=headers or {}, request=request)


def err(code: int, message: str = "msg") -> dict[str, Any]:
    return {"code": code, "message": message}


# (status, body, creates, class, rule)
ROWS: list[tuple[int, Any, bool, type[PlatformError], str]] = [
    (401, err(2, "Authentication failed."), True, AuthExpiredError, "pinterest.auth.expired"),
    (401, err(29, "You are not permitted to access that resource."), False, AuthExpiredError, "pinterest.auth.expired"),
    (401, b"<html>nope</html>", False, AuthExpiredError, "pinterest.auth.expired"),
    (429, err(8, "You have exceeded your rate limit."), True, RateLimitedError, "pinterest.rate_limited"),
    (429, None, False, RateLimitedError, "pinterest.rate_limited"),
    (400, err(1, "Invalid Pin parameters"), True, ContentRejectedError, "pinterest.pin.invalid"),
    (400, err(1, "Unable to reach the URL"), True, ContentRejectedError, "pinterest.pin.invalid"),
    (400, err(1, "'x' does not match '^\\d+$' - 'board_id'"), True, ContentRejectedError, "pinterest.pin.invalid"),
    (404, err(40, "Board not found."), True, ContentRejectedError, "pinterest.board.not_found"),
    (
        403,
        err(1, "The Pin's image is too small, too large or is broken"),
        True,
        ContentRejectedError,
        "pinterest.media.invalid",
    ),
    (403, err(29, "Not permitted"), False, AuthExpiredError, "pinterest.permission.missing"),
    (409, err(1, "Conflict"), True, ContentRejectedError, "pinterest.pin.invalid"),
    (503, err(0, "Service Unavailable"), True, PlatformUnavailableError, "pinterest.unavailable"),
    (503, None, False, PlatformUnavailableError, "pinterest.unavailable"),
    (500, err(0, "Internal Server Error"), True, OutcomeUnknownError, "pinterest.outcome_unknown"),
    (502, b"<html>Bad gateway</html>", True, OutcomeUnknownError, "pinterest.outcome_unknown"),
    (504, None, True, OutcomeUnknownError, "pinterest.outcome_unknown"),
    (408, None, True, OutcomeUnknownError, "pinterest.outcome_unknown"),
    (500, err(0, "Internal Server Error"), False, PlatformUnavailableError, "pinterest.unavailable"),
    (502, None, False, PlatformUnavailableError, "pinterest.unavailable"),
]


@pytest.mark.parametrize(("status", "body", "creates", "kind", "rule"), ROWS)
def test_classification_table(status: int, body: Any, creates: bool, kind: type[PlatformError], rule: str) -> None:
    exc = PinterestAdapter(httpx.AsyncClient()).classify(response(status, body), creates=creates)
    assert type(exc) is kind
    assert exc.rule == rule
    assert exc.platform == "pinterest"
    assert TOKEN not in str(exc) + repr(exc.platform_response)


def test_a_404_names_what_the_call_looked_for() -> None:
    exc = classify_response(response(404, err(4, "Media not found.")), creates=False, not_found_rule="pinterest.x")
    assert isinstance(exc, ContentRejectedError) and exc.rule == "pinterest.x"


def test_the_error_body_keeps_only_code_and_message() -> None:
    body = {"code": 1, "message": "m" * 1000, "echo": {"access_token": TOKEN}, "status": "failure"}
    kept = error_body(response(400, body))
    assert kept == {"code": 1, "message": "m" * 300}
    assert error_body(response(500, b"not json")) == {"status": 500}
    assert error_body(response(400, ["a list"])) == {"status": 400}
    assert error_body(response(400, {"code": True, "message": 3})) == {"status": 400}


def test_retry_after_in_seconds_as_a_date_or_the_default() -> None:
    exc = classify_response(response(429, err(8), {"Retry-After": "7"}), creates=True)
    assert isinstance(exc, RateLimitedError) and exc.retry_after == 7
    later = formatdate(time.time() + 120, usegmt=True)
    assert 110 <= (retry_after(response(429, None, {"Retry-After": later})) or 0) <= 121
    assert retry_after(response(429, None, {"Retry-After": "soon"})) is None
    plain = classify_response(response(429, err(8)), creates=True)
    assert plain.retry_after == DEFAULT_RATE_LIMIT_WAIT


def test_upload_failures_retry_server_side_and_refuse_the_file() -> None:
    s3 = b"<Error><Code>SlowDown</Code></Error>"
    assert isinstance(upload_refused(response(503, s3, {"Retry-After": "3"})), PlatformUnavailableError)
    assert upload_refused(response(503, s3, {"Retry-After": "3"})).retry_after == 3
    assert isinstance(upload_refused(response(500, s3)), PlatformUnavailableError)
    refused = upload_refused(response(400, b"<Error><Code>EntityTooLarge</Code></Error>"))
    assert isinstance(refused, ContentRejectedError) and refused.rule == "pinterest.media.upload_refused"
    assert refused.platform_response == {"status": 400}


# ---- tokens ------------------------------------------------------------------------------------

ISSUED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_a_code_exchange_gives_the_refresh_grants_expiry_as_the_connections() -> None:
    tokens = token_set(
        {
            "access_token": "pina_a",
            "token_type": "bearer",
            "expires_in": 2_592_000,
            "scope": "boards:read,pins:write",
            "refresh_token": "pinr_r",
            "refresh_token_expires_in": 5_184_000,
            "refresh_token_expires_at": int((ISSUED + timedelta(days=60)).timestamp()),
            "response_type": "authorization_code",
        },
        issued_at=ISSUED,
    )
    assert tokens.access_token == "pina_a" and tokens.refresh_token == "pinr_r"
    assert tokens.access_expires_at == ISSUED + timedelta(days=30)
    assert tokens.connection_expires_at == ISSUED + timedelta(days=60)
    assert tokens.refresh_after == ISSUED + timedelta(days=30) - REFRESH_AHEAD
    assert tokens.extra == {"scope": "boards:read,pins:write"}
    assert "pina_a" not in repr(tokens)


def test_expiry_from_expires_in_when_no_timestamp() -> None:
    tokens = token_set(
        {"access_token": "a", "expires_in": 3600, "refresh_token": "r", "refresh_token_expires_in": 7200},
        issued_at=ISSUED,
    )
    assert tokens.connection_expires_at == ISSUED + timedelta(seconds=7200)
    assert tokens.refresh_after == ISSUED + timedelta(minutes=30)  # short lifetimes: half-way


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one() -> None:
    previous = TokenSet("old", "pinr_old", connection_expires_at=ISSUED + timedelta(days=9), extra={"scope": "x"})
    tokens = token_set({"access_token": "new", "expires_in": 2_592_000}, issued_at=ISSUED, previous=previous)
    assert tokens.refresh_token == "pinr_old"
    assert tokens.connection_expires_at == ISSUED + timedelta(days=9)
    assert tokens.extra == {"scope": "x"}


@pytest.mark.parametrize("answer", [{}, {"access_token": ""}, {"access_token": 5}])
def test_a_token_answer_without_an_access_token_is_unavailable(answer: dict[str, Any]) -> None:
    with pytest.raises(PlatformUnavailableError):
        token_set(answer, issued_at=ISSUED)


def test_nonsense_lifetimes_are_ignored() -> None:
    tokens = token_set(
        {"access_token": "a", "expires_in": -5, "refresh_token": "r", "refresh_token_expires_in": "x"}, issued_at=ISSUED
    )
    assert tokens.access_expires_at is None and tokens.connection_expires_at is None and tokens.refresh_after is None
