"""LinkedInAuth and LinkedInAdapter against a scripted LinkedIn (``httpx.MockTransport``): the
requests they build (URLs, headers, forms, bodies), what they make of the answers, video
progress and resume, and that ``find_published`` never re-sends."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from crosspost.platforms.linkedin import LinkedInAdapter, LinkedInAuth
from crosspost.platforms.linkedin_api import LINKEDIN_VERSION
from local.sandbox.files import jpeg, mp4, png

CONFIG = PlatformConfig(load_app=lambda: AppCredentials("client-1", "client-secret-1"))
AUTHOR = "urn:li:person:abc123"
TOKENS = TokenSet(access_token="AQtoken-1", extra={"author": AUTHOR})
NOW_URN = f"urn:li:share:{int(time.time() * 1000) << 22}"
OLD_URN = "urn:li:share:7141138937766391808"  # December 2023
BAD_REQUEST = "com.linkedin.content.common.exception.BadRequestResponseException"


def duplicate(urn: str) -> httpx.Response:
    return httpx.Response(
        422,
        json={
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": f"{BAD_REQUEST}: Content is a duplicate of {urn}",
            "errorDetails": {
                "inputErrors": [{"description": "Duplicate post is detected", "input": {}, "code": "DUPLICATE_POST"}]
            },
            "status": 422,
        },
    )


class FakeLinkedIn:
    """Answers like LinkedIn; ``routes`` override per test. Every request is kept."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.video_status: list[str] = ["AVAILABLE"]
        self.post_answers: list[httpx.Response] = []
        self.routes: dict[str, Callable[[httpx.Request], httpx.Response]] = {}

    def paths(self) -> list[str]:
        return [
            f"{r.method} {r.url.path}" + (f"?{r.url.params['action']}" if "action" in r.url.params else "")
            for r in self.calls
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        key = f"{request.method} {request.url.path}"
        if key in self.routes:
            return self.routes[key](request)
        action = request.url.params.get("action")
        if key == "POST /rest/posts":
            if self.post_answers:
                return self.post_answers.pop(0)
            return httpx.Response(201, headers={"x-restli-id": NOW_URN})
        if key == "POST /rest/images" and action == "initializeUpload":
            n = sum(1 for c in self.calls if c.url.path == "/rest/images")
            return httpx.Response(
                200,
                json={
                    "value": {
                        "uploadUrl": f"https://www.linkedin.com/dms-uploads/img{n}?m=x",
                        "image": f"urn:li:image:I{n}",
                    }
                },
            )
        if key == "POST /rest/videos" and action == "initializeUpload":
            size = json.loads(request.content)["initializeUploadRequest"]["fileSizeBytes"]
            half = size // 2
            return httpx.Response(
                200,
                json={
                    "value": {
                        "video": "urn:li:video:V1",
                        "uploadToken": "",
                        "uploadInstructions": [
                            {
                                "uploadUrl": "https://www.linkedin.com/dms-uploads/v/0",
                                "firstByte": 0,
                                "lastByte": half - 1,
                            },
                            {
                                "uploadUrl": "https://www.linkedin.com/dms-uploads/v/1",
                                "firstByte": half,
                                "lastByte": size - 1,
                            },
                        ],
                    }
                },
            )
        if key == "POST /rest/videos" and action == "finalizeUpload":
            return httpx.Response(200)
        if key.startswith("PUT /dms-uploads/"):
            return httpx.Response(201 if "img" in key else 200, headers={"ETag": f"etag-{request.url.path[-1]}"})
        if key == "GET /rest/videos/urn:li:video:V1":
            status = self.video_status.pop(0) if len(self.video_status) > 1 else self.video_status[0]
            body: dict[str, Any] = {"id": "urn:li:video:V1", "status": status}
            if status == "PROCESSING_FAILED":
                body["processingFailureReason"] = "VIDEO_FORMAT_UNSUPPORTED"
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"status": 404, "message": "No virtual resource found"})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def adapter(fake: FakeLinkedIn) -> LinkedInAdapter:
    return LinkedInAdapter(httpx.AsyncClient(transport=httpx.MockTransport(fake)), CONFIG)


def request(text: str = "Hello (world) #crosspost", **kw: Any) -> PublishRequest:
    kw.setdefault("created_at", datetime.now(UTC) - timedelta(seconds=5))
    return PublishRequest(post_id="post_1", text=text, **kw)


def body_of(call: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(call.content)
    return data


def post_calls(fake: FakeLinkedIn) -> list[httpx.Request]:
    return [c for c in fake.calls if c.url.path == "/rest/posts"]


# ---- auth ----------------------------------------------------------------------------------------


def test_authorization_url_is_linkedins_consent_page() -> None:
    auth = LinkedInAuth(httpx.AsyncClient(), CONFIG)
    url = auth.authorization_url(
        state="st", redirect_uri="https://app.test/cb", code_challenge=None, extended_scopes=True
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/oauth/v2/authorization")
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["client-1"],
        "redirect_uri": ["https://app.test/cb"],
        "state": ["st"],
        "scope": ["openid profile email w_member_social"],
    }
    assert auth.uses_pkce is False


def token_answer(**extra: Any) -> dict[str, Any]:
    return {"access_token": "AQnew", "expires_in": 5_184_000, "scope": "email,openid,profile,w_member_social", **extra}


def auth_with(
    token: httpx.Response, userinfo: httpx.Response | None = None
) -> tuple[LinkedInAuth, list[httpx.Request]]:
    calls: list[httpx.Request] = []

    def answer(r: httpx.Request) -> httpx.Response:
        calls.append(r)
        if r.url.path == "/oauth/v2/accessToken":
            return token
        assert r.url.host == "api.linkedin.com" and r.url.path == "/v2/userinfo"
        return userinfo or httpx.Response(
            200,
            json={
                "sub": "abc123",
                "name": "Morgan Lee",
                "given_name": "Morgan",
                "family_name": "Lee",
                "picture": "https://media.licdn.com/p.jpg",
                "email": "morgan@example.test",
            },
        )

    return LinkedInAuth(httpx.AsyncClient(transport=httpx.MockTransport(answer)), CONFIG), calls


def test_complete_exchanges_the_code_and_finds_the_member() -> None:
    auth, calls = auth_with(httpx.Response(200, json=token_answer()))
    before = datetime.now(UTC)
    [account] = run(auth.complete(code="c0de", redirect_uri="https://app.test/cb", code_verifier=None))
    token_call, me_call = calls
    assert token_call.url == "https://www.linkedin.com/oauth/v2/accessToken"
    assert parse_qs(token_call.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["c0de"],
        "redirect_uri": ["https://app.test/cb"],
        "client_id": ["client-1"],
        "client_secret": ["client-secret-1"],
    }
    assert me_call.headers["Authorization"] == "Bearer AQnew"
    assert account.platform == "linkedin" and account.platform_account_id == "urn:li:person:abc123"
    assert (account.username, account.display_name) == ("Morgan Lee", "Morgan Lee")
    assert account.profile_image_url == "https://media.licdn.com/p.jpg" and account.profile_url is None
    tokens = account.tokens
    assert tokens.refresh_token is None and tokens.refresh_after is None
    assert tokens.access_expires_at is not None
    assert timedelta(days=59, hours=23) < tokens.access_expires_at - before <= timedelta(days=60, seconds=1)
    assert tokens.connection_expires_at == tokens.access_expires_at  # nothing renews it: the member reconnects
    assert tokens.extra == {
        "author": "urn:li:person:abc123",
        "scopes": ["email", "openid", "profile", "w_member_social"],
    }


def test_complete_for_a_partner_app_keeps_the_refresh_token() -> None:
    answer = token_answer(refresh_token="AQrefresh", refresh_token_expires_in=31_536_000)
    auth, _ = auth_with(httpx.Response(200, json=answer))
    [account] = run(auth.complete(code="c", redirect_uri="https://app.test/cb", code_verifier=None))
    tokens = account.tokens
    assert tokens.refresh_token == "AQrefresh"
    assert tokens.access_expires_at and tokens.connection_expires_at and tokens.refresh_after
    assert tokens.connection_expires_at - tokens.access_expires_at == timedelta(days=305)
    assert tokens.access_expires_at - tokens.refresh_after == timedelta(days=7)


def test_complete_without_the_posting_scope_is_refused() -> None:
    auth, calls = auth_with(httpx.Response(200, json=token_answer(scope="openid,profile")))
    with pytest.raises(ContentRejectedError) as caught:
        run(auth.complete(code="c", redirect_uri="https://app.test/cb", code_verifier=None))
    assert caught.value.rule == "linkedin.scope.missing" and caught.value.http_status == 400
    assert len(calls) == 1


def test_a_refused_code_is_auth_failed_without_secrets() -> None:
    refused = httpx.Response(
        400, json={"error": "invalid_request", "error_description": "Unable to retrieve access token"}
    )
    auth, _ = auth_with(refused)
    with pytest.raises(AuthExpiredError) as caught:
        run(auth.complete(code="c", redirect_uri="https://app.test/cb", code_verifier=None))
    assert caught.value.rule == "linkedin.auth.code_invalid" and caught.value.http_status == 401
    assert "client-secret-1" not in str(caught.value) + json.dumps(caught.value.platform_response)


def test_refresh_without_a_refresh_token_asks_for_a_reconnect() -> None:
    fake = FakeLinkedIn()
    with pytest.raises(AuthExpiredError) as caught:
        run(adapter(fake).refresh(TOKENS))
    assert caught.value.rule == "linkedin.auth.expired" and fake.calls == []


def test_refresh_with_a_refresh_token() -> None:
    fake = FakeLinkedIn()
    fake.routes["POST /oauth/v2/accessToken"] = lambda r: httpx.Response(
        200, json=token_answer(access_token="AQfresh", refresh_token="AQrefresh", refresh_token_expires_in=1000)
    )
    current = TokenSet(access_token="AQold", refresh_token="AQrefresh", extra={"author": AUTHOR})
    fresh = run(adapter(fake).refresh(current))
    assert parse_qs(fake.calls[0].content.decode())["grant_type"] == ["refresh_token"]
    assert parse_qs(fake.calls[0].content.decode())["refresh_token"] == ["AQrefresh"]
    assert fresh.access_token == "AQfresh" and fresh.refresh_token == "AQrefresh"
    assert fresh.extra["author"] == AUTHOR


def test_a_refused_refresh_is_auth_expired() -> None:
    fake = FakeLinkedIn()
    fake.routes["POST /oauth/v2/accessToken"] = lambda r: httpx.Response(400, json={"error": "invalid_request"})
    with pytest.raises(AuthExpiredError) as caught:
        run(adapter(fake).refresh(TokenSet(access_token="a", refresh_token="r", extra={"author": AUTHOR})))
    assert caught.value.rule == "linkedin.auth.refresh_failed"


# ---- publishing ----------------------------------------------------------------------------------


def test_text_post_request_and_result() -> None:
    fake = FakeLinkedIn()
    result = run(adapter(fake).publish(TOKENS, request()))
    assert result == PublishResult(uri=NOW_URN, url=f"https://www.linkedin.com/feed/update/{NOW_URN}")
    [call] = fake.calls
    assert str(call.url) == "https://api.linkedin.com/rest/posts"
    assert call.headers["Linkedin-Version"] == LINKEDIN_VERSION
    assert call.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert call.headers["Authorization"] == "Bearer AQtoken-1"
    assert body_of(call) == {
        "author": AUTHOR,
        "commentary": r"Hello \(world\) #crosspost",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_single_image_uploads_then_posts_media_with_alt_text() -> None:
    fake = FakeLinkedIn()
    data = jpeg(800, 600, pad_to=4000)
    item = MediaItem("image", "image/jpeg", data=data, alt_text="A chart", width=800, height=600)
    run(adapter(fake).publish(TOKENS, request(media=(item,))))
    assert fake.paths() == ["POST /rest/images?initializeUpload", "PUT /dms-uploads/img1", "POST /rest/posts"]
    init, put, post = fake.calls
    assert body_of(init) == {"initializeUploadRequest": {"owner": AUTHOR}}
    assert put.content == data and put.headers["Authorization"] == "Bearer AQtoken-1"
    assert body_of(post)["content"] == {"media": {"id": "urn:li:image:I1", "altText": "A chart"}}


def test_several_images_become_a_multi_image_post_in_order() -> None:
    fake = FakeLinkedIn()
    items = (
        MediaItem("image", "image/jpeg", data=jpeg(10, 10), alt_text="first"),
        MediaItem("image", "image/png", data=png(10, 10)),
        MediaItem("image", "image/gif", data=b"GIF89a\x0a\x00\x0a\x00" + bytes(20), alt_text="third"),
    )
    run(adapter(fake).publish(TOKENS, request(media=items)))
    assert body_of(post_calls(fake)[0])["content"] == {
        "multiImage": {
            "images": [
                {"id": "urn:li:image:I1", "altText": "first"},
                {"id": "urn:li:image:I2"},
                {"id": "urn:li:image:I3", "altText": "third"},
            ]
        }
    }


VIDEO = mp4(200 * 1024)


def video_request(**kw: Any) -> PublishRequest:
    return request("A clip", media=(MediaItem("video", "video/mp4", data=VIDEO),), **kw)


def test_video_uploads_its_parts_finalizes_and_posts_when_available() -> None:
    fake = FakeLinkedIn()
    result = run(adapter(fake).publish(TOKENS, video_request(deadline=time.monotonic() + 5)))
    assert isinstance(result, PublishResult)
    assert fake.paths() == [
        "POST /rest/videos?initializeUpload",
        "PUT /dms-uploads/v/0",
        "PUT /dms-uploads/v/1",
        "POST /rest/videos?finalizeUpload",
        "GET /rest/videos/urn:li:video:V1",
        "POST /rest/posts",
    ]
    init, part0, part1, finalize = fake.calls[:4]
    assert body_of(init)["initializeUploadRequest"] == {
        "owner": AUTHOR,
        "fileSizeBytes": len(VIDEO),
        "uploadCaptions": False,
        "uploadThumbnail": False,
    }
    assert part0.content + part1.content == VIDEO
    assert body_of(finalize) == {
        "finalizeUploadRequest": {
            "video": "urn:li:video:V1",
            "uploadToken": "",
            "uploadedPartIds": ["etag-0", "etag-1"],
        }
    }
    assert body_of(post_calls(fake)[0])["content"] == {"media": {"id": "urn:li:video:V1"}}


def test_video_still_processing_at_the_deadline_returns_progress_and_resumes() -> None:
    fake = FakeLinkedIn()
    fake.video_status = ["PROCESSING"]
    outcome = run(adapter(fake).publish(TOKENS, video_request(deadline=None)))
    assert outcome == PublishProgress(state={"video": "urn:li:video:V1"}, check_after=15.0)
    assert post_calls(fake) == []
    uploads = len(fake.calls)
    fake.video_status = ["PROCESSING", "AVAILABLE"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("crosspost.platforms.linkedin.VIDEO_POLL_SECONDS", 0.02)
        result = run(
            adapter(fake).publish(TOKENS, video_request(progress=outcome.state, deadline=time.monotonic() + 2))
        )
    assert isinstance(result, PublishResult)
    resumed = fake.paths()[uploads:]
    assert resumed == ["GET /rest/videos/urn:li:video:V1", "GET /rest/videos/urn:li:video:V1", "POST /rest/posts"]


def test_video_processing_failure_is_rejected() -> None:
    fake = FakeLinkedIn()
    fake.video_status = ["PROCESSING_FAILED"]
    with pytest.raises(ContentRejectedError) as caught:
        run(adapter(fake).publish(TOKENS, video_request(deadline=time.monotonic() + 1)))
    assert caught.value.rule == "linkedin.video.processing_failed"
    assert caught.value.platform_response["processingFailureReason"] == "VIDEO_FORMAT_UNSUPPORTED"


@pytest.mark.parametrize(
    ("media", "rule"),
    [
        ((MediaItem("image", "image/webp", data=b"RIFF0000WEBP"),), "linkedin.media.mime_allowed"),
        ((MediaItem("image", "image/jpeg", data=bytes(5 * 1024 * 1024 + 1)),), "linkedin.media.too_large"),
        ((MediaItem("video", "video/quicktime", data=VIDEO),), "linkedin.media.mime_allowed"),
        ((MediaItem("video", "video/mp4", data=mp4(10_000)),), "linkedin.media.too_small"),
        ((MediaItem("image", "image/jpeg", data=jpeg(8000, 8000)),), "linkedin.media.too_many_pixels"),
        (
            (MediaItem("image", "image/jpeg", data=jpeg(1, 1)), MediaItem("video", "video/mp4", data=VIDEO)),
            "linkedin.media.image_video_exclusive",
        ),
        ((MediaItem("video", "video/mp4", data=VIDEO),) * 2, "linkedin.media.count_max"),
        ((MediaItem("image", "image/jpeg"),), "linkedin.media.unavailable"),
    ],
)
def test_media_linkedin_refuses_is_refused_before_anything_is_sent(media: tuple[MediaItem, ...], rule: str) -> None:
    fake = FakeLinkedIn()
    with pytest.raises(ContentRejectedError) as caught:
        run(adapter(fake).publish(TOKENS, request(media=media)))
    assert caught.value.rule == rule
    assert fake.calls == []


def test_preflight_adds_only_linkedins_quirks() -> None:
    huge = MediaItem("image", "image/jpeg", width=7000, height=7000, size=1000)
    tiny = MediaItem("video", "video/mp4", size=1000)
    webp = MediaItem("image", "image/webp", size=10)  # the shared preflight reports MIME types
    found = LinkedInAdapter.preflight(request(media=(huge, tiny, webp)))
    assert [(d.rule, d.field) for d in found] == [
        ("linkedin.media.too_many_pixels", "media[0]"),
        ("linkedin.media.too_small", "media[1]"),
    ]
    assert LinkedInAdapter.preflight(request()) == []


def test_a_create_without_the_urn_header_is_outcome_unknown() -> None:
    fake = FakeLinkedIn()
    fake.post_answers = [httpx.Response(201)]
    with pytest.raises(OutcomeUnknownError):
        run(adapter(fake).publish(TOKENS, request()))


def test_transport_failures_split_into_not_sent_and_outcome_unknown() -> None:
    def failing(kind: type[Exception], path: str) -> Callable[[httpx.Request], httpx.Response]:
        def answer(r: httpx.Request) -> httpx.Response:
            if r.url.path.startswith(path):
                raise kind("boom", request=r)  # type: ignore[call-arg]
            return FakeLinkedIn()(r)

        return answer

    def publish(handler: Callable[[httpx.Request], httpx.Response], media: tuple[MediaItem, ...] = ()) -> Exception:
        client = LinkedInAdapter(httpx.AsyncClient(transport=httpx.MockTransport(handler)), CONFIG)
        with pytest.raises(Exception) as caught:
            run(client.publish(TOKENS, request(media=media)))
        return caught.value

    image = (MediaItem("image", "image/png", data=png(2, 2)),)
    assert isinstance(publish(failing(httpx.ReadTimeout, "/rest/posts")), OutcomeUnknownError)
    assert isinstance(publish(failing(httpx.RemoteProtocolError, "/rest/posts")), OutcomeUnknownError)
    assert isinstance(publish(failing(httpx.ConnectError, "/rest/posts")), PlatformUnavailableError)
    assert isinstance(publish(failing(httpx.ReadTimeout, "/dms-uploads"), image), PlatformUnavailableError)
    assert not isinstance(publish(failing(httpx.ReadTimeout, "/dms-uploads"), image), OutcomeUnknownError)


def test_tokens_without_an_author_need_a_reconnect() -> None:
    with pytest.raises(AuthExpiredError):
        run(adapter(FakeLinkedIn()).publish(TokenSet(access_token="t"), request()))


# ---- duplicates, resume and reconciliation --------------------------------------------------------


def test_a_duplicate_on_a_first_attempt_is_rejected() -> None:
    fake = FakeLinkedIn()
    fake.post_answers = [duplicate(NOW_URN)]
    with pytest.raises(ContentRejectedError) as caught:
        run(adapter(fake).publish(TOKENS, request()))
    assert caught.value.rule == "linkedin.duplicate"


def test_a_resumed_publish_takes_a_recent_duplicate_as_this_post() -> None:
    fake = FakeLinkedIn()
    fake.post_answers = [duplicate(NOW_URN)]
    progress = {"video": "urn:li:video:V1"}
    result = run(adapter(fake).publish(TOKENS, video_request(progress=progress, deadline=time.monotonic() + 1)))
    assert result == PublishResult(uri=NOW_URN, url=f"https://www.linkedin.com/feed/update/{NOW_URN}")
    assert "POST /rest/videos?initializeUpload" not in fake.paths()


def test_find_published_never_sends_anything() -> None:
    """No look-up exists for a member's posts, and a re-send is not a look-up (module docstring)."""
    fake = FakeLinkedIn()
    assert run(adapter(fake).find_published(TOKENS, request())) is None
    assert fake.calls == []
