"""ThreadsAdapter and ThreadsAuth against the simulated Threads, in-process over real HTTP: connect
(fixture users, refused codes), publishing every shape (text, image, video, carousel, reply), the
container state machine, refresh, the publishing quota, each fault, and the read-back."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from crosspost.platforms.threads import ThreadsAdapter, ThreadsAuth
from local.sandbox import SandboxServer, start_sandbox
from local.sandbox.oauth import SANDBOX_APPS

REDIRECT = "https://app.example/threads/callback"
APP = SANDBOX_APPS["threads"]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


class ThreadsLab:
    """The sandbox's Threads, its control endpoints, and the real adapter pointed at it."""

    def __init__(self, server: SandboxServer) -> None:
        self.url = server.url
        self.base = f"{server.url}/threads"
        self.config = self.config_with(APP["clientSecret"])

    def config_with(self, secret: str) -> PlatformConfig:
        credentials = AppCredentials(client_id=APP["clientId"], client_secret=secret)
        return PlatformConfig(base_url=self.base, load_app=lambda: credentials)

    def file(self, name: str) -> str:
        return f"{self.url}/_sandbox/files/{name}"

    # ---- control ---------------------------------------------------------------------------

    def control(self, method: str, action: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/_sandbox/threads/{action}", json=body, timeout=5)

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts").json()["posts"])

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", spec).raise_for_status()

    def settings(self, **values: Any) -> dict[str, Any]:
        response = self.control("POST", "settings", values)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # ---- OAuth -----------------------------------------------------------------------------

    def authorize(self, user: str | None = None, *, scope: str | None = None, extended: bool = False) -> str:
        """The code the consent page hands back."""
        url = run(self._authorization_url(extended))
        if user is not None:
            url += f"&sandbox_user={user}"
        if scope is not None:
            url = url.replace("scope=", f"scope={scope}&ignored=")
        response = httpx.get(url, follow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert query["state"] == ["st"]
        return query["code"][0]

    async def _authorization_url(self, extended: bool = False) -> str:
        async with httpx.AsyncClient() as http:
            return ThreadsAuth(http, self.config).authorization_url(
                state="st", redirect_uri=REDIRECT, code_challenge=None, extended_scopes=extended
            )

    def complete(
        self, code: str, *, redirect_uri: str = REDIRECT, config: PlatformConfig | None = None
    ) -> ConnectedAccount:
        async def go() -> list[ConnectedAccount]:
            async with httpx.AsyncClient(timeout=5) as http:
                return await ThreadsAuth(http, config or self.config).complete(
                    code=code, redirect_uri=redirect_uri, code_verifier=None
                )

        [account] = run(go())
        return account

    def connect(self, user: str | None = None) -> ConnectedAccount:
        return self.complete(self.authorize(user))

    # ---- the adapter -----------------------------------------------------------------------

    def publish(
        self, tokens: TokenSet, req: PublishRequest, *, timeout: float = 5.0
    ) -> PublishResult | PublishProgress:
        async def go() -> PublishResult | PublishProgress:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await ThreadsAdapter(http, self.config).publish(tokens, req)

        return run(go())  # type: ignore[no-any-return]

    def publish_error(self, tokens: TokenSet, req: PublishRequest, **kwargs: Any) -> PlatformError:
        try:
            outcome = self.publish(tokens, req, **kwargs)
        except PlatformError as exc:
            for secret in (tokens.access_token, APP["clientSecret"]):
                assert secret not in f"{exc} {exc!r} {exc.platform_response}"
            return exc
        pytest.fail(f"publish succeeded: {outcome}")

    def refresh(self, tokens: TokenSet) -> TokenSet:
        async def go() -> TokenSet:
            async with httpx.AsyncClient(timeout=5) as http:
                return await ThreadsAdapter(http, self.config).refresh(tokens)

        return run(go())  # type: ignore[no-any-return]

    def find(self, tokens: TokenSet, req: PublishRequest) -> PublishResult | None:
        async def go() -> PublishResult | None:
            async with httpx.AsyncClient(timeout=5) as http:
                return await ThreadsAdapter(http, self.config).find_published(tokens, req)

        return run(go())  # type: ignore[no-any-return]

    def graph(self, method: str, path: str, token: str | None, **params: str) -> httpx.Response:
        if token is not None:
            params["access_token"] = token
        if method == "GET":
            return httpx.get(f"{self.base}{path}", params=params, timeout=5)
        return httpx.post(f"{self.base}{path}", data=params, timeout=5)


def request(text: str = "Hello from crosspost", **kwargs: Any) -> PublishRequest:
    kwargs.setdefault("deadline", time.monotonic() + 5)
    return PublishRequest(post_id="post_1", text=text, created_at=datetime.now(UTC), **kwargs)


def image(url: str, alt: str | None = None) -> MediaItem:
    return MediaItem(kind="image", url=url, alt_text=alt)


def video(url: str) -> MediaItem:
    return MediaItem(kind="video", url=url)


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing.jpg"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    started = start_sandbox()
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crosspost.platforms.threads.POLL_FIRST_SECONDS", 0.05)


@pytest.fixture
def lab(server: SandboxServer) -> ThreadsLab:
    httpx.post(f"{server.url}/_sandbox/reset", timeout=5).raise_for_status()
    found = ThreadsLab(server)
    found.settings(imageProcessingSeconds=0.05, videoProcessingSeconds=0.3)
    return found


@pytest.fixture
def account(lab: ThreadsLab) -> ConnectedAccount:
    return lab.connect()


# ---- connect -----------------------------------------------------------------------------------


def test_connect_default_user(lab: ThreadsLab, account: ConnectedAccount) -> None:
    assert account.platform == "threads"
    assert (account.platform_account_id, account.username) == ("25190000000000001", "sandbox.threads")
    assert account.display_name == "Threads Sandbox"
    assert account.profile_url == "https://www.threads.net/@sandbox.threads"
    assert account.profile_image_url is not None
    picture = httpx.get(account.profile_image_url, timeout=5)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    tokens = account.tokens
    assert tokens.access_token.startswith("THAA") and tokens.refresh_token is None
    assert tokens.access_expires_at is not None and tokens.connection_expires_at == tokens.access_expires_at
    assert timedelta(days=59) < tokens.access_expires_at - datetime.now(UTC) < timedelta(days=61)
    assert tokens.refresh_after == tokens.access_expires_at - timedelta(days=30)


def test_connect_minimal_user_has_no_name_or_picture(lab: ThreadsLab) -> None:
    account = lab.connect("minimal")
    assert account.username == "minimal.threads"
    assert (account.display_name, account.profile_image_url) == (None, None)


def test_unknown_fixture_user_is_an_error_page(lab: ThreadsLab) -> None:
    url = run(lab._authorization_url()) + "&sandbox_user=nobody"
    assert httpx.get(url, timeout=5).status_code == 400


def test_expired_code_is_refused(lab: ThreadsLab) -> None:
    code = lab.authorize()
    lab.control("POST", "expire-codes").raise_for_status()
    with pytest.raises(AuthExpiredError) as caught:
        lab.complete(code)
    assert caught.value.rule == "threads.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response["error_subcode"] == 36007


def test_used_code_and_wrong_redirect_are_refused(lab: ThreadsLab) -> None:
    code = lab.authorize()
    lab.complete(code)
    with pytest.raises(AuthExpiredError) as used:
        lab.complete(code)
    assert used.value.platform_response["error_subcode"] == 36009
    with pytest.raises(AuthExpiredError) as moved:
        lab.complete(lab.authorize(), redirect_uri="https://elsewhere.example/cb")
    assert moved.value.platform_response["error_subcode"] == 36008
    with pytest.raises(AuthExpiredError):
        lab.complete("no-such-code")


def test_wrong_app_secret_is_the_deployments_problem(lab: ThreadsLab) -> None:
    with pytest.raises(AuthExpiredError) as caught:
        lab.complete(lab.authorize(), config=lab.config_with("not-the-secret"))
    assert caught.value.rule == "threads.app.invalid"
    assert "not-the-secret" not in f"{caught.value} {caught.value.platform_response}"


# ---- publishing --------------------------------------------------------------------------------


def test_text_post_and_its_read_back(lab: ThreadsLab, account: ConnectedAccount) -> None:
    result = lab.publish(account.tokens, request("Hello Threads 😀"))
    assert isinstance(result, PublishResult)
    [record] = lab.posts()
    assert record["id"] == result.uri and record["permalink"] == result.url
    assert result.url is not None and result.url.startswith("https://www.threads.net/@sandbox.threads/post/")
    assert record["mediaType"] == "TEXT_POST" and record["text"] == "Hello Threads 😀"
    assert record["userId"] == account.platform_account_id and record["media"] == []
    read = lab.graph("GET", f"/v1.0/{result.uri}", account.tokens.access_token, fields="id,text,media_type,permalink")
    assert read.json() == {
        "id": result.uri,
        "text": "Hello Threads 😀",
        "media_type": "TEXT_POST",
        "permalink": result.url,
    }


def test_single_images_and_video(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.publish(account.tokens, request("jpeg", media=(image(lab.file("square.jpg"), alt="a square"),)))
    lab.publish(account.tokens, request("png", media=(image(lab.file("image.png")),)))
    lab.publish(account.tokens, request("wide", media=(image(lab.file("wide.jpg")),)))  # 4:1 is within 10:1
    lab.publish(account.tokens, request("clip", media=(video(lab.file("clip.mp4")),)))
    jpeg, png, wide, clip = lab.posts()
    assert jpeg["mediaType"] == "IMAGE"
    assert jpeg["media"] == [
        {
            "mediaType": "IMAGE",
            "url": lab.file("square.jpg"),
            "altText": "a square",
            "contentType": "image/jpeg",
            "size": 20_000,
            "width": 1080,
            "height": 1080,
        }
    ]
    assert png["media"][0]["contentType"] == "image/png"
    assert wide["media"][0]["width"] == 2000
    assert clip["mediaType"] == "VIDEO" and clip["media"][0]["contentType"] == "video/mp4"


def test_carousel_mixes_images_and_videos_in_order(lab: ThreadsLab, account: ConnectedAccount) -> None:
    media = (image(lab.file("square.jpg"), alt="one"), video(lab.file("clip.mp4")), image(lab.file("image.png")))
    result = lab.publish(account.tokens, request("album", media=media))
    assert isinstance(result, PublishResult)
    [record] = lab.posts()
    assert record["mediaType"] == "CAROUSEL_ALBUM" and record["text"] == "album"
    assert [(m["mediaType"], m["altText"]) for m in record["media"]] == [
        ("IMAGE", "one"),
        ("VIDEO", None),
        ("IMAGE", None),
    ]
    assert len(record["children"]) == 3


def test_reply_to_own_post_and_its_lookup(lab: ThreadsLab) -> None:
    account = lab.complete(lab.authorize(extended=True))  # listing replies takes threads_read_replies
    root = lab.publish(account.tokens, request("root"))
    assert isinstance(root, PublishResult)
    reply_request = request("a reply", options={"threads": {"replyToId": root.uri}})
    reply = lab.publish(account.tokens, reply_request)
    assert isinstance(reply, PublishResult)
    record = lab.posts()[1]
    assert (record["replyToId"], record["rootPostId"]) == (root.uri, root.uri)
    assert lab.find(account.tokens, reply_request) == reply
    # The account's threads list holds root posts only; replies are under /replies.
    token = account.tokens.access_token
    listed = lab.graph("GET", f"/v1.0/{account.platform_account_id}/threads", token, fields="id").json()["data"]
    assert listed == [{"id": root.uri}]


def test_reply_lookup_without_threads_read_replies_cannot_tell(lab: ThreadsLab, account: ConnectedAccount) -> None:
    root = lab.publish(account.tokens, request("root"))
    assert isinstance(root, PublishResult)
    reply_request = request("a reply", options={"threads": {"replyToId": root.uri}})
    assert isinstance(lab.publish(account.tokens, reply_request), PublishResult)
    with pytest.raises(OutcomeUnknownError) as caught:
        lab.find(account.tokens, reply_request)
    assert caught.value.rule == "threads.lookup.not_permitted"


def test_reply_to_an_unknown_post_is_refused(lab: ThreadsLab, account: ConnectedAccount) -> None:
    exc = lab.publish_error(account.tokens, request(options={"threads": {"replyToId": "180299999999999"}}))
    assert isinstance(exc, ContentRejectedError)
    assert (exc.rule, exc.field) == ("threads.reply_to.not_found", "threads.replyToId")
    assert lab.posts() == []


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("big.jpg", "threads.media.too_large"),
        ("clip.mp4", "threads.media.mime_allowed"),
        (None, "threads.media.unreachable"),
    ],
)
def test_images_the_sandbox_refuses(lab: ThreadsLab, account: ConnectedAccount, name: str | None, rule: str) -> None:
    url = lab.file(name) if name else closed_url()
    exc = lab.publish_error(account.tokens, request(media=(image(url),)))
    assert isinstance(exc, ContentRejectedError) and exc.rule == rule
    assert lab.posts() == []


@pytest.mark.parametrize(
    ("url", "reason"), [(None, "FAILED_DOWNLOADING_VIDEO"), ("square.jpg", "FAILED_PROCESSING_VIDEO")]
)
def test_a_video_that_fails_processing_is_a_container_error(
    lab: ThreadsLab, account: ConnectedAccount, url: str | None, reason: str
) -> None:
    exc = lab.publish_error(account.tokens, request(media=(video(lab.file(url) if url else closed_url()),)))
    assert isinstance(exc, ContentRejectedError)
    assert exc.rule == "threads.container.error"
    assert exc.platform_response == {"status": "ERROR", "error_message": reason}


def test_text_over_500_as_threads_counts_is_refused(lab: ThreadsLab, account: ConnectedAccount) -> None:
    assert isinstance(lab.publish(account.tokens, request("a" * 496 + "😀")), PublishResult)
    exc = lab.publish_error(account.tokens, request("a" * 497 + "😀"))
    assert isinstance(exc, ContentRejectedError) and exc.rule == "threads.rejected"
    assert len(lab.posts()) == 1


def test_processing_past_the_deadline_returns_progress_and_resumes(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.settings(videoProcessingSeconds=0.8)
    req = request("slow video", media=(video(lab.file("clip.mp4")),), deadline=None)
    first = lab.publish(account.tokens, req)
    assert isinstance(first, PublishProgress) and first.state["container"]
    assert lab.posts() == []
    # Nothing published yet: the look-up is conclusive.
    assert lab.find(account.tokens, replace(req, progress=first.state)) is None
    time.sleep(0.9)
    result = lab.publish(account.tokens, replace(req, progress=first.state))
    assert isinstance(result, PublishResult)
    [record] = lab.posts()
    assert record["containerId"] == first.state["container"]
    # A further resume (say the answer was lost) finds the post instead of publishing again.
    assert lab.publish(account.tokens, replace(req, progress=first.state)) == result
    assert len(lab.posts()) == 1


def test_expired_containers_start_over(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.settings(imageProcessingSeconds=5)
    req = request("album", media=(image(lab.file("square.jpg")), image(lab.file("image.png"))), deadline=None)
    first = lab.publish(account.tokens, req)
    assert isinstance(first, PublishProgress) and len(first.state["children"]) == 2
    lab.control("POST", "expire-containers").raise_for_status()
    lab.settings(imageProcessingSeconds=0)
    result = lab.publish(account.tokens, replace(req, progress=first.state, deadline=time.monotonic() + 5))
    assert isinstance(result, PublishResult)
    [record] = lab.posts()
    assert set(record["children"]).isdisjoint(first.state["children"])


def test_daily_publishing_limit(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.settings(postQuota=1)
    lab.publish(account.tokens, request("one"))
    exc = lab.publish_error(account.tokens, request("two"))
    assert isinstance(exc, RateLimitedError)
    assert (exc.rule, exc.retry_after) == ("threads.publishing_limit", 3600)
    quota = lab.graph(
        "GET",
        f"/v1.0/{account.platform_account_id}/threads_publishing_limit",
        account.tokens.access_token,
        fields="quota_usage,config",
    ).json()
    assert quota == {"data": [{"quota_usage": 1, "config": {"quota_total": 1, "quota_duration": 86400}}]}


# ---- refresh -----------------------------------------------------------------------------------


def test_refresh_needs_a_day_old_token_then_renews_it(lab: ThreadsLab, account: ConnectedAccount) -> None:
    with pytest.raises(AuthExpiredError):
        lab.refresh(account.tokens)  # issued seconds ago: Threads refuses
    lab.settings(refreshMinAgeSeconds=0)
    fresh = lab.refresh(account.tokens)
    assert fresh.access_token != account.tokens.access_token
    assert fresh.extra["userId"] == account.platform_account_id
    assert fresh.connection_expires_at is not None and account.tokens.connection_expires_at is not None
    assert fresh.connection_expires_at >= account.tokens.connection_expires_at
    assert isinstance(lab.publish(fresh, request("after refresh")), PublishResult)


def test_revoked_tokens_cannot_refresh_or_publish(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.settings(refreshMinAgeSeconds=0)
    lab.control("POST", "revoke-tokens", {}).raise_for_status()
    with pytest.raises(AuthExpiredError) as refused:
        lab.refresh(account.tokens)
    assert refused.value.platform_response["code"] == 190
    assert isinstance(lab.publish_error(account.tokens, request()), AuthExpiredError)


def test_expired_long_lived_token(lab: ThreadsLab) -> None:
    lab.settings(longLivedTtlSeconds=1)
    account = lab.connect()
    assert account.tokens.refresh_after is None  # too short-lived to renew
    time.sleep(1.1)
    exc = lab.publish_error(account.tokens, request())
    assert isinstance(exc, AuthExpiredError) and exc.platform_response["error_subcode"] == 463


# ---- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("after", [0, 1], ids=["container", "threads_publish"])
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ContentRejectedError),
        (401, AuthExpiredError),
        (429, RateLimitedError),
        (503, PlatformUnavailableError),
    ],
)
def test_fault_statuses(
    lab: ThreadsLab, account: ConnectedAccount, after: int, status: int, kind: type[PlatformError]
) -> None:
    lab.fault(status=status, after=after, retryAfter=120)
    exc = lab.publish_error(account.tokens, request())
    assert type(exc) is kind
    if status == 429:
        assert exc.retry_after == 120  # X-Business-Use-Case-Usage: 2 minutes
    assert lab.posts() == []
    [applied] = lab.control("GET", "fault-log").json()["applied"]
    assert applied["call"] == ("container" if after == 0 else "threads_publish")


def test_500_on_the_container_is_not_sent_but_on_publish_is_unknown(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.fault(status=500)
    assert isinstance(lab.publish_error(account.tokens, request()), PlatformUnavailableError)
    lab.fault(status=500, after=1)
    assert isinstance(lab.publish_error(account.tokens, request()), OutcomeUnknownError)
    assert lab.posts() == []


def test_after_commit_500_is_reconciled(lab: ThreadsLab, account: ConnectedAccount) -> None:
    req = request("committed, then 500")
    lab.fault(status=500, mode="after_commit", after=1)
    exc = lab.publish_error(account.tokens, req)
    assert isinstance(exc, OutcomeUnknownError)
    [record] = lab.posts()
    found = lab.find(account.tokens, req)
    assert found == PublishResult(uri=record["id"], url=record["permalink"])


def test_timeout_on_publish_is_unknown_and_nothing_is_found(lab: ThreadsLab, account: ConnectedAccount) -> None:
    req = request("never answered")
    lab.fault(mode="timeout", holdSeconds=2, after=1)
    exc = lab.publish_error(account.tokens, req, timeout=0.5)
    assert isinstance(exc, OutcomeUnknownError)
    assert lab.posts() == []
    assert lab.find(account.tokens, req) is None


# ---- the raw API -------------------------------------------------------------------------------


def test_graph_errors_for_tokens_and_scopes(lab: ThreadsLab, account: ConnectedAccount) -> None:
    user = account.platform_account_id
    missing = lab.graph("POST", f"/v1.0/{user}/threads", None, media_type="TEXT", text="x")
    assert missing.json()["error"]["code"] == 104
    bogus = lab.graph("POST", f"/v1.0/{user}/threads", "THAAnot-a-token", media_type="TEXT", text="x")
    assert (bogus.status_code, bogus.json()["error"]["code"]) == (400, 190)
    basic_only = lab.complete(lab.authorize(scope="threads_basic"))
    refused = lab.graph("POST", f"/v1.0/{user}/threads", basic_only.tokens.access_token, media_type="TEXT", text="x")
    assert refused.json()["error"]["code"] == 10
    other = lab.graph("GET", "/v1.0/25190000000000002/threads", account.tokens.access_token)
    assert other.json()["error"]["error_subcode"] == 33


def test_lists_paginate_newest_first_without_the_version_segment(lab: ThreadsLab, account: ConnectedAccount) -> None:
    ids = []
    for n in range(3):
        result = lab.publish(account.tokens, request(f"post {n}"))
        assert isinstance(result, PublishResult)
        ids.append(result.uri)
    token = account.tokens.access_token
    first = lab.graph("GET", "/me/threads", token, fields="id,text", limit="2").json()
    assert [p["id"] for p in first["data"]] == [ids[2], ids[1]]
    assert "access_token" not in first["paging"]["next"]
    second = lab.graph("GET", "/me/threads", token, fields="id", limit="2", after=first["paging"]["cursors"]["after"])
    assert [p["id"] for p in second.json()["data"]] == [ids[0]]
    assert "next" not in second.json()["paging"]


def test_container_status_moves_from_in_progress_to_finished(lab: ThreadsLab, account: ConnectedAccount) -> None:
    lab.settings(imageProcessingSeconds=0.3)
    token, user = account.tokens.access_token, account.platform_account_id
    created = lab.graph("POST", f"/v1.0/{user}/threads", token, media_type="IMAGE", image_url=lab.file("square.jpg"))
    container = created.json()["id"]
    status = lab.graph("GET", f"/v1.0/{container}", token, fields="status,error_message").json()
    assert status == {"id": container, "status": "IN_PROGRESS"}
    early = lab.graph("POST", f"/v1.0/{user}/threads_publish", token, creation_id=container)
    assert early.json()["error"]["error_subcode"] == 2207027  # not ready: classified "try later"
    time.sleep(0.35)
    assert lab.graph("GET", f"/v1.0/{container}", token, fields="status").json()["status"] == "FINISHED"
    published = lab.graph("POST", f"/v1.0/{user}/threads_publish", token, creation_id=container)
    assert published.status_code == 200
    assert lab.graph("GET", f"/v1.0/{container}", token, fields="status").json()["status"] == "PUBLISHED"
    again = lab.graph("POST", f"/v1.0/{user}/threads_publish", token, creation_id=container)
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("POST", "/v1.0/me/threads", {"media_type": "BOGUS"}),
        ("POST", "/v1.0/me/threads", {"media_type": "IMAGE", "image_url": "ftp://nowhere/x.jpg"}),
        ("POST", "/v1.0/me/threads", {"media_type": "CAROUSEL", "children": "1,2,3", "text": "x"}),
        ("POST", "/v1.0/me/threads", {"media_type": "TEXT", "text": "x", "is_carousel_item": "true"}),
        ("POST", "/v1.0/me/threads_publish", {}),
        ("POST", "/v1.0/me/threads_publish", {"creation_id": "nope"}),
        ("GET", "/v1.0/me/threads", {"limit": "many", "since": "yesterday"}),
        ("GET", "/v1.0/me/threads", {"after": "-5", "since": "nan"}),
        ("GET", "/v1.0/nothing-here", {}),
        ("GET", "/v9.9/me/unknown/edge", {}),
        ("POST", "/oauth/access_token", {}),
        ("GET", "/access_token", {"grant_type": "th_exchange_token"}),
        ("GET", "/refresh_access_token", {"grant_type": "other"}),
    ],
)
def test_bad_input_gets_a_graph_error_never_a_500(
    lab: ThreadsLab, account: ConnectedAccount, method: str, path: str, params: dict[str, str]
) -> None:
    response = lab.graph(method, path, account.tokens.access_token, **params)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert isinstance(response.json()["error"]["code"], int)
