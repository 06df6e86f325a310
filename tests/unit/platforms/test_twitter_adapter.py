"""TwitterAdapter and TwitterAuth without a network: the requests they build (checked on an
``httpx.MockTransport``), the preflight (weighted text, media quirks), the media upload /
processing / resume flow, duplicates and reconciling, refreshing."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformUnavailableError,
)
from crosspost.platforms.base import (
    AppCredentials,
    MediaItem,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.twitter import CHUNK_BYTES, TwitterAdapter, TwitterAuth, comparable_text
from crosspost.platforms.twitter_api import DUPLICATE_DETAIL
from crosspost.services.preflight import preflight

APP = AppCredentials("client-id-1", "client-secret-xyz")
CONFIG = PlatformConfig(load_app=lambda: APP)
TOKENS = TokenSet("access-token-value", "refresh-token-value", extra={"userId": "42", "username": "alice"})
CREATED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (800).to_bytes(4, "big") + (600).to_bytes(4, "big") + bytes(64)
GIF = b"GIF89a" + (320).to_bytes(2, "little") + (240).to_bytes(2, "little") + bytes(64)
MP4 = (24).to_bytes(4, "big") + b"ftypmp42" + bytes(4) + b"mp42isom" + bytes(1000)
DUPLICATE = {"detail": DUPLICATE_DETAIL, "type": "about:blank", "title": "Forbidden", "status": 403}


class FakeX:
    """Records every request; answers from ``routes`` ("METHOD path" → handler or response)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        key = f"{request.method} {request.url.path}"
        route = self.routes.get(key)
        if route is None:
            return httpx.Response(404, json={"title": "Not Found Error", "detail": key})
        return route(request) if callable(route) else route

    def calls(self, key: str) -> list[httpx.Request]:
        return [r for r in self.requests if f"{r.method} {r.url.path}" == key]


def run(fake: FakeX, work: Callable[[httpx.AsyncClient], Any]) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await work(http)

    return asyncio.run(go())


def publish(fake: FakeX, request: PublishRequest, tokens: TokenSet = TOKENS) -> Any:
    return run(fake, lambda http: TwitterAdapter(http, CONFIG).publish(tokens, request))


def post(text: str = "Hello", **kw: Any) -> PublishRequest:
    kw.setdefault("created_at", CREATED)
    return PublishRequest(post_id="post_1", text=text, **kw)


def created(post_id: str = "1900", text: str = "Hello") -> httpx.Response:
    return httpx.Response(201, json={"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}})


def media(media_id: str, state: str | None = None, check_after: int = 1) -> httpx.Response:
    data: dict[str, Any] = {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86400}
    if state is not None:
        data["processing_info"] = {"state": state, "check_after_secs": check_after}
    return httpx.Response(200, json={"data": data})


def multipart_fields(request: httpx.Request) -> dict[str, bytes]:
    import email

    content_type = request.headers["content-type"]
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content)
    fields = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


# ---- connect -------------------------------------------------------------------------------------


def test_complete_exchanges_the_code_with_the_verifier_and_reads_the_account() -> None:
    fake = FakeX(
        {
            "POST /2/oauth2/token": httpx.Response(
                200,
                json={
                    "token_type": "bearer",
                    "expires_in": 7200,
                    "access_token": "at-new",
                    "scope": "tweet.read tweet.write users.read offline.access media.write",
                    "refresh_token": "rt-new",
                },
            ),
            "GET /2/users/me": httpx.Response(
                200,
                json={
                    "data": {"id": "42", "name": "Alice", "username": "alice", "profile_image_url": "https://pbs/a.jpg"}
                },
            ),
        }
    )
    [account] = run(
        fake,
        lambda http: TwitterAuth(http, CONFIG).complete(
            code="the-code", redirect_uri="https://app/cb", code_verifier="ver"
        ),
    )
    [token_call] = fake.calls("POST /2/oauth2/token")
    assert token_call.headers["authorization"] == "Basic " + base64.b64encode(b"client-id-1:client-secret-xyz").decode()
    form = {k: v[0] for k, v in parse_qs(token_call.content.decode()).items()}
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://app/cb",
        "code_verifier": "ver",
        "client_id": "client-id-1",
    }
    [me] = fake.calls("GET /2/users/me")
    assert me.headers["authorization"] == "Bearer at-new"
    assert me.url.params["user.fields"] == "profile_image_url,verified,verified_type"
    assert (account.platform, account.platform_account_id, account.username) == ("twitter", "42", "alice")
    assert account.display_name == "Alice" and account.profile_image_url == "https://pbs/a.jpg"
    assert account.profile_url == "https://x.com/alice"
    assert account.tokens.extra["userId"] == "42" and account.tokens.extra["username"] == "alice"
    assert account.tokens.refresh_token == "rt-new" and account.tokens.connection_expires_at is None


def test_a_refused_code_is_auth_failed_at_connect() -> None:
    body = {"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid."}
    fake = FakeX({"POST /2/oauth2/token": httpx.Response(400, json=body)})
    with pytest.raises(AuthExpiredError) as caught:
        run(
            fake,
            lambda http: TwitterAuth(http, CONFIG).complete(code="c", redirect_uri="https://a/cb", code_verifier="v"),
        )
    assert caught.value.rule == "twitter.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response == body
    assert "client-secret-xyz" not in str(caught.value) + repr(caught.value)


def test_authorization_url_uses_the_configured_host() -> None:
    config = PlatformConfig(base_url="http://127.0.0.1:9/twitter", load_app=lambda: APP)
    url = TwitterAuth(httpx.AsyncClient(), config).authorization_url(
        state="s", redirect_uri="https://a/cb", code_challenge="c", extended_scopes=False
    )
    assert url.startswith("http://127.0.0.1:9/twitter/i/oauth2/authorize?")


# ---- refresh -------------------------------------------------------------------------------------


def test_refresh_sends_the_refresh_token_and_keeps_the_account() -> None:
    fake = FakeX(
        {
            "POST /2/oauth2/token": httpx.Response(
                200, json={"access_token": "at-2", "expires_in": 7200, "refresh_token": "rt-2"}
            )
        }
    )
    fresh = run(fake, lambda http: TwitterAdapter(http, CONFIG).refresh(TOKENS))
    form = {k: v[0] for k, v in parse_qs(fake.requests[0].content.decode()).items()}
    assert form == {"grant_type": "refresh_token", "refresh_token": "refresh-token-value", "client_id": "client-id-1"}
    assert (fresh.access_token, fresh.refresh_token) == ("at-2", "rt-2")
    assert fresh.extra["userId"] == "42" and fresh.refresh_after is None


def test_refresh_failures_need_a_reconnect() -> None:
    body = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
    fake = FakeX({"POST /2/oauth2/token": httpx.Response(400, json=body)})
    with pytest.raises(AuthExpiredError) as caught:
        run(fake, lambda http: TwitterAdapter(http, CONFIG).refresh(TOKENS))
    assert caught.value.rule == "twitter.auth.refresh_failed" and caught.value.platform_response == body
    assert "refresh-token-value" not in str(caught.value)
    with pytest.raises(AuthExpiredError):
        run(FakeX({}), lambda http: TwitterAdapter(http, CONFIG).refresh(replace(TOKENS, refresh_token=None)))
    fake = FakeX({"POST /2/oauth2/token": httpx.Response(503)})
    with pytest.raises(PlatformUnavailableError):
        run(fake, lambda http: TwitterAdapter(http, CONFIG).refresh(TOKENS))


# ---- publish -------------------------------------------------------------------------------------


def test_a_text_post() -> None:
    fake = FakeX({"POST /2/tweets": created("1900")})
    result = publish(fake, post("Hello from crosspost"))
    assert result == PublishResult(uri="1900", url="https://x.com/alice/status/1900")
    [call] = fake.requests
    assert json.loads(call.content) == {"text": "Hello from crosspost"}
    assert call.headers["authorization"] == "Bearer access-token-value"


def test_images_go_up_in_one_call_each_with_alt_text() -> None:
    ids = iter(["11", "12"])
    fake = FakeX(
        {
            "POST /2/media/upload": lambda r: media(next(ids)),
            "POST /2/media/metadata": httpx.Response(200, json={"data": {"id": "11"}}),
            "POST /2/tweets": created(),
        }
    )
    items = (
        MediaItem(kind="image", content_type="image/png", data=PNG, alt_text="A chart"),
        MediaItem(kind="image", content_type="image/png", data=PNG),
    )
    publish(fake, post(media=items))
    uploads = fake.calls("POST /2/media/upload")
    fields = multipart_fields(uploads[0])
    assert (
        fields["media"] == PNG and fields["media_category"] == b"tweet_image" and fields["media_type"] == b"image/png"
    )
    [alt] = fake.calls("POST /2/media/metadata")
    assert json.loads(alt.content) == {"id": "11", "metadata": {"alt_text": {"text": "A chart"}}}
    assert json.loads(fake.calls("POST /2/tweets")[0].content) == {
        "text": "Hello",
        "media": {"media_ids": ["11", "12"]},
    }


def test_a_video_is_chunked_and_waits_for_processing() -> None:
    statuses = iter([media("77", "in_progress", 0), media("77", "succeeded")])
    fake = FakeX(
        {
            "POST /2/media/upload/initialize": media("77"),
            "POST /2/media/upload/77/append": httpx.Response(200, json={"data": {"expires_at": 1}}),
            "POST /2/media/upload/77/finalize": media("77", "pending", 0),
            "GET /2/media/upload": lambda r: next(statuses),
            "POST /2/tweets": created(),
        }
    )
    data = MP4 + bytes(2 * CHUNK_BYTES)
    item = MediaItem(kind="video", content_type="video/mp4", data=data)
    result = publish(fake, post(media=(item,), deadline=time.monotonic() + 30))
    assert isinstance(result, PublishResult)
    [init] = fake.calls("POST /2/media/upload/initialize")
    assert json.loads(init.content) == {
        "media_type": "video/mp4",
        "total_bytes": len(data),
        "media_category": "tweet_video",
    }
    appends = fake.calls("POST /2/media/upload/77/append")
    assert [multipart_fields(a)["segment_index"] for a in appends] == [b"0", b"1", b"2"]
    assert b"".join(multipart_fields(a)["media"] for a in appends) == data
    assert [r.url.params["command"] for r in fake.calls("GET /2/media/upload")] == ["STATUS", "STATUS"]


def test_processing_past_the_deadline_hands_back_progress_then_resumes() -> None:
    fake = FakeX(
        {
            "POST /2/media/upload/initialize": media("77"),
            "POST /2/media/upload/77/append": httpx.Response(200, json={"data": {}}),
            "POST /2/media/upload/77/finalize": media("77", "pending", 7),
        }
    )
    item = MediaItem(kind="image", content_type="image/gif", data=GIF)
    progress = publish(fake, post(media=(item,), deadline=time.monotonic() + 1))
    assert isinstance(progress, PublishProgress)
    assert progress.state == {"mediaIds": ["77"], "pending": ["77"]} and progress.check_after == 7
    assert json.loads(fake.calls("POST /2/media/upload/initialize")[0].content)["media_category"] == "tweet_gif"
    assert fake.calls("GET /2/media/upload") == []  # nothing to ask before X's check_after
    resumed = FakeX({"GET /2/media/upload": media("77", "succeeded"), "POST /2/tweets": created()})
    result = publish(resumed, post(media=(item,), progress=progress.state))
    assert isinstance(result, PublishResult)
    assert resumed.calls("POST /2/media/upload/initialize") == []  # not uploaded again
    assert json.loads(resumed.calls("POST /2/tweets")[0].content)["media"] == {"media_ids": ["77"]}


def test_a_failed_processing_refuses_the_post() -> None:
    failed = {
        "data": {
            "id": "77",
            "processing_info": {
                "state": "failed",
                "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported"},
            },
        }
    }
    fake = FakeX({"GET /2/media/upload": httpx.Response(200, json=failed)})
    item = MediaItem(kind="video", content_type="video/mp4", data=MP4)
    with pytest.raises(ContentRejectedError) as caught:
        publish(fake, post(media=(item,), progress={"mediaIds": ["77"], "pending": ["77"]}))
    assert caught.value.rule == "twitter.media.processing_failed" and caught.value.field == "media[0]"


def test_progress_that_does_not_fit_the_post_is_ignored() -> None:
    fake = FakeX({"POST /2/media/upload": media("11"), "POST /2/tweets": created()})
    item = MediaItem(kind="image", content_type="image/png", data=PNG)
    for progress in ({"mediaIds": ["1", "2"], "pending": []}, {"mediaIds": ["1"], "pending": ["9"]}, {"other": 1}):
        publish(fake, post(media=(item,), progress=progress))
    assert len(fake.calls("POST /2/media/upload")) == 3


def test_a_duplicate_is_rejected_without_looking_around() -> None:
    # The publishing service asks find_published itself when a later attempt meets a duplicate.
    fake = FakeX({"POST /2/tweets": httpx.Response(403, json=DUPLICATE)})
    with pytest.raises(ContentRejectedError) as caught:
        publish(fake, post("Hello"))
    assert caught.value.rule == "twitter.duplicate" and caught.value.platform_response == DUPLICATE
    assert [r.url.path for r in fake.requests] == ["/2/tweets"]


def test_transport_failures_on_create_and_on_upload() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(OutcomeUnknownError):
        publish(FakeX({"POST /2/tweets": timeout}), post())
    with pytest.raises(PlatformUnavailableError):
        publish(FakeX({"POST /2/tweets": refused}), post())
    item = MediaItem(kind="image", content_type="image/png", data=PNG)
    with pytest.raises(PlatformUnavailableError):  # an upload is no post: safe to retry
        publish(FakeX({"POST /2/media/upload": timeout}), post(media=(item,)))
    with pytest.raises(OutcomeUnknownError):
        publish(FakeX({"POST /2/tweets": httpx.Response(201, text="not json")}), post())


def test_incomplete_stored_tokens_need_a_reconnect() -> None:
    with pytest.raises(AuthExpiredError):
        publish(FakeX({}), post(), tokens=TokenSet("at"))


# ---- find_published ------------------------------------------------------------------------------


def test_find_published_matches_text_and_media_count() -> None:
    listing = {
        "data": [
            {"id": "3", "text": "Hello https://t.co/m", "created_at": "2026-05-01T12:00:05.000Z"},
            {
                "id": "2",
                "text": "Hello https://t.co/m",
                "attachments": {"media_keys": ["3_1"]},
                "created_at": "2026-05-01T12:00:04.000Z",
            },
            {
                "id": "1",
                "text": "Hello",
                "attachments": {"media_keys": ["3_0"]},
                "created_at": "2026-05-01T11:50:00.000Z",
            },
        ],
        "meta": {"result_count": 3},
    }
    fake = FakeX({"GET /2/users/42/tweets": httpx.Response(200, json=listing)})
    item = MediaItem(kind="image", content_type="image/png")
    request = post(media=(item,), created_at=CREATED.replace(microsecond=700_000))
    found = run(fake, lambda http: TwitterAdapter(http, CONFIG).find_published(TOKENS, request))
    assert found == PublishResult(uri="2", url="https://x.com/alice/status/2")
    [lookup] = fake.requests
    assert lookup.url.params["start_time"] == "2026-05-01T11:59:58Z"  # the post's second, less 2 s
    assert lookup.url.params["tweet.fields"] == "created_at,attachments"
    assert lookup.url.params["max_results"] == "100"
    none = run(fake, lambda http: TwitterAdapter(http, CONFIG).find_published(TOKENS, post("Bye")))
    assert none is None
    older_only = replace(request, media=(item,), text="Hello", created_at=CREATED + timedelta(minutes=1))
    assert run(fake, lambda http: TwitterAdapter(http, CONFIG).find_published(TOKENS, older_only)) is None


# ---- preflight -----------------------------------------------------------------------------------


def rules(request: PublishRequest) -> set[str]:
    return {d.rule for d in preflight(TwitterAdapter, request, set())}


def test_text_is_weighed_as_x_does() -> None:
    assert rules(post("a" * 280)) == set()
    assert rules(post("a" * 281)) == {"twitter.text.max_graphemes"}
    assert rules(post("故" * 140)) == set()
    assert rules(post("故" * 141)) == {"twitter.text.max_graphemes"}
    assert rules(post("a" * 256 + " https://example.com/" + "x" * 400)) == set()  # the URL weighs 23
    assert rules(post("😷" * 140)) == set()
    assert TwitterAdapter.text_length("Hi http://test.co") == 26
    assert rules(post("bad \ufffe")) == {"twitter.text.invalid_characters"}


def test_media_rules() -> None:
    png = MediaItem(kind="image", content_type="image/png", data=PNG)
    gif = MediaItem(kind="image", content_type="image/gif", data=GIF)
    mp4 = MediaItem(kind="video", content_type="video/mp4", data=MP4)
    assert rules(post(media=(png,) * 4)) == set()
    assert rules(post(media=(png,) * 5)) == {"twitter.media.count_max"}
    assert rules(post(media=(png, mp4))) == {"twitter.media.image_video_exclusive"}
    assert rules(post(media=(gif,))) == set()
    assert rules(post(media=(gif, png))) == {"twitter.media.image_video_exclusive"}
    assert rules(post(media=(mp4, mp4))) == {"twitter.media.count_max"}
    big_png = replace(png, size=6 * 1024 * 1024, data=None)
    assert rules(post(media=(big_png,))) == {"twitter.media.too_large"}
    assert rules(post(media=(replace(gif, size=10 * 1024 * 1024, data=None),))) == set()  # GIFs: 15 MiB
    assert rules(post(media=(replace(gif, size=16 * 1024 * 1024, data=None),))) == {"twitter.media.too_large"}
    assert rules(post(media=(replace(mp4, size=600 * 1024 * 1024, data=None),))) == {"twitter.media.too_large"}
    assert rules(post(media=(MediaItem(kind="image", content_type="image/bmp"),))) == {"twitter.media.mime_allowed"}
    assert rules(post(media=(MediaItem(kind="video", content_type="video/webm"),))) == {"twitter.media.mime_allowed"}
    assert rules(post(media=(replace(png, alt_text="a" * 1001),))) == {"twitter.media.alt_text_max_graphemes"}
    assert rules(post(media=(replace(png, alt_text="a" * 1000),))) == set()


def test_comparable_text() -> None:
    assert comparable_text("Tom &amp; Jerry https://t.co/abc https://t.co/media") == "Tom & Jerry"
    assert comparable_text("Tom & Jerry  https://example.com/x\n") == "Tom & Jerry"
    assert comparable_text("  line one\n\nline two ") == "line one line two"
    assert comparable_text("&lt;3") == "<3"


def test_capabilities() -> None:
    caps = TwitterAdapter.capabilities
    assert caps.platform == "twitter" and caps.text_max_graphemes == 280
    assert (caps.max_images, caps.max_videos, caps.alt_text_max_graphemes) == (4, 1, 1000)
    assert caps.media_transfer == "bytes" and caps.lookup and not caps.idempotent_create
    assert caps.renews_indefinitely
