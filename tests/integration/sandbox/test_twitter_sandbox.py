"""The X adapter and auth against the sandbox over HTTP (connect with PKCE, publish text and each
media shape, processing and resume, duplicates, refresh, every fault mode, read-back), and the
sandbox's own X behaviour checked with raw calls (statuses and bodies of PLATFORMS.md §7)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from ulid import ULID

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.platforms import twitter as twitter_module
from crosspost.platforms.base import (
    AppCredentials,
    ConnectedAccount,
    MediaItem,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.twitter import TwitterAdapter, TwitterAuth
from local.sandbox import SandboxServer
from local.sandbox import twitter as sandbox_twitter
from local.sandbox.files import files, jpeg, mp4, png
from local.sandbox.oauth import SANDBOX_APPS

T = TypeVar("T")
APP = SANDBOX_APPS["twitter"]
REDIRECT = "https://app.example/crosspost/callback"
ALICE = sandbox_twitter.USERS["alice"]
VERIFIER = "v" * 43 + "-verifier"


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def gif(size: int = 2048) -> bytes:
    head = b"GIF89a" + (320).to_bytes(2, "little") + (240).to_bytes(2, "little")
    return head + bytes(max(0, size - len(head)))


@dataclass
class X:
    """Drives the sandbox: control endpoints, raw API calls, and the real adapter over HTTP."""

    server: SandboxServer

    @property
    def base(self) -> str:
        return f"{self.server.url}/twitter"

    def config(self, secret: str | None = None) -> PlatformConfig:
        app = AppCredentials(APP["clientId"], secret or APP["clientSecret"])
        return PlatformConfig(base_url=self.base, load_app=lambda: app)

    # ---- control ---------------------------------------------------------------------------

    def control(self, method: str, action: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.server.url}/_sandbox/twitter/{action}", json=body, timeout=5)

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", spec).raise_for_status()

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts").json()["posts"])

    def uploads(self) -> int:
        """Media ids the simulated X holds."""
        platform = self.server.platform("twitter")
        assert isinstance(platform, sandbox_twitter.TwitterSandbox)
        return len(platform.media)

    def settings(self, **spec: Any) -> dict[str, Any]:
        response = self.control("POST", "settings", spec)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=5, **kwargs)

    # ---- the auth strategy and the adapter -------------------------------------------------

    def run(self, work: Callable[[httpx.AsyncClient], Awaitable[T]], *, timeout: float = 5.0) -> T:
        async def go() -> T:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await work(http)

        return asyncio.run(go())

    def authorize(self, user: str | None = None, *, verifier: str = VERIFIER) -> str:
        auth = TwitterAuth(httpx.AsyncClient(), self.config())
        url = auth.authorization_url(
            state="st4te", redirect_uri=REDIRECT, code_challenge=challenge(verifier), extended_scopes=False
        )
        if user:
            url += f"&sandbox_user={user}"
        consent = httpx.get(url, timeout=5)
        assert consent.status_code == 302, consent.text
        query = parse_qs(urlsplit(consent.headers["Location"]).query)
        assert query["state"] == ["st4te"]
        return query["code"][0]

    def complete(self, code: str, *, verifier: str = VERIFIER, secret: str | None = None) -> list[ConnectedAccount]:
        return self.run(
            lambda http: TwitterAuth(http, self.config(secret)).complete(
                code=code, redirect_uri=REDIRECT, code_verifier=verifier
            )
        )

    def connect(self, user: str | None = None) -> ConnectedAccount:
        [account] = self.complete(self.authorize(user))
        return account

    def adapter_call(self, call: Callable[[TwitterAdapter], Awaitable[T]], *, timeout: float = 5.0) -> T:
        return self.run(lambda http: call(TwitterAdapter(http, self.config())), timeout=timeout)

    def publish(self, tokens: TokenSet, request: PublishRequest, *, timeout: float = 5.0) -> Any:
        return self.adapter_call(lambda a: a.publish(tokens, request), timeout=timeout)

    def publish_until_done(self, tokens: TokenSet, request: PublishRequest) -> tuple[PublishResult, int]:
        """Publish, resuming from each ``PublishProgress`` (as the publisher does): (result, attempts)."""
        for attempt in range(1, 20):
            outcome = self.publish(tokens, request)
            if isinstance(outcome, PublishResult):
                return outcome, attempt
            assert isinstance(outcome, PublishProgress)
            time.sleep(min(outcome.check_after, 0.2))
            request = replace(request, progress=outcome.state)
        raise AssertionError("still processing")

    def error(self, tokens: TokenSet, request: PublishRequest, *, timeout: float = 5.0) -> PlatformError:
        with pytest.raises(PlatformError) as caught:
            self.publish(tokens, request, timeout=timeout)
        for secret in (tokens.access_token, tokens.refresh_token or "", APP["clientSecret"]):
            assert secret not in str(caught.value) + repr(caught.value) + str(caught.value.platform_response)
        return caught.value

    def refresh(self, tokens: TokenSet) -> TokenSet:
        return self.adapter_call(lambda a: a.refresh(tokens))

    def find(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        return self.adapter_call(lambda a: a.find_published(tokens, request))


@pytest.fixture
def x(sandbox_server: SandboxServer) -> X:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return X(sandbox_server)


def post(text: str | None = None, **kw: Any) -> PublishRequest:
    post_id = f"post_{ULID()}"
    kw.setdefault("created_at", datetime.now(UTC))
    kw.setdefault("deadline", time.monotonic() + 10)
    return PublishRequest(post_id=post_id, text=text or f"Hello from crosspost {post_id}", **kw)


def image(data: bytes, content_type: str, alt: str | None = None) -> MediaItem:
    return MediaItem(kind="image", content_type=content_type, data=data, alt_text=alt, size=len(data))


def video(data: bytes | None = None) -> MediaItem:
    data = data if data is not None else mp4(64 * 1024)
    return MediaItem(kind="video", content_type="video/mp4", data=data, size=len(data))


# ---- connect -------------------------------------------------------------------------------------


def test_connect_returns_the_account_and_its_tokens(x: X) -> None:
    before = datetime.now(UTC)
    account = x.connect()
    assert account.platform == "twitter"
    assert account.platform_account_id == ALICE.id
    assert account.username == "sandbox_alice" and account.display_name == "Alice (sandbox)"
    assert account.profile_url == "https://x.com/sandbox_alice"
    assert account.profile_image_url == ALICE.profile_image_url
    tokens = account.tokens
    assert tokens.refresh_token and tokens.access_token != tokens.refresh_token
    assert tokens.access_expires_at is not None
    assert timedelta(seconds=7190) < tokens.access_expires_at - before <= timedelta(seconds=7201)
    assert tokens.connection_expires_at is None and tokens.refresh_after is None  # API.md: X → null
    assert tokens.extra["userId"] == ALICE.id and tokens.extra["username"] == "sandbox_alice"
    assert set(tokens.extra["scope"].split()) == set(twitter_module.SCOPES)


def test_fixture_users_are_chosen_on_the_authorize_url(x: X) -> None:
    assert x.connect("bob").username == "sandbox_bob"
    assert x.connect("suspended").username == "sandbox_suspended"
    auth = TwitterAuth(httpx.AsyncClient(), x.config())
    url = auth.authorization_url(
        state="s", redirect_uri=REDIRECT, code_challenge=challenge(VERIFIER), extended_scopes=False
    )
    assert httpx.get(url + "&sandbox_user=nobody", timeout=5).status_code == 400


def test_authorization_url_is_xs_with_pkce(x: X) -> None:
    auth = TwitterAuth(httpx.AsyncClient(), PlatformConfig(load_app=lambda: AppCredentials("cid", "secret")))
    url = auth.authorization_url(state="st", redirect_uri=REDIRECT, code_challenge="abc", extended_scopes=True)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "x.com", "/i/oauth2/authorize")
    query = parse_qs(parts.query)
    assert query["scope"] == ["tweet.read tweet.write users.read offline.access media.write"]
    assert query["code_challenge"] == ["abc"] and query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == ["cid"] and query["response_type"] == ["code"] and query["state"] == ["st"]
    assert "secret" not in url
    with pytest.raises(ValueError):
        auth.authorization_url(state="st", redirect_uri=REDIRECT, code_challenge=None, extended_scopes=False)


def test_a_wrong_pkce_verifier_is_refused(x: X) -> None:
    code = x.authorize()
    with pytest.raises(AuthExpiredError) as caught:
        x.complete(code, verifier="another-verifier-entirely-" + "x" * 20)
    assert caught.value.rule == "twitter.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response == sandbox_twitter.INVALID_CODE


@pytest.mark.parametrize("spoil", ["expire", "reuse", "unknown"])
def test_expired_reused_or_unknown_codes_are_refused(x: X, spoil: str) -> None:
    code = x.authorize()
    if spoil == "expire":
        x.control("POST", "expire-codes").raise_for_status()
    elif spoil == "reuse":
        x.complete(code)
    else:
        code = "not-a-code"
    with pytest.raises(AuthExpiredError) as caught:
        x.complete(code)
    assert caught.value.rule == "twitter.auth.code_invalid"
    assert caught.value.platform_response["error"] == "invalid_request"


def test_a_wrong_client_secret_is_refused_without_showing_it(x: X) -> None:
    with pytest.raises(AuthExpiredError) as caught:
        x.complete(x.authorize(), secret="wrong-secret-value")
    assert caught.value.platform_response == sandbox_twitter.UNAUTHORIZED_CLIENT
    assert "wrong-secret-value" not in str(caught.value) + repr(caught.value)


def test_token_endpoint_rules(x: X) -> None:
    basic = "Basic " + base64.b64encode(f"{APP['clientId']}:{APP['clientSecret']}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": x.authorize(), "redirect_uri": REDIRECT}
    no_basic = x.api("POST", "/2/oauth2/token", data={**form, "code_verifier": VERIFIER})
    assert no_basic.status_code == 401 and no_basic.json() == sandbox_twitter.UNAUTHORIZED_CLIENT
    missing = x.api("POST", "/2/oauth2/token", data=form, headers={"Authorization": basic})
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": "Missing required parameter [code_verifier].",
    }
    # plain PKCE works too (X accepts it); the verifier is the challenge itself
    url = (
        f"{x.base}/i/oauth2/authorize?response_type=code&client_id={APP['clientId']}&redirect_uri={REDIRECT}"
        "&scope=tweet.read%20users.read&state=s&code_challenge=plainchallenge&code_challenge_method=plain"
    )
    code = parse_qs(urlsplit(httpx.get(url, timeout=5).headers["Location"]).query)["code"][0]
    plain = x.api(
        "POST",
        "/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": "plainchallenge",
        },
        headers={"Authorization": basic},
    )
    assert plain.status_code == 200
    answer = plain.json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == 7200
    assert "refresh_token" not in answer  # no offline.access, no refresh token


def test_authorize_requires_a_code_challenge(x: X) -> None:
    url = (
        f"{x.base}/i/oauth2/authorize?response_type=code&client_id={APP['clientId']}&redirect_uri={REDIRECT}"
        "&scope=tweet.read&state=s"
    )
    answer = httpx.get(url, timeout=5)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["invalid_request"]


# ---- refresh -------------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(x: X) -> None:
    tokens = x.connect().tokens
    fresh = x.refresh(tokens)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token != tokens.refresh_token
    assert fresh.extra["userId"] == ALICE.id and fresh.connection_expires_at is None
    assert isinstance(x.publish(fresh, post()), PublishResult)
    with pytest.raises(AuthExpiredError) as caught:
        x.refresh(tokens)  # the old refresh token died with the rotation
    assert caught.value.rule == "twitter.auth.refresh_failed"
    assert caught.value.platform_response == sandbox_twitter.INVALID_TOKEN
    assert tokens.refresh_token and tokens.refresh_token not in str(caught.value)


def test_revoked_tokens_fail_publish_and_refresh(x: X) -> None:
    tokens = x.connect().tokens
    x.control("POST", "revoke-tokens", {"user": "alice"}).raise_for_status()
    assert x.error(tokens, post()).rule == "twitter.auth.expired"
    with pytest.raises(AuthExpiredError):
        x.refresh(tokens)


def test_an_expired_access_token_is_refreshed(x: X) -> None:
    tokens = x.connect().tokens
    x.settings(accessTtlSeconds=0)
    expired = x.refresh(tokens)  # minted already expired
    assert isinstance(x.error(expired, post()), AuthExpiredError)
    x.settings(accessTtlSeconds=7200)
    assert isinstance(x.publish(x.refresh(expired), post()), PublishResult)


# ---- publishing ----------------------------------------------------------------------------------


def test_text_post_is_read_back(x: X) -> None:
    tokens = x.connect().tokens
    request = post("Hello from crosspost & friends: https://example.com/a?b=1 <3")
    result = x.publish(tokens, request)
    assert isinstance(result, PublishResult)
    assert result.url == f"https://x.com/sandbox_alice/status/{result.uri}"
    [record] = x.posts()
    assert record["id"] == result.uri and record["rawText"] == request.text and record["authorId"] == ALICE.id
    assert record["text"].startswith("Hello from crosspost &amp; friends: https://t.co/")
    assert record["text"].endswith(" &lt;3") and record["mediaIds"] == []
    assert x.find(tokens, request) == result


def test_every_api_answer_carries_rate_limit_headers(x: X) -> None:
    tokens = x.connect().tokens
    me = x.api("GET", "/2/users/me", tokens.access_token)
    assert me.status_code == 200 and me.json()["data"]["username"] == "sandbox_alice"
    assert (
        me.headers["x-rate-limit-limit"] == "75" and me.headers["x-rate-limit-remaining"] == "73"
    )  # connect read it once
    assert int(me.headers["x-rate-limit-reset"]) > time.time()
    created = x.api("POST", "/2/tweets", tokens.access_token, json={"text": "headers"})
    assert created.status_code == 201
    assert created.headers["x-rate-limit-remaining"] == "99" and "x-user-limit-24hour-remaining" in created.headers
    refused = x.api("POST", "/2/tweets", tokens.access_token, json={"text": "headers"})
    assert refused.status_code == 403 and "x-rate-limit-remaining" in refused.headers
    assert x.api("GET", "/2/users/me").json() == sandbox_twitter.UNAUTHORIZED


def test_images_with_alt_text(x: X) -> None:
    tokens = x.connect().tokens
    media = (
        image(png(800, 600), "image/png", alt="A chart"),
        image(files()["square.jpg"][1], "image/jpeg"),
        image(jpeg(1200, 800, pad_to=4096), "image/jpeg", alt="Photo"),
        image(files()["portrait.jpg"][1], "image/jpeg"),
    )
    request = post(media=media)
    result = x.publish(tokens, request)
    [record] = x.posts()
    assert record["id"] == result.uri and len(record["mediaIds"]) == 4
    assert [m["altText"] for m in record["media"]] == ["A chart", None, "Photo", None]
    assert {m["category"] for m in record["media"]} == {"tweet_image"}
    assert record["text"].split()[-1].startswith("https://t.co/")  # X's link to the media
    assert x.find(tokens, request) == result
    assert x.find(tokens, replace(request, media=media[:2])) is None  # another media count: not this post


def test_a_gif_goes_up_chunked_and_is_processed(x: X) -> None:
    tokens = x.connect().tokens
    result, attempts = x.publish_until_done(tokens, post(media=(image(gif(), "image/gif", alt="Loop"),)))
    assert attempts == 1  # processed within the deadline
    [record] = x.posts()
    assert record["id"] == result.uri and record["media"][0]["category"] == "tweet_gif"
    assert record["media"][0]["altText"] == "Loop" and record["media"][0]["mediaKey"].startswith("16_")


def test_a_video_waits_for_processing_within_the_deadline(x: X) -> None:
    tokens = x.connect().tokens
    result, attempts = x.publish_until_done(tokens, post(media=(video(),)))
    assert attempts == 1
    [record] = x.posts()
    assert record["media"][0]["category"] == "tweet_video" and record["media"][0]["contentType"] == "video/mp4"
    assert record["id"] == result.uri


def test_video_processing_past_the_deadline_resumes_without_uploading_again(x: X) -> None:
    tokens = x.connect().tokens
    x.settings(processingPolls=3)
    request = post(media=(video(mp4(9 * 1024 * 1024)),), deadline=None)  # two append segments
    first = x.publish(tokens, request)
    assert isinstance(first, PublishProgress) and first.check_after == 1
    assert len(first.state["mediaIds"]) == 1 and first.state["pending"] == first.state["mediaIds"]
    uploaded = x.uploads()
    result, attempts = x.publish_until_done(tokens, replace(request, progress=first.state))
    assert attempts == 3  # one STATUS per attempt, three needed
    assert x.uploads() == uploaded
    [record] = x.posts()
    assert record["id"] == result.uri and record["mediaIds"] == first.state["mediaIds"]


def test_progress_naming_media_x_no_longer_knows_uploads_again(x: X) -> None:
    tokens = x.connect().tokens
    request = post(media=(image(png(10, 10), "image/png"),), progress={"mediaIds": ["123"], "pending": ["123"]})
    result = x.publish(tokens, request)
    assert isinstance(result, PublishResult)
    assert x.posts()[0]["mediaIds"] != ["123"]


def test_video_alt_text_is_a_warning(x: X) -> None:
    tokens = x.connect().tokens
    item = replace(video(), alt_text="A clip")
    result, _ = x.publish_until_done(tokens, post(media=(item,)))
    assert [w.code for w in result.warnings] == ["media.alt_text_unsupported"]


def test_a_video_x_cannot_process_is_rejected(x: X) -> None:
    tokens = x.connect().tokens
    broken = video(b"\x00" * 4096)  # says video/mp4, is not one
    exc = x.error(tokens, post(media=(broken,)))
    assert isinstance(exc, ContentRejectedError) and exc.rule == "twitter.media.processing_failed"
    assert exc.platform_response["processing_info"]["error"]["name"] == "InvalidMedia"
    assert x.posts() == []


def test_media_limits_are_checked_before_anything_is_sent(x: X) -> None:
    tokens = x.connect().tokens
    big = image(jpeg(1080, 1080, pad_to=6 * 1024 * 1024), "image/jpeg")
    assert x.error(tokens, post(media=(big,))).rule == "twitter.media.too_large"
    mixed = (image(gif(), "image/gif"), image(png(10, 10), "image/png"))
    assert x.error(tokens, post(media=mixed)).rule == "twitter.media.image_video_exclusive"
    assert x.uploads() == 0


def test_duplicate_text_is_refused_and_found_when_it_is_this_post(x: X) -> None:
    tokens = x.connect().tokens
    text = "The same words twice"
    request = post(text)
    first = x.publish(tokens, request)
    exc = x.error(tokens, post(text))
    assert isinstance(exc, ContentRejectedError) and exc.rule == "twitter.duplicate"
    assert exc.platform_response == sandbox_twitter.DUPLICATE
    assert len(x.posts()) == 1
    # What the publishing service does when a later attempt of a post meets the duplicate:
    # find_published shows whether the post is the one X has.
    assert x.find(tokens, request) == first
    assert x.find(tokens, post(text, created_at=datetime.now(UTC) + timedelta(seconds=5))) is None


def test_too_long_text_is_refused_by_x(x: X) -> None:
    tokens = x.connect().tokens
    exc = x.error(tokens, post("故" * 141))  # 282 weighted
    assert isinstance(exc, ContentRejectedError) and exc.rule == "twitter.request.forbidden"
    assert exc.platform_response == sandbox_twitter.TOO_LONG
    assert isinstance(x.publish(tokens, post("故" * 140)), PublishResult)


def test_a_suspended_account_cannot_post(x: X) -> None:
    tokens = x.connect("suspended").tokens
    exc = x.error(tokens, post())
    assert isinstance(exc, ContentRejectedError) and exc.rule == "twitter.request.forbidden"


def test_bad_tweet_bodies_are_refused(x: X) -> None:
    token = x.connect().tokens.access_token
    unknown = x.api("POST", "/2/tweets", token, json={"text": "hi", "colour": "red"})
    assert unknown.status_code == 400 and unknown.json()["type"].endswith("/invalid-request")
    empty = x.api("POST", "/2/tweets", token, json={})
    assert empty.status_code == 400
    foreign = x.api("POST", "/2/tweets", token, json={"text": "hi", "media": {"media_ids": ["1"]}})
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["message"] == "Your media IDs are invalid."
    assert x.api("POST", "/2/tweets", token, content=b"not json").status_code == 400
    listing = x.api("GET", f"/2/users/{ALICE.id}/tweets", token, params={"max_results": "4"})
    assert listing.status_code == 400


def test_find_published_reads_every_page(x: X, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twitter_module, "LOOKUP_PAGE_SIZE", 5)
    tokens = x.connect().tokens
    wanted = post("The one to find")
    target = x.publish(tokens, wanted)
    for n in range(11):
        x.publish(tokens, post(f"Noise {n}"))
    assert x.find(tokens, wanted) == target  # on the third page, newest first
    assert x.find(tokens, post("Never posted")) is None
    monkeypatch.setattr(twitter_module, "LOOKUP_PAGES_MAX", 2)
    with pytest.raises(PlatformUnavailableError) as caught:
        x.find(tokens, wanted)
    assert caught.value.rule == "twitter.lookup.inconclusive"


def test_find_published_ignores_posts_from_before_this_one(x: X) -> None:
    tokens = x.connect().tokens
    x.publish(tokens, post("Said before"))
    assert x.find(tokens, post("Said before", created_at=datetime.now(UTC) + timedelta(minutes=5))) is None


def test_a_real_rate_limit(x: X) -> None:
    x.settings(postsPer15Minutes=1)
    tokens = x.connect().tokens
    x.publish(tokens, post())
    exc = x.error(tokens, post())
    assert isinstance(exc, RateLimitedError) and exc.rule == "twitter.rate_limited"
    assert exc.retry_after is not None and 800 < exc.retry_after <= 901
    assert exc.platform_response == sandbox_twitter.TOO_MANY


# ---- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "rule", "stored"),
    [
        ({"status": 400}, ContentRejectedError, "twitter.request.invalid", 0),
        ({"status": 401}, AuthExpiredError, "twitter.auth.expired", 0),
        ({"status": 429, "retryAfter": 12}, RateLimitedError, "twitter.rate_limited", 0),
        ({"status": 500}, OutcomeUnknownError, "twitter.outcome_unknown", 0),
        ({"status": 500, "mode": "after_commit"}, OutcomeUnknownError, "twitter.outcome_unknown", 1),
        ({"status": 503, "retryAfter": 4}, PlatformUnavailableError, "twitter.unavailable", 0),
        ({"mode": "timeout", "holdSeconds": 2}, OutcomeUnknownError, "twitter.timeout", 0),
    ],
)
def test_faults_on_the_create_call(
    x: X, spec: dict[str, Any], kind: type[PlatformError], rule: str, stored: int
) -> None:
    tokens = x.connect().tokens
    request = post(media=(image(png(10, 10), "image/png"),))
    x.fault(after=1, **spec)  # the upload goes through; the create is faulted
    exc = x.error(tokens, request, timeout=1.0)
    assert type(exc) is kind and exc.rule == rule
    assert len(x.posts()) == stored
    if kind is RateLimitedError:
        assert exc.retry_after == pytest.approx(12, abs=1)
    if kind is OutcomeUnknownError:
        found = x.find(tokens, request)
        assert (found is not None) == bool(stored)
        if found is not None:
            assert found.uri == x.posts()[0]["id"]
    [applied] = x.control("GET", "fault-log").json()["applied"]
    assert applied["path"] == "/2/tweets"


@pytest.mark.parametrize("status", [500, 503])
def test_a_failed_upload_is_not_sent(x: X, status: int) -> None:
    tokens = x.connect().tokens
    x.fault(status=status)
    exc = x.error(tokens, post(media=(image(png(10, 10), "image/png"),)))
    assert isinstance(exc, PlatformUnavailableError)  # uploads are not posts: retry
    assert x.posts() == []


def test_a_timed_out_upload_is_not_sent(x: X) -> None:
    tokens = x.connect().tokens
    x.fault(mode="timeout", holdSeconds=2)
    exc = x.error(tokens, post(media=(video(),)), timeout=1.0)
    assert isinstance(exc, PlatformUnavailableError) and exc.rule == "twitter.timeout"
