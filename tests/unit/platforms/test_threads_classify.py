"""Threads failures sorted into the taxonomy, from the Graph error's code/subcode and the HTTP
status (never the message text)."""

from __future__ import annotations

import json
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
from crosspost.platforms.threads import ThreadsAdapter


def graph(status: int, code: int, subcode: int | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    error: dict[str, Any] = {"message": "whatever the text says", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "Atrace"
    return httpx.Response(status, json={"error": error}, headers=headers)


def classify(response: httpx.Response, *, creates: bool = False) -> PlatformError:
    return ThreadsAdapter(httpx.AsyncClient()).classify(response, creates=creates)


@pytest.mark.parametrize(
    ("response", "creates", "kind", "rule"),
    [
        (graph(400, 190), False, AuthExpiredError, "threads.auth.expired"),
        (graph(400, 190, 460), True, AuthExpiredError, "threads.auth.expired"),
        (graph(401, 190, 463), True, AuthExpiredError, "threads.auth.expired"),
        (graph(403, 10), True, AuthExpiredError, "threads.permission.missing"),
        (graph(400, 4), True, RateLimitedError, "threads.rate_limited"),
        (graph(400, 17), False, RateLimitedError, "threads.rate_limited"),
        (graph(400, 9, 2207042), True, RateLimitedError, "threads.publishing_limit"),
        (graph(400, 100, 2207052), False, ContentRejectedError, "threads.media.unreachable"),
        (graph(400, 100, 2207005), False, ContentRejectedError, "threads.media.mime_allowed"),
        (graph(400, 100, 2207004), False, ContentRejectedError, "threads.media.too_large"),
        (graph(400, 4, 2207051), True, ContentRejectedError, "threads.account.restricted"),
        (graph(400, 9007, 2207027), True, PlatformUnavailableError, "threads.container.not_ready"),
        (graph(400, 100), True, ContentRejectedError, "threads.rejected"),
        (graph(500, 1), True, OutcomeUnknownError, "threads.outcome_unknown"),
        (graph(500, 1), False, PlatformUnavailableError, "threads.unavailable"),
        (graph(503, 2), True, PlatformUnavailableError, "threads.unavailable"),
        (httpx.Response(502, text="<html>bad gateway</html>"), True, OutcomeUnknownError, "threads.outcome_unknown"),
        (httpx.Response(401, text=""), False, AuthExpiredError, "threads.auth.expired"),
    ],
)
def test_classification(response: httpx.Response, creates: bool, kind: type[PlatformError], rule: str) -> None:
    exc = classify(response, creates=creates)
    assert type(exc) is kind
    assert exc.rule == rule
    assert exc.platform == "threads"


def test_rate_limit_wait_comes_from_the_business_use_case_header() -> None:
    usage = {"1": [{"type": "threads", "call_count": 100, "estimated_time_to_regain_access": 3}]}
    exc = classify(graph(400, 4, headers={"X-Business-Use-Case-Usage": json.dumps(usage)}))
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == 180


def test_platform_response_keeps_only_the_error_fields() -> None:
    body = {"error": {"message": "m", "code": 100, "fbtrace_id": "x", "echo": {"access_token": "THAAsecret"}}}
    exc = classify(httpx.Response(400, json=body))
    assert exc.platform_response == {"code": 100, "message": "m", "fbtrace_id": "x"}
