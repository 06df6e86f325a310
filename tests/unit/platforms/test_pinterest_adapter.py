"""PinterestAdapter and PinterestAuth without a network: the requests they build (checked on an
``httpx.MockTransport``), the preflight quirks, the video upload/poll/resume flow, reconciling and
refreshing."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
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
from crosspost.platforms.pinterest import COVER_KEY_FRAME_MS, SCOPES, SECRET_SCOPES, PinterestAdapter, PinterestAuth
from crosspost.services.preflight import preflight

APP = AppCredentials("client-id-1", "client-secret-xyz")
CONFIG = PlatformConfig(load_app=lambda: APP)
TOKENS = TokenSet("pina_access_token_value", "pinr_refresh_token_value")
BOARD = "1001000000000000001"
IMAGE_URL = "https://media.example/presigned/square.jpg?X-Amz-Signature=abc"

Handler = Callable[[httpx.Request], httpx.Response]


class FakePinterest:
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
            return httpx.Response(404, json={"code": 404, "message": f"no route {key}"})
        if isinstance(route, list):  # answered in turn, the last one repeats
            route = route.pop(0) if len(route) > 1 else route[0]
        answer: httpx.Response = route(request) if callable(route) else route
        return answer

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def sent(self, key: str) -> list[httpx.Request]:
        return [r for r in self.requests if f"{r.method} {r.url.path}" == key]


def ok(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def pin(pin_id: str = "1100000000000000001", **fields: Any) -> dict[str, Any]:
    return {"id": pin_id, "created_at": "2026-05-01T12:00:00", "board_id": BOARD, **fields}


def request(text: str = "A pin", **kw: Any) -> PublishRequest:
    kw.setdefault("post_id", "post_1")
    kw.setdefault("created_at", datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    kw.setdefault("media", (MediaItem(kind="image", url=IMAGE_URL, content_type="image/jpeg"),))
    kw.setdefault("account_block", {"defaultBoardId": BOARD, "defaultBoardName": "Ideas"})
    return PublishRequest(text=text, **kw)


def run(fake: FakePinterest, call: Callable[[PinterestAdapter], Any]) -> Any:
    async def go() -> Any:
        async with fake.client() as http:
            return await call(PinterestAdapter(http, CONFIG))

    return asyncio.run(go())


# ---- auth --------------------------------------------------------------------------------------


def test_the_authorize_url_asks_for_the_publishing_scopes() -> None:
    auth = PinterestAuth(httpx.AsyncClient(), CONFIG)
    url = auth.authorization_url(
        state="st", redirect_uri="https://api.example/cb", code_challenge=None, extended_scopes=False
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.pinterest.com", "/oauth/")
    query = parse_qs(parts.query)
    assert query == {
        "client_id": ["client-id-1"],
        "redirect_uri": ["https://api.example/cb"],
        "response_type": ["code"],
        "scope": [",".join(SCOPES)],
        "state": ["st"],
    }
    assert not auth.uses_pkce
    extended = auth.authorization_url(state="s", redirect_uri="https://a/cb", code_challenge=None, extended_scopes=True)
    assert parse_qs(urlsplit(extended).query)["scope"] == [",".join(SCOPES + SECRET_SCOPES)]
    sandboxed = PinterestAuth(httpx.AsyncClient(), replace(CONFIG, base_url="http://127.0.0.1:9/pinterest/"))
    assert sandboxed.authorization_url(
        state="s", redirect_uri="https://a/cb", code_challenge=None, extended_scopes=False
    ).startswith("http://127.0.0.1:9/pinterest/oauth/?")


def token_answer(**extra: Any) -> dict[str, Any]:
    return {
        "access_token": "pina_new",
        "token_type": "bearer",
        "expires_in": 2_592_000,
        "scope": ",".join(SCOPES),
        "refresh_token": "pinr_new",
        "refresh_token_expires_in": 5_184_000,
        "response_type": "authorization_code",
        **extra,
    }


USER = {
    "id": "549755885175",
    "username": "pinner",
    "account_type": "BUSINESS",
    "business_name": "Pinner Co",
    "profile_image": "https://i.pinimg.com/p.jpg",
}


def complete(fake: FakePinterest) -> Any:
    async def go() -> Any:
        async with fake.client() as http:
            return await PinterestAuth(http, CONFIG).complete(
                code="c0de", redirect_uri="https://a/cb", code_verifier=None
            )

    return asyncio.run(go())


def test_complete_exchanges_with_basic_auth_and_takes_the_first_board() -> None:
    boards = {"items": [{"id": BOARD, "name": "Ideas"}, {"id": "2", "name": "Other"}], "bookmark": "b2"}
    fake = FakePinterest(
        {"POST /v5/oauth/token": ok(token_answer()), "GET /v5/user_account": ok(USER), "GET /v5/boards": ok(boards)}
    )
    [account] = complete(fake)
    exchange = fake.sent("POST /v5/oauth/token")[0]
    assert exchange.url.host == "api.pinterest.com"
    assert exchange.headers["Authorization"] == "Basic " + base64.b64encode(b"client-id-1:client-secret-xyz").decode()
    assert exchange.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(exchange.content.decode()) == {
        "grant_type": ["authorization_code"],
        "code": ["c0de"],
        "redirect_uri": ["https://a/cb"],
        "continuous_refresh": ["true"],
    }
    assert fake.sent("GET /v5/user_account")[0].headers["Authorization"] == "Bearer pina_new"
    assert fake.sent("GET /v5/boards")[0].url.params["page_size"] == "25"
    assert len(fake.sent("GET /v5/boards")) == 1  # the first board is on the first page
    assert account.platform == "pinterest" and account.platform_account_id == "549755885175"
    assert (account.username, account.display_name) == ("pinner", "Pinner Co")
    assert account.profile_image_url == "https://i.pinimg.com/p.jpg"
    assert account.profile_url == "https://www.pinterest.com/pinner/"
    assert account.platform_block == {"defaultBoardId": BOARD, "defaultBoardName": "Ideas"}
    tokens = account.tokens
    assert tokens.refresh_token == "pinr_new" and tokens.connection_expires_at is not None
    assert tokens.access_expires_at is not None and tokens.refresh_after is not None
    assert timedelta(days=59) < tokens.connection_expires_at - datetime.now(UTC) <= timedelta(days=60)
    assert tokens.refresh_after < tokens.access_expires_at


def test_an_account_without_boards_connects_without_a_default() -> None:
    user = {"username": "solo", "account_type": "PINNER"}  # older answers have no id
    pages = [ok({"items": [], "bookmark": "next"}), ok({"items": [], "bookmark": None})]
    fake = FakePinterest(
        {"POST /v5/oauth/token": ok(token_answer()), "GET /v5/user_account": ok(user), "GET /v5/boards": pages}
    )
    [account] = complete(fake)
    assert account.platform_account_id == "solo" and account.display_name == "solo"
    assert account.profile_image_url is None
    assert account.platform_block == {"defaultBoardId": None, "defaultBoardName": None}
    assert fake.sent("GET /v5/boards")[1].url.params["bookmark"] == "next"


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_code_is_platform_auth_failed(status: int) -> None:
    body = {"code": 283, "message": "The authorization grant is invalid"}
    fake = FakePinterest({"POST /v5/oauth/token": httpx.Response(status, json=body)})
    with pytest.raises(AuthExpiredError) as caught:
        complete(fake)
    assert caught.value.rule == "pinterest.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response == body
    assert "client-secret-xyz" not in str(caught.value) + repr(caught.value.__dict__)


def test_a_token_endpoint_outage_is_unavailable() -> None:
    fake = FakePinterest({"POST /v5/oauth/token": httpx.Response(503, json={"code": 0, "message": "down"})})
    with pytest.raises(PlatformUnavailableError):
        complete(fake)


# ---- preflight ---------------------------------------------------------------------------------


def rules(req: PublishRequest) -> list[str]:
    return [d.rule for d in PinterestAdapter.preflight(req)]


def opts(**values: Any) -> dict[str, Any]:
    return {"pinterest": values}


def test_a_plain_image_pin_passes() -> None:
    assert rules(request()) == []
    assert rules(request(options=opts(boardId="42", title="t" * 100, destinationUrl="https://x.example/a"))) == []


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        (request(media=(MediaItem("image", url=IMAGE_URL),) * 2), ["pinterest.media.single_only"]),
        (request(account_block={}), ["pinterest.board.required"]),
        (request(account_block={"defaultBoardId": None}), ["pinterest.board.required"]),
        (request(options=opts(boardId="my-board")), ["pinterest.board.invalid"]),
        (request(options=opts(title="é" * 101)), ["pinterest.title.max_graphemes"]),
        (request(options=opts(destinationUrl="ftp://x.example/")), ["pinterest.destination_url.invalid"]),
        (request(options=opts(destinationUrl="not a url")), ["pinterest.destination_url.invalid"]),
        (
            request(options=opts(destinationUrl="https://x.example/" + "a" * 2048)),
            ["pinterest.destination_url.max_length"],
        ),
    ],
)
def test_preflight_quirks(req: PublishRequest, expected: list[str]) -> None:
    assert rules(req) == expected


def test_the_post_options_board_wins_over_the_default_and_makes_it_optional() -> None:
    assert rules(request(account_block={}, options=opts(boardId="777"))) == []


def test_title_counts_graphemes() -> None:
    assert rules(request(options=opts(title="👍🏽" * 100))) == []


def test_the_shared_preflight_applies_pinterests_limits() -> None:
    found = preflight(PinterestAdapter, request(text="x" * 801, media=()), {"pinterest"})
    assert [d.rule for d in found] == ["pinterest.text.max_graphemes", "pinterest.media.required"]
    alt = request(media=(MediaItem("image", url=IMAGE_URL, alt_text="a" * 501),))
    assert [d.rule for d in preflight(PinterestAdapter, alt, set())] == ["pinterest.media.alt_text_max_graphemes"]
    assert preflight(PinterestAdapter, request(text="x" * 800), {"pinterest"}) == []
    two = request(media=(MediaItem("image", url=IMAGE_URL),) * 2)
    assert "pinterest.media.single_only" in [d.rule for d in preflight(PinterestAdapter, two, set())]


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (MediaItem("image", content_type="image/heic", size=10), "pinterest.media.mime_allowed"),
        (MediaItem("image", content_type="image/png", size=21 * 2**20), "pinterest.media.too_large"),
        (MediaItem("video", content_type="video/webm"), "pinterest.media.mime_allowed"),
        (MediaItem("video", content_type="video/mp4", size=3 * 2**30), "pinterest.media.too_large"),
    ],
)
def test_stage_b_limits_are_pinterests(item: MediaItem, rule: str) -> None:
    assert [d.rule for d in preflight(PinterestAdapter, request(media=(item,)), set())] == [rule]


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime"])
def test_pinterests_media_types_pass(content_type: str) -> None:
    item = MediaItem(content_type.split("/")[0], content_type=content_type, size=1000)
    assert preflight(PinterestAdapter, request(media=(item,)), set()) == []
    caps = PinterestAdapter.capabilities
    assert caps.media_transfer == "url" and not caps.idempotent_create and caps.renews_indefinitely


# ---- publish: images ---------------------------------------------------------------------------


def test_an_image_pin_on_the_default_board() -> None:
    fake = FakePinterest({"POST /v5/pins": ok(pin("1100000000000000009"), 201)})
    result = run(fake, lambda a: a.publish(TOKENS, request(text="Hello")))
    assert result == PublishResult(uri="1100000000000000009", url="https://www.pinterest.com/pin/1100000000000000009/")
    sent = fake.sent("POST /v5/pins")[0]
    assert sent.headers["Authorization"] == "Bearer pina_access_token_value"
    assert json.loads(sent.content) == {
        "board_id": BOARD,
        "description": "Hello",
        "media_source": {"source_type": "image_url", "url": IMAGE_URL},
    }


def test_options_title_link_board_and_alt_text_go_into_the_pin() -> None:
    fake = FakePinterest({"POST /v5/pins": ok(pin(), 201)})
    media = (MediaItem("image", url=IMAGE_URL, alt_text="A cat"),)
    req = request(media=media, options=opts(boardId="555", title="Cats", destinationUrl="https://cats.example/"))
    run(fake, lambda a: a.publish(TOKENS, req))
    body = json.loads(fake.sent("POST /v5/pins")[0].content)
    assert body["board_id"] == "555" and body["title"] == "Cats" and body["alt_text"] == "A cat"
    assert body["link"] == "https://cats.example/"


def test_image_bytes_without_a_url_go_as_base64_jpeg_or_png_only() -> None:
    fake = FakePinterest({"POST /v5/pins": ok(pin(), 201)})
    png = b"\x89PNG\r\n\x1a\n" + bytes(20)
    run(fake, lambda a: a.publish(TOKENS, request(media=(MediaItem("image", data=png, content_type="image/png"),))))
    source = json.loads(fake.sent("POST /v5/pins")[0].content)["media_source"]
    assert source == {
        "source_type": "image_base64",
        "content_type": "image/png",
        "data": base64.b64encode(png).decode(),
    }
    gif = MediaItem("image", data=b"GIF89a" + bytes(10), content_type="image/gif")
    with pytest.raises(ContentRejectedError) as caught:
        run(fake, lambda a: a.publish(TOKENS, request(media=(gif,))))
    assert caught.value.rule == "pinterest.media.mime_allowed"


@pytest.mark.parametrize(
    ("req", "rule"),
    [
        (request(media=()), "pinterest.media.required"),
        (request(account_block={}), "pinterest.board.required"),
        (request(media=(MediaItem("image", url=IMAGE_URL),) * 2), "pinterest.media.single_only"),
    ],
)
def test_publish_refuses_what_preflight_refuses_without_calling(req: PublishRequest, rule: str) -> None:
    fake = FakePinterest({})
    with pytest.raises(ContentRejectedError) as caught:
        run(fake, lambda a: a.publish(TOKENS, req))
    assert caught.value.rule == rule and fake.requests == []


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (httpx.Response(201, content=b"<html>"), OutcomeUnknownError),
        (ok({"board_id": BOARD}, 201), OutcomeUnknownError),
        (httpx.Response(500, json={"code": 0, "message": "x"}), OutcomeUnknownError),
        (httpx.Response(404, json={"code": 40, "message": "Board not found."}), ContentRejectedError),
    ],
)
def test_pin_creation_answers(answer: httpx.Response, kind: type[Exception]) -> None:
    with pytest.raises(kind):
        run(FakePinterest({"POST /v5/pins": answer}), lambda a: a.publish(TOKENS, request()))


def raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ReadTimeout("slow"), OutcomeUnknownError),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), OutcomeUnknownError),
        (httpx.ConnectError("refused"), PlatformUnavailableError),
        (httpx.ConnectTimeout("slow connect"), PlatformUnavailableError),
    ],
)
def test_transport_failures_on_the_create(exc: Exception, kind: type[Exception]) -> None:
    with pytest.raises(kind):
        run(FakePinterest({"POST /v5/pins": raising(exc)}), lambda a: a.publish(TOKENS, request()))


def test_a_read_timeout_on_a_read_is_only_unavailable() -> None:
    fake = FakePinterest({"GET /v5/boards/1001000000000000001/pins": raising(httpx.ReadTimeout("slow"))})
    with pytest.raises(PlatformUnavailableError):
        run(fake, lambda a: a.find_published(TOKENS, request()))


# ---- publish: video ----------------------------------------------------------------------------

VIDEO = MediaItem("video", data=b"\x00\x00\x00\x18ftypmp42" + bytes(64), content_type="video/mp4")
UPLOAD_URL = "https://pinterest-media-upload.s3-accelerate.amazonaws.com/"
PARAMS = {"key": "uploads/x/77.mp4", "policy": "cG9saWN5", "x-amz-signature": "sig", "Content-Type": "video/mp4"}


def media_status(*statuses: str) -> list[httpx.Response]:
    return [ok({"media_id": "77", "media_type": "video", "status": s}) for s in statuses]


def video_fake(*statuses: str, upload: httpx.Response | None = None) -> FakePinterest:
    return FakePinterest(
        {
            "POST /v5/media": ok(
                {"media_id": "77", "media_type": "video", "upload_url": UPLOAD_URL, "upload_parameters": PARAMS}, 201
            ),
            "POST /": upload or httpx.Response(204),
            "GET /v5/media/77": media_status(*statuses),
            "POST /v5/pins": ok(pin("1100000000000000042"), 201),
        }
    )


def test_a_video_is_registered_uploaded_polled_and_pinned_with_a_cover() -> None:
    fake = video_fake("processing", "succeeded")
    req = request(media=(VIDEO,), deadline=time.monotonic() + 10)
    result = run(fake, lambda a: a.publish(TOKENS, req))
    assert result.uri == "1100000000000000042"
    assert json.loads(fake.sent("POST /v5/media")[0].content) == {"media_type": "video"}
    upload = fake.sent("POST /")[0]
    assert upload.url == UPLOAD_URL and "Authorization" not in upload.headers  # presigned: no Bearer
    body = upload.content
    for name, value in PARAMS.items():
        assert f'name="{name}"\r\n\r\n{value}\r\n'.encode() in body
    assert body.index(b'name="policy"') < body.index(b'name="file"')  # S3 wants the file last
    assert VIDEO.data is not None and VIDEO.data in body
    assert len(fake.sent("GET /v5/media/77")) == 2
    source = json.loads(fake.sent("POST /v5/pins")[0].content)["media_source"]
    assert source == {"source_type": "video_id", "media_id": "77", "cover_image_key_frame_time": COVER_KEY_FRAME_MS}


def test_processing_past_the_deadline_returns_progress_and_the_next_attempt_resumes() -> None:
    fake = video_fake("processing")
    first = run(fake, lambda a: a.publish(TOKENS, request(media=(VIDEO,), deadline=None)))
    assert isinstance(first, PublishProgress) and first.state == {"mediaId": "77"} and first.check_after > 0
    assert fake.sent("POST /v5/pins") == []
    fake.routes["GET /v5/media/77"] = media_status("succeeded")
    second = run(fake, lambda a: a.publish(TOKENS, request(media=(VIDEO,), progress=first.state)))
    assert isinstance(second, PublishResult)
    assert len(fake.sent("POST /v5/media")) == 1 and len(fake.sent("POST /")) == 1  # never uploaded twice


def test_a_resumed_media_pinterest_forgot_is_uploaded_again() -> None:
    fake = video_fake("succeeded")
    fake.routes["GET /v5/media/12"] = httpx.Response(404, json={"code": 4, "message": "Media not found."})
    result = run(fake, lambda a: a.publish(TOKENS, request(media=(VIDEO,), progress={"mediaId": "12"})))
    assert isinstance(result, PublishResult) and len(fake.sent("POST /v5/media")) == 1


def test_a_failed_video_is_rejected() -> None:
    with pytest.raises(ContentRejectedError) as caught:
        run(video_fake("failed"), lambda a: a.publish(TOKENS, request(media=(VIDEO,))))
    assert caught.value.rule == "pinterest.media.processing_failed"


@pytest.mark.parametrize(("status", "kind"), [(503, PlatformUnavailableError), (400, ContentRejectedError)])
def test_a_refused_upload(status: int, kind: type[Exception]) -> None:
    fake = video_fake("succeeded", upload=httpx.Response(status, content=b"<Error><Code>X</Code></Error>"))
    with pytest.raises(kind):
        run(fake, lambda a: a.publish(TOKENS, request(media=(VIDEO,))))
    assert fake.sent("POST /v5/pins") == []


def test_a_video_without_bytes_is_refused_before_any_upload() -> None:
    fake = video_fake("succeeded")
    by_url = MediaItem("video", url="https://media.example/presigned/clip.mp4", content_type="video/mp4")
    with pytest.raises(ContentRejectedError) as caught:
        run(fake, lambda a: a.publish(TOKENS, request(media=(by_url,))))
    assert caught.value.rule == "pinterest.media.unavailable"
    assert fake.sent("POST /") == []


# ---- reconcile ---------------------------------------------------------------------------------


def board_pins(*pages: tuple[list[dict[str, Any]], str | None]) -> list[httpx.Response]:
    return [ok({"items": items, "bookmark": mark}) for items, mark in pages]


def test_find_published_matches_text_link_and_title_after_the_post_was_made() -> None:
    req = request(text="Hello", options=opts(destinationUrl="https://x.example/", title="T"))
    match = pin("5", description="Hello", link="https://x.example/", title="T", created_at="2026-05-01T12:00:03")
    fake = FakePinterest(
        {
            "GET /v5/boards/1001000000000000001/pins": board_pins(
                ([pin("9", description="Other", created_at="2026-05-01T12:01:00")], "p2"),
                ([match, pin("4", description="Hello", created_at="2026-04-01T00:00:00")], "p3"),
            )
        }
    )
    found = run(fake, lambda a: a.find_published(TOKENS, req))
    assert found == PublishResult(uri="5", url="https://www.pinterest.com/pin/5/")
    assert len(fake.requests) == 2  # stopped at a pin older than the post


def test_find_published_ignores_other_links_and_old_pins() -> None:
    same_text_other_link = pin("6", description="Hello", link="https://y.example/", created_at="2026-05-01T12:00:03")
    old = pin("4", description="Hello", created_at="2026-04-01T00:00:00")
    fake = FakePinterest({"GET /v5/boards/1001000000000000001/pins": board_pins(([same_text_other_link, old], None))})
    assert run(fake, lambda a: a.find_published(TOKENS, request(text="Hello"))) is None
    assert run(FakePinterest({}), lambda a: a.find_published(TOKENS, request(account_block={}))) is None


# ---- refresh -----------------------------------------------------------------------------------


def test_refresh_rotates_the_continuous_refresh_token() -> None:
    fake = FakePinterest({"POST /v5/oauth/token": ok(token_answer(response_type="refresh_token"))})
    fresh = run(fake, lambda a: a.refresh(TOKENS))
    form = parse_qs(fake.requests[0].content.decode())
    assert form == {"grant_type": ["refresh_token"], "refresh_token": ["pinr_refresh_token_value"]}
    assert fake.requests[0].headers["Authorization"].startswith("Basic ")
    assert fresh.access_token == "pina_new" and fresh.refresh_token == "pinr_new"


def test_a_refused_refresh_means_reconnect() -> None:
    body = {"code": 283, "message": "The authorization grant is invalid"}
    fake = FakePinterest({"POST /v5/oauth/token": httpx.Response(400, json=body)})
    with pytest.raises(AuthExpiredError) as caught:
        run(fake, lambda a: a.refresh(TOKENS))
    assert caught.value.rule == "pinterest.auth.expired" and caught.value.platform_response == body
    with pytest.raises(AuthExpiredError):
        run(FakePinterest({}), lambda a: a.refresh(TokenSet("a")))
