"""The adapter contract: every registered platform adapter, over real HTTP against its simulated
platform, maps success and each kind of failure the way the publishing service relies on
(DESIGN.md "Failures, sorted three ways"):

- success → a ``PublishResult`` whose post the platform holds exactly once;
- 401 → ``AuthExpiredError`` (refresh once, then reconnect); 429 → ``RateLimitedError`` with the
  platform's wait; 503 and a refused connection → ``PlatformUnavailableError`` (not sent: retry);
  400 → ``ContentRejectedError`` (permanent);
- a read timeout or a 500 after the post was stored → ``OutcomeUnknownError`` (reconcile with
  ``find_published`` before any retry). An adapter whose creates are idempotent
  (``capabilities.idempotent_create``) may call these "unavailable" instead, and then a retry
  must land the post exactly once;
- no error ever shows a token or secret.

Faults are aimed at the call that creates the post (``creating_call_offset``). A registered
platform without ``cases/<platform>.py`` fails here, so no adapter ships without its checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.platforms.base import PublishRequest, PublishResult, TokenSet
from crosspost.platforms.registry import adapter_class, registered_platforms
from tests.integration.contract.case import ContractCase
from tests.integration.contract.conftest import HOLD_SECONDS, ContractDriver, Session, closed_port, origin

RETRY_AFTER = 7


def expect(exc: PlatformError, kind: type[PlatformError], platform: str) -> None:
    assert isinstance(exc, kind), (
        f"{platform}: expected {kind.__name__}, got {type(exc).__name__} ({exc.rule}): {exc.message}"
    )
    assert exc.platform == platform


async def assert_published_once(s: Session, result: PublishResult) -> None:
    matching = await s.matching(result)
    assert len(matching) == 1, f"{s.platform}: {len(matching)} sandbox records match {result.uri}"


async def settle_outcome_unknown(
    s: Session, tokens: TokenSet, request: PublishRequest, exc: PlatformError, before: list[dict[str, Any]]
) -> None:
    """After "sent, no answer": the adapter must say outcome unknown (or, with idempotent
    creates, unavailable); a conclusive lookup must tell whether the post is there; and for an
    idempotent adapter a retry must leave exactly one post. ``before``: the read-back before."""
    capabilities = adapter_class(s.platform).capabilities
    if not isinstance(exc, OutcomeUnknownError):
        assert capabilities.idempotent_create, (
            f"{s.platform}: a create that was sent but not answered must be OutcomeUnknownError, "
            f"got {type(exc).__name__} ({exc.rule})"
        )
        expect(exc, PlatformUnavailableError, s.platform)
    stored = [record for record in await s.posts() if record not in before]
    if capabilities.lookup:
        assert s.last_request is not None
        found = await s.adapter().find_published(tokens, s.last_request)
        if stored:
            assert found is not None, f"{s.platform}: find_published missed a post the platform holds"
            assert any(s.case.record_matches(r, found) for r in stored), f"{s.platform}: found {found.uri}"
        else:
            assert found is None, f"{s.platform}: find_published found {found} but the platform holds nothing new"
    if capabilities.idempotent_create:
        result = await s.publish(tokens, request)
        await assert_published_once(s, result)
        assert len(await s.posts()) == len(before) + 1, f"{s.platform}: the retry made a second post"


def test_registered_platform_has_a_contract_case(case: ContractCase, platform: str) -> None:
    assert case.platform == platform
    assert case.creating_call_offset >= 0


def test_capabilities_are_declared(platform: str) -> None:
    cls = adapter_class(platform)
    caps = cls.capabilities
    assert caps.platform == platform, f"capabilities name '{caps.platform}', registered as '{platform}'"
    assert caps.text_max_graphemes > 0
    assert caps.media_transfer in ("bytes", "url")
    if caps.max_images:
        assert caps.image_mime_types, "images allowed but no image MIME types declared"
        assert caps.image_max_bytes, "images allowed but no image_max_bytes declared"
    if caps.max_videos:
        assert caps.video_mime_types, "videos allowed but no video MIME types declared"
        assert caps.video_max_bytes, "videos allowed but no video_max_bytes declared"
    if caps.max_media is not None:
        assert caps.max_media >= max(caps.max_images, caps.max_videos, 1)
    if caps.first_comment:
        assert caps.first_comment_max_graphemes, "first comments allowed without a length limit"
    if caps.image_aspect_ratio is not None:
        low, high = caps.image_aspect_ratio
        assert 0 < low <= high
    if caps.media_required:
        assert caps.max_images or caps.max_videos


def test_minimal_post_passes_its_own_preflight(contract: ContractDriver, platform: str) -> None:
    async def check(s: Session) -> None:
        await s.connect()
        assert adapter_class(platform).preflight(s.new_request()) == []

    contract.run(check)


def test_success_maps_to_the_platforms_post(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        before = len(await s.posts())
        result = await s.publish(tokens, s.new_request())
        assert result.uri, "PublishResult.uri is empty"
        assert result.url and result.url.startswith("https://"), f"not an https post URL: {result.url!r}"
        await assert_published_once(s, result)
        assert len(await s.posts()) == before + 1

    contract.run(check)


def test_401_is_auth_expired(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        await s.fault(status=401)
        expect(await s.publish_error(tokens, s.new_request()), AuthExpiredError, s.platform)

    contract.run(check)


def test_429_is_rate_limited_with_the_platforms_wait(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        await s.fault(status=429, retryAfter=RETRY_AFTER)
        exc = await s.publish_error(tokens, s.new_request())
        expect(exc, RateLimitedError, s.platform)
        if s.case.sends_retry_after:
            assert exc.retry_after == pytest.approx(RETRY_AFTER, abs=1), f"retry_after={exc.retry_after}"
        else:
            assert exc.retry_after is None or exc.retry_after > 0

    contract.run(check)


def test_503_is_unavailable_and_nothing_is_stored(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        before = await s.posts()
        await s.fault(status=503)
        expect(await s.publish_error(tokens, s.new_request()), PlatformUnavailableError, s.platform)
        assert await s.posts() == before

    contract.run(check)


def test_refused_connection_is_unavailable(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        before = await s.posts()
        closed = f"http://127.0.0.1:{closed_port()}/{s.platform}"
        async with contract.client(origin(closed)) as http:
            conn = contract.connection(http, base_url=closed)
            moved = s.case.retarget(tokens, closed)
            exc = await s.publish_error(moved, s.new_request(), adapter=s.adapter(conn))
        expect(exc, PlatformUnavailableError, s.platform)
        assert await s.posts() == before

    contract.run(check)


def test_read_timeout_on_create_is_outcome_unknown(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        before = await s.posts()
        request = s.new_request()
        await s.fault(mode="timeout", holdSeconds=HOLD_SECONDS)
        exc = await s.publish_error(tokens, request)
        await settle_outcome_unknown(s, tokens, request, exc, before)

    contract.run(check)


def test_500_after_commit_is_outcome_unknown_and_reconciles(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        before = await s.posts()
        request = s.new_request()
        await s.fault(status=500, mode="after_commit")
        exc = await s.publish_error(tokens, request)
        assert len(await s.posts()) == len(before) + 1, "after_commit must have stored the post"
        await settle_outcome_unknown(s, tokens, request, exc, before)

    contract.run(check)


def test_400_is_content_rejected(contract: ContractDriver) -> None:
    async def check(s: Session) -> None:
        tokens = await s.connect()
        before = await s.posts()
        await s.fault(status=400)
        expect(await s.publish_error(tokens, s.new_request()), ContentRejectedError, s.platform)
        assert await s.posts() == before

    contract.run(check)


def test_every_registered_platform_is_checked() -> None:
    # The parametrization above comes from the registry itself; this guards against it being empty.
    assert registered_platforms()
