"""The shared Graph error handling (``crosspost.platforms.graph``): every Meta code row lands in
the right taxonomy class with the right rule, the error body keeps only describing fields, and
rate-limit waits come from ``X-Business-Use-Case-Usage``."""

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
from crosspost.platforms.base import Capabilities, MediaItem
from crosspost.platforms.facebook import FacebookAdapter
from crosspost.platforms.graph import (
    DEFAULT_RATE_LIMIT_WAIT,
    PUBLISHING_CAP_WAIT,
    classify_graph,
    graph_error,
    media_problems,
    parse_graph_time,
    rate_limit_wait,
)
from crosspost.platforms.instagram import InstagramAdapter

TOKEN = "EAAsandboxPageToken0123456789abcdefghij"


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request(
        "POST", f"https://graph.facebook.com/v21.0/1/feed?access_token={TOKEN}", data={"message": "hi"}
    )
    content = json.dumps(body).encode() if not isinstance(body, bytes | type(None)) else (body or b"")
    return httpx.Response(status, content=content, headers=headers or {}, request=request)


def graph(code: int, message: str = "msg", subcode: int | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Atrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": {**error, **extra}}


ROWS: list[tuple[int, Any, bool, type[PlatformError], str]] = [
    # tokens
    (
        400,
        graph(190, "Error validating access token: Session has expired", 463),
        True,
        AuthExpiredError,
        "auth.expired",
    ),
    (401, graph(190, "The session has been invalidated", 460), False, AuthExpiredError, "auth.expired"),
    (400, graph(190, "Invalid OAuth access token - Cannot parse access token"), True, AuthExpiredError, "auth.expired"),
    (400, graph(102, "Session key invalid"), True, AuthExpiredError, "auth.expired"),
    (400, graph(104, "An access token is required"), False, AuthExpiredError, "auth.expired"),
    (401, b"<html>", False, AuthExpiredError, "auth.expired"),
    # permissions: reconnect granting them
    (403, graph(200, "(#200) Requires pages_manage_posts"), True, AuthExpiredError, "permission.missing"),
    (400, graph(10, "(#10) Application does not have permission"), True, AuthExpiredError, "permission.missing"),
    (400, graph(299, "(#299) Requires extended permission"), True, AuthExpiredError, "permission.missing"),
    # rate limits
    (400, graph(4, "(#4) Application request limit reached"), True, RateLimitedError, "rate_limited"),
    (400, graph(17, "(#17) User request limit reached"), True, RateLimitedError, "rate_limited"),
    (400, graph(32, "(#32) Page request limit reached"), True, RateLimitedError, "rate_limited"),
    (400, graph(613, "Calls to this api have exceeded the rate limit."), True, RateLimitedError, "rate_limited"),
    (400, graph(341, "Application limit reached"), True, RateLimitedError, "rate_limited"),
    (400, graph(80001, "There have been too many calls to this Page account"), True, RateLimitedError, "rate_limited"),
    (400, graph(80002, "Instagram BUC"), True, RateLimitedError, "rate_limited"),
    (400, graph(80014, "Too many calls"), True, RateLimitedError, "rate_limited"),
    (400, graph(368, "posting too fast", 1390008), True, RateLimitedError, "rate_limited"),
    (429, b"", True, RateLimitedError, "rate_limited"),
    (400, graph(9, "Application request limit reached", 2207042), True, RateLimitedError, "publishing_limit"),
    # transient / server errors: unknown on a create, unavailable otherwise
    (500, graph(1, "An unknown error has occurred."), True, OutcomeUnknownError, "outcome_unknown"),
    (500, graph(1, "An unknown error has occurred."), False, PlatformUnavailableError, "unavailable"),
    (500, graph(2, "Service temporarily unavailable", is_transient=True), True, OutcomeUnknownError, "outcome_unknown"),
    (400, graph(2, "Temporary", is_transient=True), False, PlatformUnavailableError, "unavailable"),
    (502, b"Bad Gateway", True, OutcomeUnknownError, "outcome_unknown"),
    (
        503,
        graph(2, "Service temporarily unavailable", is_transient=True),
        True,
        PlatformUnavailableError,
        "unavailable",
    ),
    (503, b"", False, PlatformUnavailableError, "unavailable"),
    # duplicates and policy
    (400, graph(506, "(#506) Duplicate status message"), True, ContentRejectedError, "duplicate"),
    (400, graph(368, "It looks like you already posted this"), True, ContentRejectedError, "duplicate"),
    (400, graph(100, "Photos already posted", 1366051), True, ContentRejectedError, "duplicate"),
    # media and containers
    (400, graph(36000, "The image size is too large.", 2207004), True, ContentRejectedError, "media.too_large"),
    (400, graph(9004, "The image format is not supported.", 2207005), True, ContentRejectedError, "media.mime_allowed"),
    (
        400,
        graph(36003, "The aspect ratio is not supported.", 2207009),
        True,
        ContentRejectedError,
        "media.aspect_ratio",
    ),
    (400, graph(36003, "The aspect ratio is not supported."), True, ContentRejectedError, "media.aspect_ratio"),
    (400, graph(36001, "Resolution"), True, ContentRejectedError, "media.resolution"),
    (400, graph(9004, "Only photo or video", 2207052), True, ContentRejectedError, "media.unreachable"),
    (400, graph(100, "Media expired", 2207020), True, ContentRejectedError, "container.expired"),
    (400, graph(100, "Caption too long", 2207010), True, ContentRejectedError, "text.max_graphemes"),
    (400, graph(100, "Carousel", 2207028), True, ContentRejectedError, "media.carousel"),
    (400, graph(4, "Restricted as spam", 2207051), True, ContentRejectedError, "account.restricted"),
    (400, graph(9004, "Something", 2207999), True, ContentRejectedError, "container.error"),
    (400, graph(324, "(#324) Missing or invalid image file"), True, ContentRejectedError, "media.invalid"),
    (400, graph(100, "Photos should be smaller than 4 MB", 1366046), True, ContentRejectedError, "media.too_large"),
    (400, graph(9007, "Media ID is not available", 2207027), True, PlatformUnavailableError, "container.not_ready"),
    # anything else the platform refuses
    (400, graph(100, "(#100) Invalid parameter"), True, ContentRejectedError, "rejected"),
    (403, b"Forbidden", True, ContentRejectedError, "rejected"),
    (404, graph(803, "Some of the aliases you requested do not exist"), False, ContentRejectedError, "rejected"),
]


@pytest.mark.parametrize(("status", "body", "creates", "kind", "rule"), ROWS)
@pytest.mark.parametrize("platform", ["facebook", "instagram", "threads"])
def test_classification_table(
    platform: str, status: int, body: Any, creates: bool, kind: type[PlatformError], rule: str
) -> None:
    error = classify_graph(response(status, body), platform=platform, creates=creates)
    assert type(error) is kind
    assert error.rule == f"{platform}.{rule}"
    assert error.platform == platform
    assert TOKEN not in error.message and TOKEN not in json.dumps(error.platform_response)


def test_adapters_classify_through_graph() -> None:
    body = graph(190, "expired", 463)
    assert FacebookAdapter.classify(
        FacebookAdapter.__new__(FacebookAdapter), response(400, body), creates=True
    ).rule == ("facebook.auth.expired")
    ig = InstagramAdapter.__new__(InstagramAdapter)
    assert InstagramAdapter.classify(ig, response(400, body), creates=True).rule == "instagram.auth.expired"


def test_graph_error_keeps_only_describing_fields() -> None:
    body = {
        "error": {
            "message": f"The media could not be fetched from https://bucket.s3/x?X-Amz-Signature=abc&access_token={TOKEN}",
            "type": "OAuthException",
            "code": 9004,
            "error_subcode": 2207052,
            "is_transient": False,
            "error_user_title": "Media download has failed.",
            "error_user_msg": "The media could not be fetched from this uri: https://bucket.s3/x?X-Amz-Signature=abc",
            "fbtrace_id": "AbCdEf",
            "error_data": {"echo": TOKEN},
        },
        "request": {"access_token": TOKEN},
    }
    extracted = graph_error(response(400, body))
    assert set(extracted) == {
        "message",
        "type",
        "code",
        "error_subcode",
        "is_transient",
        "error_user_title",
        "error_user_msg",
        "fbtrace_id",
    }
    dumped = json.dumps(extracted)
    assert TOKEN not in dumped and "X-Amz-Signature" not in dumped and "<url>" in dumped
    assert graph_error(response(502, b"<html>bad gateway</html>")) == {"status": 502}
    assert graph_error(response(400, {"error": "nope"})) == {"status": 400}


def test_long_messages_are_truncated() -> None:
    extracted = graph_error(response(400, graph(100, "x" * 5000)))
    assert len(extracted["message"]) == 300


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, DEFAULT_RATE_LIMIT_WAIT),
        (
            {"X-Business-Use-Case-Usage": json.dumps({"1": [{"type": "pages", "estimated_time_to_regain_access": 3}]})},
            180,
        ),
        (
            {
                "X-Business-Use-Case-Usage": json.dumps(
                    {
                        "1": [{"type": "pages", "estimated_time_to_regain_access": 0}],
                        "2": [{"type": "instagram", "estimated_time_to_regain_access": 12}],
                    }
                )
            },
            720,
        ),
        (
            {"X-Business-Use-Case-Usage": json.dumps({"1": [{"estimated_time_to_regain_access": 0}]})},
            DEFAULT_RATE_LIMIT_WAIT,
        ),
        ({"X-Business-Use-Case-Usage": "not json"}, DEFAULT_RATE_LIMIT_WAIT),
        ({"X-Business-Use-Case-Usage": "[1, 2]"}, DEFAULT_RATE_LIMIT_WAIT),
        ({"Retry-After": "42"}, 42),
        ({"Retry-After": "soon"}, DEFAULT_RATE_LIMIT_WAIT),
        ({"X-App-Usage": json.dumps({"call_count": 100})}, DEFAULT_RATE_LIMIT_WAIT),
    ],
)
def test_rate_limit_wait(headers: dict[str, str], wait: float) -> None:
    assert rate_limit_wait(response(400, graph(4), headers)) == wait
    error = classify_graph(response(400, graph(32), headers), platform="facebook", creates=True)
    assert isinstance(error, RateLimitedError) and error.retry_after == wait


def test_publishing_cap_waits_hours() -> None:
    error = classify_graph(response(400, graph(9, "limit", 2207042)), platform="instagram", creates=True)
    assert isinstance(error, RateLimitedError) and error.retry_after == PUBLISHING_CAP_WAIT


def test_parse_graph_time() -> None:
    parsed = parse_graph_time("2026-05-08T12:00:00+0000")
    assert parsed is not None and parsed.isoformat() == "2026-05-08T12:00:00+00:00"
    assert parse_graph_time("2026-05-08T12:00:00Z") is not None
    assert parse_graph_time("yesterday") is None and parse_graph_time(None) is None


CAPS = Capabilities(
    platform="instagram",
    text_max_graphemes=10,
    max_images=10,
    image_mime_types=frozenset({"image/jpeg"}),
    image_max_bytes=100,
    video_max_bytes=1000,
    image_aspect_ratio=(0.8, 1.91),
)


@pytest.mark.parametrize(
    ("item", "rules"),
    [
        (MediaItem("image", content_type="image/jpeg", size=100, width=1080, height=1080), []),
        (MediaItem("image"), []),  # nothing known yet: nothing to refuse
        (MediaItem("image", content_type="image/png"), ["instagram.media.mime_allowed"]),
        (MediaItem("image", content_type="image/jpeg; q=1", size=101), ["instagram.media.too_large"]),
        (MediaItem("image", width=2000, height=500), ["instagram.media.aspect_ratio"]),
        (MediaItem("image", width=1080, height=1350), []),  # exactly 4:5
        (MediaItem("image", width=1910, height=1000), []),  # exactly 1.91:1
        (MediaItem("image", width=1000, height=1300), ["instagram.media.aspect_ratio"]),
        (
            MediaItem("video", content_type="video/webm", size=2000),
            ["instagram.media.mime_allowed", "instagram.media.too_large"],
        ),
        (MediaItem("audio"), ["instagram.media.kind"]),
    ],
)
def test_media_problems(item: MediaItem, rules: list[str]) -> None:
    assert [p.rule for p in media_problems(CAPS, (item,))] == rules
