"""FacebookAuth and FacebookAdapter against a scripted Graph (``httpx.MockTransport``): the
requests they build, how they read the answers, and what they raise."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformUnavailableError,
)
from crosspost.platforms.base import AppCredentials, MediaItem, PlatformConfig, PublishRequest, TokenSet
from crosspost.platforms.facebook import EXTENDED_SCOPES, SCOPES, FacebookAdapter, FacebookAuth
from crosspost.platforms.safe_http import UnsafeUrlError

T = TypeVar("T")
APP = AppCredentials("app-id", "app-secret-value")
CONFIG = PlatformConfig(load_app=lambda: APP)
PAGE_TOKEN = "EAApagetoken0000000000000000001"
TOKENS = TokenSet(access_token=PAGE_TOKEN, extra={"pageId": "111"})
NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def err(status: int, code: int, message: str = "msg", subcode: int | None = None) -> httpx.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


class Graph:
    """Routes ``(method, path)`` to canned answers and records every request."""

    def __init__(self, routes: dict[tuple[str, str], Handler | httpx.Response | list[httpx.Response]]) -> None:
        self.routes = routes
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        key = (request.method, request.url.path.removeprefix("/v21.0"))
        route = self.routes.get(key)
        if route is None:
            return err(400, 2500, f"Unknown path components: {key}")
        if isinstance(route, list):
            return route.pop(0)
        if isinstance(route, httpx.Response):
            return route
        return route(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self), base_url="https://graph.facebook.com")

    def form(self, index: int) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.calls[index].content.decode()).items()}

    def paths(self) -> list[str]:
        return [f"{c.method} {c.url.path.removeprefix('/v21.0')}" for c in self.calls]


def adapter_call(graph: Graph, work: Callable[[FacebookAdapter], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        async with graph.client() as http:
            return await work(FacebookAdapter(http, CONFIG))

    return run(go())


def auth_call(graph: Graph, work: Callable[[FacebookAuth], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        async with graph.client() as http:
            return await work(FacebookAuth(http, CONFIG))

    return run(go())


def request(text: str = "Hello Page", media: tuple[MediaItem, ...] = ()) -> PublishRequest:
    return PublishRequest(post_id="post_1", text=text, created_at=NOW, media=media)


# ---- connect -----------------------------------------------------------------------------------


def test_authorization_url() -> None:
    auth = FacebookAuth(httpx.AsyncClient(), CONFIG)
    url = auth.authorization_url(state="st", redirect_uri="https://app/cb", code_challenge=None, extended_scopes=False)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.facebook.com", "/v21.0/dialog/oauth")
    assert query == {
        "client_id": "app-id",
        "redirect_uri": "https://app/cb",
        "state": "st",
        "scope": ",".join(SCOPES),
        "response_type": "code",
    }
    assert set(SCOPES) == {
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "business_management",
        "instagram_basic",
        "instagram_content_publish",
    }
    extended = auth.authorization_url(
        state="s", redirect_uri="https://app/cb", code_challenge=None, extended_scopes=True
    )
    scopes = parse_qs(urlsplit(extended).query)["scope"][0].split(",")
    assert scopes == [*SCOPES, *EXTENDED_SCOPES]
    assert "app-secret-value" not in url + extended
    sandbox = FacebookAuth(httpx.AsyncClient(), PlatformConfig(base_url="http://sb/facebook", load_app=lambda: APP))
    assert sandbox.authorization_url(
        state="s", redirect_uri="https://a", code_challenge=None, extended_scopes=False
    ).startswith("http://sb/facebook/v21.0/dialog/oauth?")


def token_route(request: httpx.Request) -> httpx.Response:
    query = dict(request.url.params)
    assert query["client_id"] == "app-id" and query["client_secret"] == "app-secret-value"
    if query.get("grant_type") == "fb_exchange_token":
        assert query["fb_exchange_token"] == "EAAshort"
        return ok({"access_token": "EAAlong", "token_type": "bearer", "expires_in": 5183944})
    assert query == {**query, "code": "the-code", "redirect_uri": "https://app/cb"}
    return ok({"access_token": "EAAshort", "token_type": "bearer", "expires_in": 5183})


def page(n: int, ig: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"10{n}",
        "name": f"Page {n}",
        "access_token": f"EAApage{n}",
        "tasks": ["CREATE_CONTENT"],
        "picture": {"data": {"url": f"https://cdn/{n}.jpg"}},
        "link": f"https://www.facebook.com/page{n}",
    }
    if n == 1:
        entry["username"] = "pageone"
    if ig:
        entry["instagram_business_account"] = {
            "id": f"1784{n}",
            "username": f"ig.{n}",
            "name": f"IG {n}",
            "profile_picture_url": f"https://ig/{n}.jpg",
        }
    return entry


def accounts_route(pages: list[list[dict[str, Any]]]) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer EAAlong"
        proof = hmac.new(b"app-secret-value", b"EAAlong", hashlib.sha256).hexdigest()
        assert request.url.params["appsecret_proof"] == proof
        assert "instagram_business_account" in request.url.params["fields"]
        index = int(request.url.params.get("after", "0"))
        body: dict[str, Any] = {"data": pages[index]}
        if index + 1 < len(pages):
            body["paging"] = {
                "cursors": {"before": "x", "after": str(index + 1)},
                "next": f"https://evil.example/next?access_token=EAAlong&after={index + 1}",
            }
        return ok(body)

    return answer


PERMISSIONS = ok(
    {
        "data": [
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "instagram_content_publish", "status": "granted"},
            {"permission": "instagram_manage_insights", "status": "declined"},
        ]
    }
)


def test_complete_yields_page_rows_and_instagram_rows_across_pages_of_results() -> None:
    graph = Graph(
        {
            ("GET", "/oauth/access_token"): token_route,
            ("GET", "/me/permissions"): PERMISSIONS,
            ("GET", "/me/accounts"): accounts_route([[page(1, ig=True), page(2)], [page(3, ig=True)]]),
        }
    )
    accounts = auth_call(
        graph, lambda a: a.complete(code="the-code", redirect_uri="https://app/cb", code_verifier=None)
    )
    assert [(a.platform, a.platform_account_id) for a in accounts] == [
        ("facebook", "101"),
        ("facebook", "102"),
        ("facebook", "103"),
        ("instagram", "17841"),
        ("instagram", "17843"),
    ]
    first, second = accounts[0], accounts[1]
    assert (first.username, first.display_name, first.profile_url, first.profile_image_url) == (
        "pageone",
        "Page 1",
        "https://www.facebook.com/page1",
        "https://cdn/1.jpg",
    )
    assert second.username == "Page 2"  # no Page username: its name
    assert first.tokens.access_token == "EAApage1" and first.tokens.extra == {"pageId": "101"}
    assert first.tokens.access_expires_at is None and first.tokens.connection_expires_at is None
    assert first.tokens.refresh_after is None and first.platform_block is None
    ig = accounts[3]
    assert (ig.username, ig.display_name, ig.profile_url, ig.profile_image_url) == (
        "ig.1",
        "IG 1",
        "https://www.instagram.com/ig.1/",
        "https://ig/1.jpg",
    )
    assert ig.tokens.access_token == "EAApage1" and ig.tokens.extra == {"igUserId": "17841", "pageId": "101"}
    assert ig.tokens.connection_expires_at is None
    assert ig.platform_block == {
        "kind": "business",
        "accountType": "BUSINESS",
        "grantedScopes": ["pages_show_list", "instagram_content_publish"],
    }
    # the cursor is followed on Graph itself, never the next URL
    assert all(c.url.host == "graph.facebook.com" for c in graph.calls)
    assert graph.paths().count("GET /me/accounts") == 2


def test_complete_without_pages_is_pages_none() -> None:
    graph = Graph(
        {
            ("GET", "/oauth/access_token"): token_route,
            ("GET", "/me/permissions"): PERMISSIONS,
            ("GET", "/me/accounts"): ok({"data": []}),
        }
    )
    with pytest.raises(ContentRejectedError) as caught:
        auth_call(graph, lambda a: a.complete(code="the-code", redirect_uri="https://app/cb", code_verifier=None))
    assert caught.value.rule == "facebook.pages.none" and caught.value.http_status == 400


@pytest.mark.parametrize(
    "answer",
    [
        err(400, 100, "This authorization code has expired.", 36007),
        err(400, 100, "This authorization code has been used.", 36009),
        err(400, 100, "Invalid verification code format."),
        err(400, 1, "Error validating client secret."),
        err(400, 190, "Invalid OAuth access token", 463),
    ],
)
def test_a_refused_code_is_auth_failed(answer: httpx.Response) -> None:
    graph = Graph({("GET", "/oauth/access_token"): answer})
    with pytest.raises(AuthExpiredError) as caught:
        auth_call(graph, lambda a: a.complete(code="old", redirect_uri="https://app/cb", code_verifier=None))
    assert caught.value.rule == "facebook.auth.code_invalid" and caught.value.http_status == 401
    assert "app-secret-value" not in str(caught.value) + json.dumps(caught.value.platform_response)


def test_token_endpoint_outage_is_unavailable() -> None:
    graph = Graph({("GET", "/oauth/access_token"): err(503, 2, "Service temporarily unavailable")})
    with pytest.raises(PlatformUnavailableError):
        auth_call(graph, lambda a: a.complete(code="c", redirect_uri="https://app/cb", code_verifier=None))


# ---- publish -----------------------------------------------------------------------------------


def permalink(request: httpx.Request) -> httpx.Response:
    object_id = request.url.path.rsplit("/", 1)[1]
    assert request.url.params["fields"] == "permalink_url"
    return ok({"id": object_id, "permalink_url": f"https://www.facebook.com/111/posts/{object_id}"})


def test_text_goes_to_the_feed_with_the_page_token() -> None:
    graph = Graph({("POST", "/111/feed"): ok({"id": "111_222"}), ("GET", "/111_222"): permalink})
    result = adapter_call(graph, lambda a: a.publish(TOKENS, request()))
    assert result.uri == "111_222" and result.url == "https://www.facebook.com/111/posts/111_222"
    assert graph.form(0) == {"message": "Hello Page"}
    assert graph.calls[0].headers["Authorization"] == f"Bearer {PAGE_TOKEN}"
    assert PAGE_TOKEN not in str(graph.calls[0].url)


def test_a_failed_permalink_read_does_not_fail_a_live_post() -> None:
    graph = Graph({("POST", "/111/feed"): ok({"id": "111_222"}), ("GET", "/111_222"): err(500, 1)})
    result = adapter_call(graph, lambda a: a.publish(TOKENS, request()))
    assert result.url == "https://www.facebook.com/111_222"


def image(url: str = "https://media/a.jpg", **kw: Any) -> MediaItem:
    return MediaItem(kind="image", url=url, **kw)


def test_one_photo() -> None:
    graph = Graph({("POST", "/111/photos"): ok({"id": "999", "post_id": "111_333"}), ("GET", "/111_333"): permalink})
    result = adapter_call(graph, lambda a: a.publish(TOKENS, request(media=(image(alt_text="a cake"),))))
    assert result.uri == "111_333"
    assert graph.form(0) == {
        "url": "https://media/a.jpg",
        "message": "Hello Page",
        "published": "true",
        "alt_text_custom": "a cake",
    }


def test_several_photos_are_unpublished_photos_attached_to_one_feed_post() -> None:
    graph = Graph(
        {
            ("POST", "/111/photos"): [ok({"id": "901"}), ok({"id": "902"})],
            ("POST", "/111/feed"): ok({"id": "111_444"}),
            ("GET", "/111_444"): permalink,
        }
    )
    media = (image("https://media/1.jpg"), image("https://media/2.jpg"))
    result = adapter_call(graph, lambda a: a.publish(TOKENS, request(media=media)))
    assert result.uri == "111_444"
    assert graph.form(0) == {"url": "https://media/1.jpg", "published": "false"}
    assert graph.form(1) == {"url": "https://media/2.jpg", "published": "false"}
    feed = graph.form(2)
    assert feed["message"] == "Hello Page"
    assert json.loads(feed["attached_media"]) == [{"media_fbid": "901"}, {"media_fbid": "902"}]


def test_video_by_file_url() -> None:
    graph = Graph(
        {
            ("POST", "/111/videos"): ok({"id": "555"}),
            ("GET", "/555"): ok({"id": "555", "permalink_url": "/111/videos/555/"}),
        }
    )
    video = MediaItem(kind="video", url="https://media/v.mp4", content_type="video/mp4")
    result = adapter_call(graph, lambda a: a.publish(TOKENS, request(media=(video,))))
    assert result.uri == "555" and result.url == "https://www.facebook.com/111/videos/555/"
    assert graph.form(0) == {"file_url": "https://media/v.mp4", "description": "Hello Page"}


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (MediaItem(kind="image"), "facebook.media.url_required"),
        (image(content_type="image/jpeg", size=5 * 1024 * 1024), "facebook.media.too_large"),
        (image(content_type="image/heic"), "facebook.media.mime_allowed"),
        (MediaItem(kind="video", url="https://v", content_type="video/webm"), "facebook.media.mime_allowed"),
    ],
)
def test_media_refused_before_any_call(item: MediaItem, rule: str) -> None:
    graph = Graph({})
    with pytest.raises(ContentRejectedError) as caught:
        adapter_call(graph, lambda a: a.publish(TOKENS, request(media=(item,))))
    assert caught.value.rule == rule and graph.calls == []


def raise_(exc: Exception) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


def test_transport_failures() -> None:
    read_timeout = Graph({("POST", "/111/feed"): raise_(httpx.ReadTimeout("slow"))})
    with pytest.raises(OutcomeUnknownError):
        adapter_call(read_timeout, lambda a: a.publish(TOKENS, request()))
    refused = Graph({("POST", "/111/feed"): raise_(httpx.ConnectError("refused"))})
    with pytest.raises(PlatformUnavailableError):
        adapter_call(refused, lambda a: a.publish(TOKENS, request()))
    # unpublished photos are invisible: a timeout there is "not sent"
    photo_timeout = Graph({("POST", "/111/photos"): raise_(httpx.ReadTimeout("slow"))})
    with pytest.raises(PlatformUnavailableError):
        adapter_call(photo_timeout, lambda a: a.publish(TOKENS, request(media=(image(), image()))))
    guarded = Graph({("POST", "/111/feed"): raise_(UnsafeUrlError("private address"))})
    with pytest.raises(PlatformUnavailableError):
        adapter_call(guarded, lambda a: a.publish(TOKENS, request()))
    garbled = Graph({("POST", "/111/feed"): httpx.Response(200, content=b"<html>")})
    with pytest.raises(OutcomeUnknownError):
        adapter_call(garbled, lambda a: a.publish(TOKENS, request()))


def test_graph_errors_are_classified() -> None:
    graph = Graph({("POST", "/111/feed"): err(400, 506, "(#506) Duplicate status message")})
    with pytest.raises(ContentRejectedError) as caught:
        adapter_call(graph, lambda a: a.publish(TOKENS, request()))
    assert caught.value.rule == "facebook.duplicate"
    assert caught.value.platform_response["code"] == 506


def test_refresh_is_impossible_and_tokens_must_name_a_page() -> None:
    with pytest.raises(AuthExpiredError) as caught:
        adapter_call(Graph({}), lambda a: a.refresh(TOKENS))
    assert caught.value.rule == "facebook.auth.expired"
    with pytest.raises(AuthExpiredError):
        adapter_call(Graph({}), lambda a: a.publish(TokenSet(access_token="x"), request()))


# ---- find_published ------------------------------------------------------------------------------


def graph_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def test_find_published_matches_text_and_time() -> None:
    posts = [
        {"id": "111_3", "message": "Other", "created_time": graph_time(NOW + timedelta(seconds=5))},
        {
            "id": "111_2",
            "message": "Hello Page",
            "created_time": graph_time(NOW + timedelta(seconds=3)),
            "permalink_url": "https://www.facebook.com/111/posts/2",
        },
        {"id": "111_1", "message": "Hello Page", "created_time": graph_time(NOW - timedelta(hours=1))},
    ]
    graph = Graph({("GET", "/111/posts"): ok({"data": posts})})
    found = adapter_call(graph, lambda a: a.find_published(TOKENS, request()))
    assert found is not None and (found.uri, found.url) == ("111_2", "https://www.facebook.com/111/posts/2")
    assert graph.calls[0].url.params["fields"] == "id,message,created_time,permalink_url"
    too_old = Graph({("GET", "/111/posts"): ok({"data": posts[2:]})})
    assert adapter_call(too_old, lambda a: a.find_published(TOKENS, request())) is None


def test_find_published_looks_at_videos_for_a_video_post() -> None:
    videos = [
        {"id": "555", "description": "Hello Page", "created_time": graph_time(NOW), "permalink_url": "/111/videos/555/"}
    ]
    graph = Graph({("GET", "/111/videos"): ok({"data": videos})})
    video = MediaItem(kind="video", url="https://media/v.mp4")
    found = adapter_call(graph, lambda a: a.find_published(TOKENS, request(media=(video,))))
    assert found is not None and (found.uri, found.url) == ("555", "https://www.facebook.com/111/videos/555/")
