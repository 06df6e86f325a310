"""The Pinterest adapter and auth against the sandbox over HTTP (connect, publish each media shape,
refresh, every fault mode, read-back), and the sandbox's own Pinterest behaviour checked with raw
calls (statuses and bodies of PLATFORMS.md §6)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

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
from crosspost.platforms.pinterest import PinterestAdapter, PinterestAuth
from local.sandbox import SandboxServer
from local.sandbox import pinterest as sandbox_pinterest
from local.sandbox.files import files
from local.sandbox.oauth import SANDBOX_APPS

T = TypeVar("T")
APP = SANDBOX_APPS["pinterest"]
REDIRECT = "https://app.example/crosspost/callback"
DEFAULT_BOARD = sandbox_pinterest.DEFAULT_BOARD
SECOND_BOARD = sandbox_pinterest.PINNERS["default"].boards[1]


@dataclass
class Pinterest:
    """Drives the sandbox: control endpoints, raw API calls, and the real adapter over HTTP."""

    server: SandboxServer

    @property
    def base(self) -> str:
        return f"{self.server.url}/pinterest"

    def config(self, secret: str | None = None) -> PlatformConfig:
        app = AppCredentials(APP["clientId"], secret or APP["clientSecret"])
        return PlatformConfig(base_url=self.base, load_app=lambda: app)

    def file(self, name: str) -> str:
        return f"{self.server.url}/_sandbox/files/{name}"

    # ---- control ---------------------------------------------------------------------------

    def control(self, method: str, action: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.server.url}/_sandbox/pinterest/{action}", json=body, timeout=5)

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", spec).raise_for_status()

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts").json()["posts"])

    # ---- the adapter -----------------------------------------------------------------------

    def run(self, work: Callable[[httpx.AsyncClient], Awaitable[T]], *, timeout: float = 5.0) -> T:
        async def go() -> T:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await work(http)

        return asyncio.run(go())

    def code(self, user: str | None = None, *, extended: bool = False) -> str:
        auth = PinterestAuth(httpx.AsyncClient(), self.config())
        url = auth.authorization_url(
            state="st4te", redirect_uri=REDIRECT, code_challenge=None, extended_scopes=extended
        )
        if user:
            url += f"&sandbox_user={user}"
        consent = httpx.get(url, timeout=5)
        assert consent.status_code == 302, consent.text
        query = parse_qs(urlsplit(consent.headers["Location"]).query)
        assert query["state"] == ["st4te"]
        return query["code"][0]

    def complete(self, code: str, *, secret: str | None = None, redirect: str = REDIRECT) -> list[ConnectedAccount]:
        return self.run(
            lambda http: PinterestAuth(http, self.config(secret)).complete(
                code=code, redirect_uri=redirect, code_verifier=None
            )
        )

    def connect(self, user: str | None = None) -> ConnectedAccount:
        [account] = self.complete(self.code(user))
        return account

    def adapter_call(self, call: Callable[[PinterestAdapter], Awaitable[T]], *, timeout: float = 5.0) -> T:
        return self.run(lambda http: call(PinterestAdapter(http, self.config())), timeout=timeout)

    def publish(self, tokens: TokenSet, request: PublishRequest, *, timeout: float = 5.0) -> Any:
        return self.adapter_call(lambda a: a.publish(tokens, request), timeout=timeout)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        return self.adapter_call(lambda a: a.refresh(tokens))

    def find(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        return self.adapter_call(lambda a: a.find_published(tokens, request))

    # ---- raw -------------------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=5, **kwargs)

    def token_call(self, form: dict[str, str], *, secret: str | None = None) -> httpx.Response:
        basic = base64.b64encode(f"{APP['clientId']}:{secret or APP['clientSecret']}".encode()).decode()
        return self.api("POST", "/v5/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"})


@pytest.fixture
def pinterest(sandbox_server: SandboxServer) -> Pinterest:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return Pinterest(sandbox_server)


def image_pin(p: Pinterest, account: ConnectedAccount, text: str = "Hello from crosspost", **kw: Any) -> PublishRequest:
    kw.setdefault("media", (MediaItem(kind="image", url=p.file("square.jpg"), content_type="image/jpeg"),))
    return PublishRequest(
        post_id=kw.pop("post_id", "post_1"),
        text=text,
        created_at=datetime.now(UTC),
        account_block=dict(account.platform_block or {}),
        **kw,
    )


def video_pin(p: Pinterest, account: ConnectedAccount, **kw: Any) -> PublishRequest:
    data = files()["clip.mp4"][1]  # video_transfer="bytes": the publishing service hands over the bytes
    media = (MediaItem(kind="video", data=data, content_type="video/mp4", size=len(data)),)
    return image_pin(p, account, "A video pin", media=media, **kw)


# ---- connect -----------------------------------------------------------------------------------


def test_connect_the_default_pinner_with_its_first_board(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    seed = sandbox_pinterest.PINNERS["default"]
    assert (account.platform, account.platform_account_id, account.username) == ("pinterest", seed.id, seed.username)
    assert account.display_name == "Sandbox Studio"
    assert account.profile_image_url == seed.profile_image
    assert account.profile_url == f"https://www.pinterest.com/{seed.username}/"
    assert account.platform_block == {"defaultBoardId": DEFAULT_BOARD.id, "defaultBoardName": DEFAULT_BOARD.name}
    tokens = account.tokens
    assert tokens.access_token.startswith("pina_") and tokens.refresh_token
    assert tokens.access_expires_at and tokens.connection_expires_at and tokens.refresh_after
    now = datetime.now(UTC)
    assert 29.9 < (tokens.access_expires_at - now).total_seconds() / 86400 <= 30
    assert 59.9 < (tokens.connection_expires_at - now).total_seconds() / 86400 <= 60
    assert now < tokens.refresh_after < tokens.access_expires_at
    assert tokens.extra["scope"] == "boards:read,boards:write,pins:read,pins:write,user_accounts:read"


def test_fixture_users_no_boards_and_many_boards(pinterest: Pinterest) -> None:
    empty = pinterest.connect("no_boards")
    assert empty.username == "sandbox_empty" and empty.display_name == "sandbox_empty"
    assert empty.platform_block == {"defaultBoardId": None, "defaultBoardName": None}
    many = pinterest.connect("many_boards")
    first = sandbox_pinterest.PINNERS["many_boards"].boards[0]
    assert many.platform_block == {"defaultBoardId": first.id, "defaultBoardName": first.name}
    # The account without boards connects, and its posts need a board: pinterest.board.required.
    problems = PinterestAdapter.preflight(image_pin(pinterest, empty))
    assert [d.rule for d in problems] == ["pinterest.board.required"]
    with pytest.raises(ContentRejectedError) as caught:
        pinterest.publish(empty.tokens, image_pin(pinterest, empty))
    assert caught.value.rule == "pinterest.board.required"


def test_boards_are_paginated_with_bookmarks(pinterest: Pinterest) -> None:
    token = pinterest.connect("many_boards").tokens.access_token
    seen: list[str] = []
    bookmark = None
    pages = 0
    while True:
        params = {"page_size": "25", **({"bookmark": bookmark} if bookmark else {})}
        page = pinterest.api("GET", "/v5/boards", token, params=params).json()
        seen += [b["id"] for b in page["items"]]
        pages += 1
        bookmark = page["bookmark"]
        if not bookmark:
            break
    assert pages == 3 and len(seen) == 60 == len(set(seen))
    assert pinterest.api("GET", "/v5/boards", token, params={"page_size": "251"}).status_code == 400
    assert pinterest.api("GET", "/v5/boards", token, params={"bookmark": "!!"}).status_code == 400


def test_an_unknown_fixture_user_and_bad_authorize_requests_are_error_pages(pinterest: Pinterest) -> None:
    auth = PinterestAuth(httpx.AsyncClient(), pinterest.config())
    url = auth.authorization_url(state="s", redirect_uri=REDIRECT, code_challenge=None, extended_scopes=True)
    assert httpx.get(url, timeout=5).status_code == 302  # the secret-board scopes are known scopes
    assert httpx.get(url + "&sandbox_user=nobody", timeout=5).status_code == 400
    assert httpx.get(url.replace("response_type=code", "response_type=token"), timeout=5).status_code == 400
    assert httpx.get(url.replace("boards%3Aread%2C", "boards%3Aeverything%2C", 1), timeout=5).status_code == 400
    assert httpx.get(url.replace(APP["clientId"], "someone-else"), timeout=5).status_code == 400


def test_expired_reused_and_foreign_codes_are_refused(pinterest: Pinterest) -> None:
    code = pinterest.code()
    pinterest.control("POST", "expire-codes").raise_for_status()
    with pytest.raises(AuthExpiredError) as caught:
        pinterest.complete(code)
    assert caught.value.rule == "pinterest.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response == {"code": 283, "message": "The authorization grant is invalid"}
    code = pinterest.code()
    pinterest.complete(code)
    with pytest.raises(AuthExpiredError):  # a code works once
        pinterest.complete(code)
    with pytest.raises(AuthExpiredError):  # another redirect_uri than at authorize
        pinterest.complete(pinterest.code(), redirect="https://evil.example/cb")
    with pytest.raises(AuthExpiredError):
        pinterest.complete("made-up-code")


def test_the_token_endpoint_requires_basic_client_auth_and_a_form(pinterest: Pinterest) -> None:
    with pytest.raises(AuthExpiredError) as caught:
        pinterest.complete(pinterest.code(), secret="wrong-secret")
    assert caught.value.platform_response == {"code": 2, "message": "Authentication failed."}
    assert "wrong-secret" not in str(caught.value)
    code = pinterest.code()
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    no_basic = pinterest.api("POST", "/v5/oauth/token", data={**body, "client_id": APP["clientId"]})
    assert no_basic.status_code == 401
    basic = base64.b64encode(f"{APP['clientId']}:{APP['clientSecret']}".encode()).decode()
    as_json = pinterest.api("POST", "/v5/oauth/token", json=body, headers={"Authorization": f"Basic {basic}"})
    assert as_json.status_code == 400 and as_json.json()["code"] == 1
    answer = pinterest.token_call({**body, "continuous_refresh": "true"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["token_type"] == "bearer" and data["response_type"] == "authorization_code"
    assert data["expires_in"] == 30 * 86400 and data["refresh_token_expires_in"] == 60 * 86400
    assert abs(data["refresh_token_expires_at"] - (time.time() + 60 * 86400)) < 5
    assert pinterest.token_call({"grant_type": "password"}).json()["code"] == 1


# ---- refresh -----------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_dies(pinterest: Pinterest) -> None:
    tokens = pinterest.connect().tokens
    fresh = pinterest.refresh(tokens)
    assert fresh.access_token != tokens.access_token and fresh.refresh_token != tokens.refresh_token
    assert fresh.connection_expires_at and tokens.connection_expires_at
    assert fresh.connection_expires_at >= tokens.connection_expires_at  # continuous: 60 days from now
    assert pinterest.api("GET", "/v5/user_account", fresh.access_token).status_code == 200
    with pytest.raises(AuthExpiredError) as caught:
        pinterest.refresh(tokens)  # the rotated-out refresh token
    assert caught.value.rule == "pinterest.auth.expired"
    assert pinterest.refresh(fresh).access_token


def test_a_revoked_grant_cannot_refresh_or_publish(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    pinterest.control("POST", "revoke-tokens", {"user": "default"}).raise_for_status()
    with pytest.raises(AuthExpiredError):
        pinterest.refresh(account.tokens)
    with pytest.raises(AuthExpiredError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account))
    assert caught.value.platform_response == {"code": 2, "message": "Authentication failed."}


def test_an_expired_access_token_is_refused_until_refreshed(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    pinterest.control("POST", "settings", {"accessTtlSeconds": 0}).raise_for_status()
    expired = pinterest.refresh(account.tokens)  # minted already expired
    with pytest.raises(AuthExpiredError):
        pinterest.publish(expired, image_pin(pinterest, account))
    pinterest.control("POST", "settings", {"accessTtlSeconds": 3600}).raise_for_status()
    fresh = pinterest.refresh(expired)
    assert isinstance(pinterest.publish(fresh, image_pin(pinterest, account)), PublishResult)


# ---- publish -----------------------------------------------------------------------------------


def test_an_image_pin_with_title_link_and_alt_text_is_read_back(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    media = (MediaItem(kind="image", url=pinterest.file("portrait.jpg"), alt_text="A tall picture"),)
    options = {"pinterest": {"title": "Tall", "destinationUrl": "https://example.com/tall"}}
    result = pinterest.publish(account.tokens, image_pin(pinterest, account, "Look up", media=media, options=options))
    assert result.url == f"https://www.pinterest.com/pin/{result.uri}/" and result.uri.isdigit()
    [record] = pinterest.posts()
    assert record["id"] == result.uri and record["url"] == result.url
    assert (record["boardId"], record["boardName"]) == (DEFAULT_BOARD.id, DEFAULT_BOARD.name)
    assert (record["title"], record["description"], record["link"]) == ("Tall", "Look up", "https://example.com/tall")
    assert record["altText"] == "A tall picture" and record["username"] == "sandbox_pinner"
    assert record["media"] == {
        "sourceType": "image_url",
        "url": pinterest.file("portrait.jpg"),
        "mediaType": "image",
        "contentType": "image/jpeg",
        "width": 1080,
        "height": 1350,
        "size": len(files()["portrait.jpg"][1]),
    }
    shown = pinterest.api("GET", f"/v5/pins/{result.uri}", account.tokens.access_token).json()
    assert shown["board_owner"] == {"username": "sandbox_pinner"} and shown["media"]["media_type"] == "image"


def test_the_posts_board_option_wins_over_the_default(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    options = {"pinterest": {"boardId": SECOND_BOARD.id}}
    pinterest.publish(account.tokens, image_pin(pinterest, account, options=options))
    assert pinterest.posts()[0]["boardId"] == SECOND_BOARD.id


def test_image_bytes_are_sent_as_base64(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    content_type, data = files()["image.png"]
    media = (MediaItem(kind="image", data=data, content_type=content_type),)
    pinterest.publish(account.tokens, image_pin(pinterest, account, media=media))
    assert pinterest.posts()[0]["media"] == {
        "sourceType": "image_base64",
        "mediaType": "image",
        "contentType": "image/png",
        "width": 800,
        "height": 600,
        "size": len(data),
    }


def test_another_users_board_is_not_found(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    foreign = sandbox_pinterest.PINNERS["many_boards"].boards[0].id
    with pytest.raises(ContentRejectedError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account, options={"pinterest": {"boardId": foreign}}))
    assert caught.value.rule == "pinterest.board.not_found"
    assert caught.value.platform_response == {"code": 40, "message": "Board not found."}
    assert pinterest.posts() == []


def test_an_unreachable_image_is_refused_with_pinterests_400(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    media = (MediaItem(kind="image", url=pinterest.file("missing.jpg")),)
    with pytest.raises(ContentRejectedError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account, media=media))
    assert caught.value.platform_response == {"code": 1, "message": "Unable to reach the URL"}
    assert caught.value.rule == "pinterest.pin.invalid"


def test_something_that_is_not_an_image_is_the_specs_403(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    media = (MediaItem(kind="image", url=pinterest.file("clip.mp4")),)
    with pytest.raises(ContentRejectedError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account, media=media))
    assert caught.value.rule == "pinterest.media.invalid"
    assert pinterest.posts() == []


def test_a_video_pin_uploads_polls_and_pins(pinterest: Pinterest) -> None:
    pinterest.control("POST", "settings", {"videoProcessingSeconds": 0.5}).raise_for_status()
    account = pinterest.connect()
    request = replace(video_pin(pinterest, account), deadline=time.monotonic() + 10)
    result = pinterest.publish(account.tokens, request, timeout=10)
    assert isinstance(result, PublishResult)
    [record] = pinterest.posts()
    assert record["media"]["sourceType"] == "video_id" and record["media"]["size"] == len(files()["clip.mp4"][1])
    assert record["media"]["coverImageKeyFrameTime"] == 1000
    status = pinterest.api("GET", f"/v5/media/{record['media']['mediaId']}", account.tokens.access_token).json()
    assert status["status"] == "succeeded"


def test_a_slow_video_returns_progress_and_resumes_without_a_second_upload(pinterest: Pinterest) -> None:
    pinterest.control("POST", "settings", {"videoProcessingSeconds": 60}).raise_for_status()
    account = pinterest.connect()
    request = replace(video_pin(pinterest, account), deadline=time.monotonic() + 0.5)
    progress = pinterest.publish(account.tokens, request)
    assert isinstance(progress, PublishProgress) and set(progress.state) == {"mediaId"}
    assert pinterest.posts() == []
    pinterest.control("POST", "settings", {"videoProcessingSeconds": 0}).raise_for_status()
    resumed = replace(request, progress=progress.state, deadline=None)
    pinterest.fault(status=503)  # the next publishing call: a new upload would take it
    with pytest.raises(PlatformUnavailableError):
        pinterest.publish(account.tokens, resumed)
    applied = pinterest.control("GET", "fault-log").json()["applied"]
    assert [entry["path"] for entry in applied] == ["/v5/pins"]  # straight to the pin: no second upload
    result = pinterest.publish(account.tokens, resumed)
    assert isinstance(result, PublishResult)
    [record] = pinterest.posts()
    assert record["id"] == result.uri and record["media"]["mediaId"] == progress.state["mediaId"]


def test_a_file_that_is_not_a_video_fails_processing(pinterest: Pinterest) -> None:
    pinterest.control("POST", "settings", {"videoProcessingSeconds": 0}).raise_for_status()
    account = pinterest.connect()
    media = (MediaItem(kind="video", data=files()["square.jpg"][1], content_type="video/mp4"),)
    with pytest.raises(ContentRejectedError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account, media=media, deadline=time.monotonic() + 5))
    assert caught.value.rule == "pinterest.media.processing_failed"


def test_video_pins_need_a_processed_media_and_a_cover(pinterest: Pinterest) -> None:
    pinterest.control("POST", "settings", {"videoProcessingSeconds": 0}).raise_for_status()
    token = pinterest.connect().tokens.access_token
    registered = pinterest.api("POST", "/v5/media", token, json={"media_type": "video"}).json()
    assert registered["upload_url"] == f"{pinterest.base}/media-upload/"
    media_id = registered["media_id"]
    pin: dict[str, Any] = {
        "board_id": DEFAULT_BOARD.id,
        "media_source": {"source_type": "video_id", "media_id": media_id},
    }
    not_ready = pinterest.api("POST", "/v5/pins", token, json=pin)
    assert not_ready.status_code == 400 and "registered" in not_ready.json()["message"]
    fields = {k: str(v) for k, v in registered["upload_parameters"].items()}
    tampered = pinterest.api(
        "POST", "/media-upload/", data={**fields, "key": "uploads/other.mp4"}, files={"file": ("v", b"x")}
    )
    assert tampered.status_code == 403 and b"<Code>AccessDenied</Code>" in tampered.content
    no_file = pinterest.api("POST", "/media-upload/", data=fields)
    assert no_file.status_code in (400, 403)
    uploaded = pinterest.api("POST", "/media-upload/", data=fields, files={"file": ("v", files()["clip.mp4"][1])})
    assert uploaded.status_code == 204
    no_cover = pinterest.api("POST", "/v5/pins", token, json=pin)
    assert no_cover.status_code == 400 and no_cover.json()["message"].startswith("cover_image_url")
    pin["media_source"]["cover_image_key_frame_time"] = 1000
    assert pinterest.api("POST", "/v5/pins", token, json=pin).status_code == 201


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"media_source": {"source_type": "image_url", "url": "x"}}, "'board_id' is a required property"),
        ({"board_id": "abc"}, "does not match"),
        ({"board_id": DEFAULT_BOARD.id, "title": "t" * 101}, "is too long - 'title'"),
        ({"board_id": DEFAULT_BOARD.id, "description": "d" * 801}, "is too long - 'description'"),
        ({"board_id": DEFAULT_BOARD.id, "alt_text": "a" * 501}, "is too long - 'alt_text'"),
        ({"board_id": DEFAULT_BOARD.id, "link": "javascript:alert(1)"}, "Invalid link"),
        ({"board_id": DEFAULT_BOARD.id}, "'media_source' is a required property"),
        ({"board_id": DEFAULT_BOARD.id, "media_source": {"source_type": "pin_url"}}, "does not simulate"),
    ],
)
def test_pin_validation_answers_400(pinterest: Pinterest, body: dict[str, Any], needle: str) -> None:
    token = pinterest.connect().tokens.access_token
    answer = pinterest.api("POST", "/v5/pins", token, json=body)
    assert answer.status_code == 400 and answer.json()["code"] == 1
    assert needle in answer.json()["message"]
    assert pinterest.posts() == []


def test_api_calls_need_a_valid_bearer_token_with_the_scopes(pinterest: Pinterest) -> None:
    assert pinterest.api("GET", "/v5/user_account").json() == {"code": 2, "message": "Authentication failed."}
    assert pinterest.api("GET", "/v5/user_account", "pina_forged").status_code == 401
    # A token granted without pins:write cannot create pins.
    code_url = PinterestAuth(httpx.AsyncClient(), pinterest.config()).authorization_url(
        state="s", redirect_uri=REDIRECT, code_challenge=None, extended_scopes=False
    )
    narrow = code_url.replace("pins%3Awrite%2C", "")
    code = parse_qs(urlsplit(httpx.get(narrow, timeout=5).headers["Location"]).query)["code"][0]
    [account] = pinterest.complete(code)
    refused = pinterest.api("POST", "/v5/pins", account.tokens.access_token, json={"board_id": DEFAULT_BOARD.id})
    assert refused.status_code == 401 and refused.json()["code"] == 29
    assert pinterest.api("GET", "/v5/nothing", account.tokens.access_token).status_code == 404


# ---- faults and reconciling --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "body"),
    [
        (400, ContentRejectedError, {"code": 1, "message": "Invalid Pin parameters (sandbox fault 400)"}),
        (401, AuthExpiredError, {"code": 2, "message": "Authentication failed."}),
        (503, PlatformUnavailableError, {"code": 0, "message": "Service Unavailable"}),
        (500, OutcomeUnknownError, {"code": 0, "message": "Internal Server Error"}),
    ],
)
def test_fault_bodies_on_pin_creation(pinterest: Pinterest, status: int, kind: type[Exception], body: Any) -> None:
    account = pinterest.connect()
    pinterest.fault(status=status)
    with pytest.raises(kind) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account))
    assert caught.value.platform_response == body  # type: ignore[attr-defined]
    assert pinterest.posts() == []


def test_a_429_carries_retry_after(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    pinterest.fault(status=429, retryAfter=12)
    with pytest.raises(RateLimitedError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account))
    assert caught.value.retry_after == 12 and caught.value.platform_response["code"] == 8
    pinterest.fault(status=429)
    with pytest.raises(RateLimitedError) as caught:
        pinterest.publish(account.tokens, image_pin(pinterest, account))
    assert caught.value.retry_after == 60  # no header: the adapter's default wait


def test_after_commit_is_outcome_unknown_and_find_published_finds_the_pin(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    request = image_pin(
        pinterest, account, "Did it go out?", options={"pinterest": {"destinationUrl": "https://x.io/"}}
    )
    other = image_pin(pinterest, account, "Something else")
    pinterest.publish(account.tokens, other)
    pinterest.fault(status=500, mode="after_commit")
    with pytest.raises(OutcomeUnknownError):
        pinterest.publish(account.tokens, request)
    stored = [r for r in pinterest.posts() if r["description"] == "Did it go out?"]
    found = pinterest.find(account.tokens, request)
    assert found is not None and [found.uri] == [r["id"] for r in stored]
    assert pinterest.find(account.tokens, image_pin(pinterest, account, "Never sent")) is None


def test_a_timeout_on_pin_creation_is_outcome_unknown(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    pinterest.fault(mode="timeout", holdSeconds=2)
    with pytest.raises(OutcomeUnknownError):
        pinterest.publish(account.tokens, image_pin(pinterest, account), timeout=1)
    assert pinterest.posts() == []


@pytest.mark.parametrize(("status", "kind"), [(503, PlatformUnavailableError), (400, ContentRejectedError)])
def test_faults_on_the_video_upload(pinterest: Pinterest, status: int, kind: type[Exception]) -> None:
    pinterest.control("POST", "settings", {"videoProcessingSeconds": 0}).raise_for_status()
    account = pinterest.connect()
    pinterest.fault(status=status, after=1)  # let POST /v5/media through, fault the S3 upload
    with pytest.raises(kind):
        pinterest.publish(account.tokens, video_pin(pinterest, account))
    assert [e["path"] for e in pinterest.control("GET", "fault-log").json()["applied"]] == ["/media-upload/"]
    assert pinterest.posts() == []


def test_a_fault_on_media_registration_is_retryable(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    pinterest.fault(status=500)
    with pytest.raises(PlatformUnavailableError):  # registering media creates nothing visible
        pinterest.publish(account.tokens, video_pin(pinterest, account))


def test_reset_forgets_pins_media_and_tokens(pinterest: Pinterest) -> None:
    account = pinterest.connect()
    pinterest.publish(account.tokens, image_pin(pinterest, account))
    assert len(pinterest.posts()) == 1
    httpx.post(f"{pinterest.server.url}/_sandbox/reset", timeout=5).raise_for_status()
    assert pinterest.posts() == []
    assert pinterest.api("GET", "/v5/user_account", account.tokens.access_token).status_code == 401
