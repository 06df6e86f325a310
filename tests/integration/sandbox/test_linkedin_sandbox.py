"""LinkedIn: the adapter and its auth strategy against the simulated LinkedIn over HTTP, and the
sandbox's own LinkedIn behaviour (statuses and bodies of PLATFORMS.md §5) checked with raw calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from ulid import ULID

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformUnavailableError,
    RateLimitedError,
)
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
from crosspost.platforms.linkedin import LinkedInAdapter, LinkedInAuth
from crosspost.platforms.linkedin_api import LINKEDIN_VERSION
from local.sandbox import SandboxServer
from local.sandbox.files import jpeg, mp4, png
from local.sandbox.linkedin import MEMBERS
from local.sandbox.oauth import SANDBOX_APPS

APP = SANDBOX_APPS["linkedin"]
REDIRECT = "https://app.example/crosspost/callback"


class LinkedInSandboxClient:
    def __init__(self, server: SandboxServer) -> None:
        self.url = server.url
        self.base = f"{server.url}/linkedin"
        self.config = PlatformConfig(
            base_url=self.base, load_app=lambda: AppCredentials(APP["clientId"], APP["clientSecret"])
        )

    # ---- control ---------------------------------------------------------------------------

    def control(self, method: str, action: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/_sandbox/linkedin/{action}", json=body, timeout=5)

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts").json()["posts"])

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", spec).raise_for_status()

    def settings(self, **spec: Any) -> dict[str, Any]:
        response = self.control("POST", "settings", spec)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # ---- raw API ---------------------------------------------------------------------------

    def rest(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        version: str | None = LINKEDIN_VERSION,
        restli: str | None = "2.0.0",
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if version is not None:
            headers["Linkedin-Version"] = version
        if restli is not None:
            headers["X-Restli-Protocol-Version"] = restli
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=5, **kwargs)

    def authorize(self, user: str | None = None, **params: str) -> httpx.Response:
        query = {
            "response_type": "code",
            "client_id": APP["clientId"],
            "redirect_uri": REDIRECT,
            "state": "st-1",
            "scope": "openid profile email w_member_social",
            **params,
        }
        if user is not None:
            query["sandbox_user"] = user
        return httpx.get(f"{self.base}/oauth/v2/authorization", params=query, timeout=5)

    def code(self, user: str | None = None) -> str:
        response = self.authorize(user)
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]

    # ---- through crosspost's adapter --------------------------------------------------------

    @staticmethod
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run(coro)

    def connect(self, user: str | None = None, *, code: str | None = None) -> ConnectedAccount:
        async def go() -> list[ConnectedAccount]:
            async with httpx.AsyncClient(timeout=5) as http:
                auth = LinkedInAuth(http, self.config)
                url = auth.authorization_url(
                    state="s", redirect_uri=REDIRECT, code_challenge=None, extended_scopes=False
                )
                given = code
                if given is None:
                    consent = await http.get(url + (f"&sandbox_user={user}" if user else ""))
                    assert consent.status_code == 302, consent.text
                    given = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
                return await auth.complete(code=given, redirect_uri=REDIRECT, code_verifier=None)

        accounts: list[ConnectedAccount] = self.run(go())
        assert len(accounts) == 1
        return accounts[0]

    def call(self, name: str, *args: Any, timeout: float = 5.0) -> Any:
        async def go() -> Any:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await getattr(LinkedInAdapter(http, self.config), name)(*args)

        return self.run(go())

    def publish(
        self, tokens: TokenSet, req: PublishRequest, *, timeout: float = 5.0
    ) -> PublishResult | PublishProgress:
        return self.call("publish", tokens, req, timeout=timeout)  # type: ignore[no-any-return]

    def publish_error(self, tokens: TokenSet, req: PublishRequest, **kw: Any) -> Exception:
        with pytest.raises(Exception) as caught:
            self.publish(tokens, req, **kw)
        return caught.value


@pytest.fixture
def li(sandbox_server: SandboxServer) -> LinkedInSandboxClient:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    client = LinkedInSandboxClient(sandbox_server)
    client.settings(videoProcessingSeconds=0)
    return client


def request(text: str | None = None, **kw: Any) -> PublishRequest:
    kw.setdefault("post_id", f"post_{ULID()}")
    kw.setdefault("created_at", datetime.now(UTC))
    kw.setdefault("deadline", time.monotonic() + 5)
    return PublishRequest(text=text or f"Hello from crosspost {ULID()}", **kw)


def the_post(li: LinkedInSandboxClient, result: PublishResult | PublishProgress) -> dict[str, Any]:
    assert isinstance(result, PublishResult)
    [record] = [p for p in li.posts() if p["urn"] == result.uri]
    return record


# ---- connect -------------------------------------------------------------------------------------


def test_health_lists_linkedin_and_reset_clears_it(li: LinkedInSandboxClient) -> None:
    assert "linkedin" in httpx.get(f"{li.url}/_sandbox/health").json()["platforms"]
    account = li.connect()
    li.publish(account.tokens, request())
    assert len(li.posts()) == 1
    httpx.post(f"{li.url}/_sandbox/reset").raise_for_status()
    assert li.posts() == []
    assert li.rest("POST", "/rest/posts", account.tokens.access_token, json={}).status_code == 401


def test_connect_the_default_member(li: LinkedInSandboxClient) -> None:
    member = MEMBERS["member"]
    account = li.connect()
    assert account.platform == "linkedin" and account.platform_account_id == f"urn:li:person:{member.sub}"
    assert account.username == account.display_name == "Morgan Lee"
    assert account.profile_image_url == member.picture and account.profile_url is None
    tokens = account.tokens
    assert tokens.refresh_token is None and tokens.refresh_after is None
    assert tokens.access_expires_at is not None
    left = tokens.access_expires_at - datetime.now(UTC)
    assert timedelta(days=59, hours=23) < left <= timedelta(days=60)
    assert tokens.connection_expires_at == tokens.access_expires_at
    assert tokens.extra["scopes"] == ["email", "openid", "profile", "w_member_social"]


def test_connect_a_partner_app_member_gets_a_refresh_token(li: LinkedInSandboxClient) -> None:
    tokens = li.connect("partner").tokens
    assert tokens.refresh_token and tokens.access_expires_at and tokens.connection_expires_at and tokens.refresh_after
    assert timedelta(days=364) < tokens.connection_expires_at - datetime.now(UTC) <= timedelta(days=365)
    assert tokens.access_expires_at - tokens.refresh_after == timedelta(days=7)


def test_connect_the_expiring_member(li: LinkedInSandboxClient) -> None:
    account = li.connect("expiring")
    expires = account.tokens.connection_expires_at
    assert expires is not None and timedelta(days=2, hours=23) < expires - datetime.now(UTC) <= timedelta(days=3)
    assert account.profile_image_url is None


def test_token_answer_and_userinfo_shapes(li: LinkedInSandboxClient) -> None:
    form = {
        "grant_type": "authorization_code",
        "code": li.code(),
        "redirect_uri": REDIRECT,
        "client_id": APP["clientId"],
        "client_secret": APP["clientSecret"],
    }
    answer = httpx.post(f"{li.base}/oauth/v2/accessToken", data=form).json()
    assert 5_183_990 <= answer["expires_in"] <= 5_184_000 and answer["scope"] == "email,openid,profile,w_member_social"
    assert answer["token_type"] == "Bearer" and answer["id_token"].count(".") == 2
    assert "refresh_token" not in answer
    me = httpx.get(f"{li.base}/v2/userinfo", headers={"Authorization": f"Bearer {answer['access_token']}"}).json()
    assert me["sub"] == MEMBERS["member"].sub and me["email"] == "morgan@sandbox.test" and me["email_verified"]
    again = httpx.post(f"{li.base}/oauth/v2/accessToken", data=form)  # a code works once
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"


def test_refused_codes_are_auth_failures(li: LinkedInSandboxClient) -> None:
    code = li.code()
    li.control("POST", "expire-codes").raise_for_status()
    with pytest.raises(AuthExpiredError) as caught:
        li.connect(code=code)
    assert caught.value.rule == "linkedin.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response["error"] == "invalid_request"
    with pytest.raises(AuthExpiredError):
        li.connect(code="made-up")
    bad = httpx.post(
        f"{li.base}/oauth/v2/accessToken",
        data={
            "grant_type": "authorization_code",
            "code": li.code(),
            "redirect_uri": REDIRECT,
            "client_id": APP["clientId"],
            "client_secret": "wrong",
        },
    )
    assert bad.status_code == 401 and bad.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }


def test_authorize_refuses_unknown_scopes_users_and_clients(li: LinkedInSandboxClient) -> None:
    scoped = li.authorize(scope="openid r_fullprofile")
    assert scoped.status_code == 302
    query = parse_qs(urlsplit(scoped.headers["Location"]).query)
    assert query["error"] == ["unauthorized_scope_error"] and query["state"] == ["st-1"] and "code" not in query
    assert li.authorize(user="nobody").status_code == 400
    assert li.authorize(client_id="other").status_code == 400
    assert li.authorize(response_type="token").status_code == 400


def test_userinfo_needs_the_openid_scope(li: LinkedInSandboxClient) -> None:
    response = li.authorize(scope="w_member_social")
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": APP["clientId"],
        "client_secret": APP["clientSecret"],
    }
    token = httpx.post(f"{li.base}/oauth/v2/accessToken", data=form).json()["access_token"]
    me = httpx.get(f"{li.base}/v2/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 403 and me.json()["code"] == "ACCESS_DENIED"


# ---- publishing ----------------------------------------------------------------------------------


def test_publish_text_escaped_with_hashtags(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    text = f"Launch (beta) of *crosspost* #ship it @team a_b [1] {{x}} <y> ~z~ | \\ {ULID()}"
    result = li.publish(account.tokens, request(text))
    record = the_post(li, result)
    assert isinstance(result, PublishResult) and result.uri.startswith("urn:li:share:")
    assert result.url == f"https://www.linkedin.com/feed/update/{result.uri}"
    assert record["text"] == text and record["truncated"] is False
    assert record["hashtags"] == ["ship"] and record["mentions"] == []
    assert record["author"] == account.platform_account_id and record["member"] == "member"
    assert (record["visibility"], record["lifecycleState"], record["linkedinVersion"]) == (
        "PUBLIC",
        "PUBLISHED",
        LINKEDIN_VERSION,
    )


def test_the_create_answers_201_with_an_empty_body_and_the_urn_header(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    body = {
        "author": account.platform_account_id,
        "commentary": "raw call",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    created = li.rest("POST", "/rest/posts", account.tokens.access_token, json=body)
    assert created.status_code == 201 and created.content == b""
    assert created.headers["x-restli-id"].startswith("urn:li:share:")
    duplicate = li.rest("POST", "/rest/posts", account.tokens.access_token, json=body)
    assert duplicate.status_code == 422
    assert duplicate.json() == {
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": "com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of "
        + created.headers["x-restli-id"],
        "errorDetails": {
            "inputErrors": [{"description": "Duplicate post is detected", "input": {}, "code": "DUPLICATE_POST"}]
        },
        "status": 422,
    }


def test_the_rest_api_checks_versions_headers_tokens_and_bodies(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    token = account.tokens.access_token
    body = {
        "author": account.platform_account_id,
        "commentary": "x",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    missing = li.rest("POST", "/rest/posts", token, version=None, json=body)
    assert missing.status_code == 400 and missing.json()["code"] == "VERSION_MISSING"
    sunset = li.rest("POST", "/rest/posts", token, version="202401", json=body)
    assert sunset.status_code == 426
    assert sunset.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": "Requested version 20240101 is not active",
    }
    assert li.rest("POST", "/rest/posts", token, restli=None, json=body).status_code == 400
    assert li.rest("POST", "/rest/posts", None, json=body).json()["serviceErrorCode"] == 65604
    assert li.rest("POST", "/rest/posts", "AQforged", json=body).json()["serviceErrorCode"] == 65600
    other = li.rest("POST", "/rest/posts", token, json={**body, "author": "urn:li:person:someoneelse"})
    assert other.status_code == 403 and other.json()["code"] == "ACCESS_DENIED"
    extra = li.rest("POST", "/rest/posts", token, json={**body, "bogus": 1})
    assert extra.status_code == 422 and extra.json()["errorDetails"]["inputErrors"][0]["code"] == "UNPERMITTED_FIELDS"
    long = li.rest("POST", "/rest/posts", token, json={**body, "commentary": "é" * 3001})
    assert long.status_code == 422 and long.json()["errorDetails"]["inputErrors"][0]["code"] == "MAX_LENGTH_EXCEEDED"
    assert li.rest("POST", "/rest/posts", token, content=b"{not json").status_code == 400
    cut = li.rest("POST", "/rest/posts", token, json={**body, "commentary": "Launch (beta) today"})
    assert cut.status_code == 201
    [record] = [p for p in li.posts() if p["urn"] == cut.headers["x-restli-id"]]
    assert record["text"] == "Launch " and record["truncated"] is True  # what escaping prevents


def test_text_of_3000_characters_is_accepted(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    text = ("(é)" * 1000)[:3000]
    assert the_post(li, li.publish(account.tokens, request(text)))["text"] == text


def test_publish_one_image_with_alt_text(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    data = jpeg(1200, 800, pad_to=30_000)
    item = MediaItem("image", "image/jpeg", data=data, alt_text="A chart", width=1200, height=800)
    record = the_post(li, li.publish(account.tokens, request(media=(item,))))
    [image] = record["media"]
    assert image["kind"] == "image" and image["urn"].startswith("urn:li:image:")
    assert (image["altText"], image["contentType"], image["size"], image["width"]) == (
        "A chart",
        "image/jpeg",
        30_000,
        1200,
    )
    assert record["content"] == {"media": {"id": image["urn"], "altText": "A chart"}}


def test_publish_several_images_in_order(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    items = tuple(MediaItem("image", "image/png", data=png(100 + n, 100), alt_text=f"picture {n}") for n in range(3))
    record = the_post(li, li.publish(account.tokens, request(media=items)))
    assert [(m["width"], m["altText"]) for m in record["media"]] == [
        (100, "picture 0"),
        (101, "picture 1"),
        (102, "picture 2"),
    ]
    assert "multiImage" in record["content"]


def test_publish_a_video_in_several_parts(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    data = mp4(5 * 1024 * 1024)  # two 4 MiB parts
    record = the_post(li, li.publish(account.tokens, request(media=(MediaItem("video", "video/mp4", data=data),))))
    [video] = record["media"]
    assert record["urn"].startswith("urn:li:ugcPost:") and video["kind"] == "video" and video["size"] == len(data)


def test_a_slow_video_returns_progress_and_the_next_attempt_resumes(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    li.settings(videoProcessingSeconds=30)
    req = request(media=(MediaItem("video", "video/mp4", data=mp4(100 * 1024)),), deadline=time.monotonic() + 0.5)
    outcome = li.publish(account.tokens, req)
    assert isinstance(outcome, PublishProgress) and outcome.state["video"].startswith("urn:li:video:")
    assert li.posts() == []
    li.settings(videoProcessingSeconds=0)
    resumed = li.publish(
        account.tokens, request(req.text, post_id=req.post_id, media=req.media, progress=outcome.state)
    )
    record = the_post(li, resumed)
    assert record["media"][0]["urn"] == outcome.state["video"]  # the same video: not uploaded again


def test_a_video_linkedin_cannot_process_is_rejected(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    garbage = MediaItem("video", "video/mp4", data=bytes(100 * 1024))
    exc = li.publish_error(account.tokens, request(media=(garbage,)))
    assert isinstance(exc, ContentRejectedError) and exc.rule == "linkedin.video.processing_failed"
    assert li.posts() == []


def test_a_duplicate_text_is_rejected(li: LinkedInSandboxClient) -> None:
    account = li.connect()
    li.publish(account.tokens, request("Same words"))
    exc = li.publish_error(account.tokens, request("Same words"))
    assert isinstance(exc, ContentRejectedError) and exc.rule == "linkedin.duplicate"
    assert len(li.posts()) == 1


# ---- refresh -------------------------------------------------------------------------------------


def test_refresh_for_a_partner_member(li: LinkedInSandboxClient) -> None:
    tokens = li.connect("partner").tokens
    fresh: TokenSet = li.call("refresh", tokens)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token == tokens.refresh_token
    assert fresh.connection_expires_at is not None and tokens.connection_expires_at is not None
    assert abs(fresh.connection_expires_at - tokens.connection_expires_at) < timedelta(seconds=5)  # not extended
    assert isinstance(li.publish(fresh, request()), PublishResult)


def test_refresh_without_a_refresh_token_or_after_revocation_fails(li: LinkedInSandboxClient) -> None:
    with pytest.raises(AuthExpiredError) as caught:
        li.call("refresh", li.connect().tokens)
    assert caught.value.rule == "linkedin.auth.expired"
    partner = li.connect("partner").tokens
    li.control("POST", "revoke-tokens", {"user": "partner"}).raise_for_status()
    with pytest.raises(AuthExpiredError) as caught:
        li.call("refresh", partner)
    assert caught.value.rule == "linkedin.auth.refresh_failed"
    exc = li.publish_error(partner, request())
    assert isinstance(exc, AuthExpiredError) and exc.rule == "linkedin.auth.revoked"


def test_an_expired_token_is_refused_with_65602(li: LinkedInSandboxClient) -> None:
    partner = li.connect("partner").tokens
    li.settings(accessTtlSeconds=0)  # tokens minted from now on are expired at once
    expired: TokenSet = li.call("refresh", partner)
    exc = li.publish_error(expired, request())
    assert isinstance(exc, AuthExpiredError) and exc.rule == "linkedin.auth.expired"
    assert exc.platform_response["serviceErrorCode"] == 65602
    with pytest.raises(AuthExpiredError) as caught:  # connect: the token fails at userinfo
        li.connect()
    assert caught.value.http_status == 401


# ---- faults --------------------------------------------------------------------------------------


def test_fault_401(li: LinkedInSandboxClient) -> None:
    tokens = li.connect().tokens
    li.fault(status=401)
    exc = li.publish_error(tokens, request())
    assert isinstance(exc, AuthExpiredError) and exc.rule == "linkedin.auth.invalid"
    assert exc.platform_response == {
        "status": 401,
        "serviceErrorCode": 65600,
        "code": "INVALID_ACCESS_TOKEN",
        "message": "Invalid access token",
    }


def test_fault_429_has_no_headers_and_waits_for_the_reset(li: LinkedInSandboxClient) -> None:
    tokens = li.connect().tokens
    li.fault(status=429, retryAfter=7)
    raw = li.rest("POST", "/rest/posts", tokens.access_token, json={})
    assert raw.status_code == 429 and "retry-after" not in raw.headers
    assert not [h for h in raw.headers if h.lower().startswith("x-ratelimit")]
    li.fault(status=429)
    exc = li.publish_error(tokens, request())
    assert isinstance(exc, RateLimitedError) and exc.retry_after is not None
    midnight = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)
    assert exc.retry_after == pytest.approx((midnight - datetime.now(UTC)).total_seconds() + 60, abs=5)


@pytest.mark.parametrize(
    ("status", "kind"), [(400, ContentRejectedError), (503, PlatformUnavailableError), (500, OutcomeUnknownError)]
)
def test_fault_statuses_on_the_create(li: LinkedInSandboxClient, status: int, kind: type[Exception]) -> None:
    tokens = li.connect().tokens
    li.fault(status=status)
    assert isinstance(li.publish_error(tokens, request()), kind)
    assert li.posts() == []
    [applied] = li.control("GET", "fault-log").json()["applied"]
    assert applied["status"] == status and applied["call"] == "createPost"


def test_a_fault_on_the_image_upload_is_not_sent(li: LinkedInSandboxClient) -> None:
    tokens = li.connect().tokens
    li.fault(status=503, after=1)  # initializeUpload passes, the PUT fails
    image = MediaItem("image", "image/png", data=png(10, 10))
    exc = li.publish_error(tokens, request(media=(image,)))
    assert isinstance(exc, PlatformUnavailableError)
    assert [e["call"] for e in li.control("GET", "fault-log").json()["applied"]] == ["upload"]
    assert li.posts() == []


def test_after_commit_500_is_outcome_unknown_and_never_resent(li: LinkedInSandboxClient) -> None:
    tokens = li.connect().tokens
    req = request()
    li.fault(status=500, mode="after_commit")
    exc = li.publish_error(tokens, req)
    assert isinstance(exc, OutcomeUnknownError) and exc.rule == "linkedin.outcome_unknown"
    assert len(li.posts()) == 1
    assert li.call("find_published", tokens, req) is None  # cannot tell; nothing is sent again
    assert len(li.posts()) == 1


def test_a_timeout_is_outcome_unknown(li: LinkedInSandboxClient) -> None:
    tokens = li.connect().tokens
    li.fault(mode="timeout", holdSeconds=2)
    exc = li.publish_error(tokens, request(), timeout=1.0)
    assert isinstance(exc, OutcomeUnknownError) and exc.rule == "linkedin.timeout"
    assert li.posts() == []


def test_find_published_leaves_image_posts_unknown(li: LinkedInSandboxClient) -> None:
    tokens = li.connect().tokens
    req = request(media=(MediaItem("image", "image/png", data=png(10, 10)),))
    li.fault(status=500, mode="after_commit", after=2)
    assert isinstance(li.publish_error(tokens, req), OutcomeUnknownError)
    assert li.call("find_published", tokens, req) is None
    assert len(li.posts()) == 1
