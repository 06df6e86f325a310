"""The fault contract of API.md ("The local stack ... and its sandbox"), through the Bluesky
adapter: each status lands in the right taxonomy class, faults hit only publishing calls,
``after_commit`` stores first, ``timeout`` holds past the client's timeout, latency delays."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ulid import ULID

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.platforms.base import MediaItem, PublishRequest


def request(text: str = "fault test", **kw: Any) -> PublishRequest:
    kw.setdefault("post_id", f"post_{ULID()}")
    kw.setdefault("created_at", datetime.now(UTC))
    return PublishRequest(text=text, **kw)


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (400, ContentRejectedError, "InvalidRequest"),
        (401, AuthExpiredError, "AuthenticationRequired"),
        (429, RateLimitedError, "RateLimitExceeded"),
        (500, PlatformUnavailableError, "InternalServerError"),
        (503, PlatformUnavailableError, "NotEnoughResources"),
    ],
)
def test_each_fault_status(bsky: Any, status: int, kind: type[PlatformError], error: str) -> None:
    account = bsky.login()
    bsky.fault(status=status, count=1, retryAfter=7)
    with pytest.raises(kind) as caught:
        bsky.publish(account.tokens, request())
    assert caught.value.platform_response["error"] == error and caught.value.platform == "bluesky"
    if status == 429:
        assert caught.value.retry_after == 7
    assert bsky.posts() == []  # "error" mode does nothing
    bsky.publish(account.tokens, request())  # the fault is used up
    assert len(bsky.posts()) == 1


def test_the_429_carries_rate_limit_headers(bsky: Any) -> None:
    token = bsky.session()["accessJwt"]
    bsky.fault(status=429)
    response = bsky.xrpc("POST", "com.atproto.repo.uploadBlob", token, content=b"x")
    assert response.status_code == 429 and response.json() == {
        "error": "RateLimitExceeded",
        "message": "Rate Limit Exceeded",
    }
    assert response.headers["Retry-After"] == "30" and response.headers["RateLimit-Remaining"] == "0"
    assert int(response.headers["RateLimit-Reset"]) >= int(time.time()) + 29
    assert response.headers["RateLimit-Policy"] == "5000;w=3600"


def test_count_and_queue_order(bsky: Any) -> None:
    account = bsky.login()
    bsky.fault(status=503, count=2)
    bsky.fault(status=400)
    queued = bsky.control("GET", "faults").json()["faults"]
    assert [(f["status"], f["count"]) for f in queued] == [(503, 2), (400, 1)]
    for kind in (PlatformUnavailableError, PlatformUnavailableError, ContentRejectedError):
        with pytest.raises(kind):
            bsky.publish(account.tokens, request())
    bsky.publish(account.tokens, request())
    assert len(bsky.posts()) == 1


def test_faults_touch_only_publishing_calls(bsky: Any) -> None:
    bsky.fault(status=500, count=1)
    account = bsky.login()  # createSession, getRecord: not publishing
    bsky.xrpc("GET", "com.atproto.identity.resolveHandle", params={"handle": "alice.sandbox.test"}).raise_for_status()
    assert len(bsky.control("GET", "faults").json()["faults"]) == 1
    with pytest.raises(PlatformUnavailableError):
        bsky.publish(account.tokens, request())


def test_media_upload_is_a_publishing_call(bsky: Any) -> None:
    account = bsky.login()
    bsky.fault(status=503)
    image = MediaItem(kind="image", data=b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(PlatformUnavailableError):
        bsky.publish(account.tokens, request(media=(image,)))
    bsky.publish(account.tokens, request(media=(image,)))
    assert len(bsky.posts()) == 1


def test_401_fault_is_refreshed_but_a_second_one_fails(bsky: Any) -> None:
    account = bsky.login()
    bsky.fault(status=401, count=2)
    req = request()
    with pytest.raises(AuthExpiredError):
        bsky.publish(account.tokens, req)
    fresh = bsky.refresh(account.tokens)  # refreshing works, the token is still refused
    with pytest.raises(AuthExpiredError):
        bsky.publish(fresh, req)
    assert bsky.posts() == []


def test_after_commit_stores_then_fails_and_a_retry_makes_no_duplicate(bsky: Any) -> None:
    account = bsky.login()
    bsky.fault(status=500, count=1, mode="after_commit")
    req = request("committed")
    with pytest.raises(PlatformUnavailableError):
        bsky.publish(account.tokens, req)
    [stored] = bsky.posts()  # the post went out although the answer was a 500
    result = bsky.publish(account.tokens, req)  # the retry: putRecord at the same key is a no-op
    assert bsky.posts() == [stored] and (result.uri, result.cid) == (stored["uri"], stored["cid"])


def test_timeout_holds_past_the_client_timeout(bsky: Any) -> None:
    account = bsky.login()
    bsky.fault(mode="timeout", holdSeconds=2)
    started = time.monotonic()
    with pytest.raises(PlatformUnavailableError) as caught:
        bsky.publish(account.tokens, request(), timeout=0.5)
    assert 0.4 <= time.monotonic() - started < 1.8
    assert caught.value.rule == "bluesky.timeout" and caught.value.retryable
    assert bsky.posts() == []  # held without doing anything


def test_timeout_longer_than_the_hold_gets_no_answer(bsky: Any) -> None:
    token = bsky.session()["accessJwt"]
    bsky.fault(status=503, mode="timeout", holdSeconds=0.2)
    with pytest.raises(httpx.RemoteProtocolError):
        bsky.xrpc("POST", "com.atproto.repo.uploadBlob", token, content=b"x")


def test_latency_with_a_status_delays_those_calls(bsky: Any) -> None:
    account = bsky.login()
    bsky.fault(status=503, latencyMs=300)
    started = time.monotonic()
    with pytest.raises(PlatformUnavailableError):
        bsky.publish(account.tokens, request())
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    bsky.publish(account.tokens, request())
    assert time.monotonic() - started < 0.3


def test_latency_alone_delays_every_call_until_cleared(bsky: Any) -> None:
    bsky.fault(latencyMs=200)
    assert bsky.control("GET", "faults").json() == {"faults": [], "latencyMs": 200}
    started = time.monotonic()
    account = bsky.login()  # createSession + getRecord: two delayed calls
    assert time.monotonic() - started >= 0.4
    bsky.control("DELETE", "faults").raise_for_status()
    started = time.monotonic()
    bsky.publish(account.tokens, request())
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 404},
        {"status": 500, "mode": "sometimes"},
        {"status": 500, "count": 0},
        {"status": 500, "count": "2"},
        {"count": 1},
        {"status": 500, "colour": "red"},
        [],
    ],
)
def test_bad_fault_specs_are_refused(bsky: Any, spec: Any) -> None:
    response = bsky.control("POST", "faults", spec)
    assert response.status_code == 400 and response.json()["error"] == "InvalidFault"
    assert bsky.control("GET", "faults").json() == {"faults": [], "latencyMs": None}


def test_reset_clears_faults(bsky: Any) -> None:
    bsky.fault(status=503, count=5)
    httpx.post(f"{bsky.url}/_sandbox/reset").raise_for_status()
    assert bsky.control("GET", "faults").json()["faults"] == []
