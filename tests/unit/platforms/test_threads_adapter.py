"""ThreadsAdapter and ThreadsAuth against a scripted Graph API on httpx.MockTransport (no sockets):
the requests they build, the tokens they keep, the container flow (poll, resume, expire) and the
reconcile look-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
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
from crosspost.platforms.registry import adapter_for, oauth_auth_for
from crosspost.platforms.threads import (
    RENEW_AHEAD,
    ThreadsAdapter,
    ThreadsAuth,
    long_lived_tokens,
    renewal_time,
)

USER = "25190000000000001"
LONG_TOKEN = "THAAlonglivedtoken0123456789abcdef"
SHORT_TOKEN = "THAAshortlivedtoken0123456789abcdef"
APP = AppCredentials(client_id="threads-app-id", client_secret="threads-app-secret")
CONFIG = PlatformConfig(load_app=lambda: APP)
CREATED = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
PERMALINK = "https://www.threads.net/@alice/post/ABCDEFGHIJK"


def graph_error(status: int, code: int, subcode: int | None = None, message: str = "msg") -> httpx.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


class FakeThreads:
    """A scripted graph.threads.net. ``statuses[container]``: the statuses its polls return in
    order (the last repeats; default FINISHED). ``override[(method, path)]``: a response or an
    exception for that call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.statuses: dict[str, list[str]] = {}
        self.override: dict[tuple[str, str], httpx.Response | Exception] = {}
        self.pages: list[dict[str, Any]] = [{"data": []}]
        self._containers = 0

    def params(self, request: httpx.Request) -> dict[str, str]:
        values = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        if request.content:
            values.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        return values

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = self.params(request)
        self.calls.append((request.method, path, params))
        found = self.override.get((request.method, path))
        if isinstance(found, Exception):
            raise found
        if found is not None:
            return found
        if path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": SHORT_TOKEN, "user_id": int(USER)})
        if path == "/access_token":
            return httpx.Response(200, json={"access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5183944})
        if path == "/refresh_access_token":
            return httpx.Response(
                200, json={"access_token": LONG_TOKEN + "2", "token_type": "bearer", "expires_in": 5183944}
            )
        if path == "/v1.0/me":
            return httpx.Response(
                200,
                json={
                    "id": USER,
                    "username": "alice",
                    "name": "Alice",
                    "threads_profile_picture_url": "https://p/a.jpg",
                },
            )
        if path == f"/v1.0/{USER}/threads" and request.method == "POST":
            self._containers += 1
            return httpx.Response(200, json={"id": f"c{self._containers}"})
        if path == f"/v1.0/{USER}/threads_publish":
            return httpx.Response(200, json={"id": "m1"})
        if path in (f"/v1.0/{USER}/threads", f"/v1.0/{USER}/replies"):
            after = params.get("after")
            return httpx.Response(200, json=self.pages[int(after) if after else 0])
        if path == "/v1.0/m1":
            return httpx.Response(200, json={"id": "m1", "permalink": PERMALINK})
        container = path.removeprefix("/v1.0/")
        script = self.statuses.get(container, ["FINISHED"])
        status = script.pop(0) if len(script) > 1 else script[0]
        body: dict[str, Any] = {"id": container, "status": status}
        if status == "ERROR":
            body["error_message"] = "FAILED_DOWNLOADING_VIDEO"
        return httpx.Response(200, json=body)

    def posted(self, path_end: str) -> list[dict[str, str]]:
        return [p for m, path, p in self.calls if m == "POST" and path.endswith(path_end)]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def tokens() -> TokenSet:
    return TokenSet(access_token=LONG_TOKEN, extra={"userId": USER, "username": "alice"})


def request(text: str = "Hello Threads", **kwargs: Any) -> PublishRequest:
    kwargs.setdefault("deadline", time.monotonic() + 5)
    return PublishRequest(post_id="post_1", text=text, created_at=CREATED, **kwargs)


def image(name: str = "a.jpg", alt: str | None = None) -> MediaItem:
    return MediaItem(kind="image", url=f"https://cdn.example/{name}", content_type="image/jpeg", alt_text=alt)


def video() -> MediaItem:
    return MediaItem(kind="video", url="https://cdn.example/v.mp4", content_type="video/mp4")


async def publish(fake: FakeThreads, req: PublishRequest) -> PublishResult | PublishProgress:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        return await ThreadsAdapter(http, CONFIG).publish(tokens(), req)


async def find(fake: FakeThreads, req: PublishRequest) -> PublishResult | None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        return await ThreadsAdapter(http, CONFIG).find_published(tokens(), req)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crosspost.platforms.threads.POLL_FIRST_SECONDS", 0.01)
    monkeypatch.setattr("crosspost.platforms.threads.POLL_MAX_SECONDS", 0.02)


# ---- registry and connect ----------------------------------------------------------------------


def test_registered_as_adapter_and_oauth() -> None:
    http = httpx.AsyncClient()
    assert isinstance(adapter_for("threads", http, CONFIG), ThreadsAdapter)
    assert isinstance(oauth_auth_for("threads", http, CONFIG), ThreadsAuth)


def test_authorization_url_is_threads_with_the_publishing_scopes() -> None:
    auth = ThreadsAuth(httpx.AsyncClient(), CONFIG)
    url = auth.authorization_url(state="st", redirect_uri="https://app/cb", code_challenge=None, extended_scopes=False)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "threads.net", "/oauth/authorize")
    assert query == {
        "client_id": "threads-app-id",
        "redirect_uri": "https://app/cb",
        "scope": "threads_basic,threads_content_publish,threads_manage_replies",
        "response_type": "code",
        "state": "st",
    }
    extended = auth.authorization_url(state="s", redirect_uri="https://a/cb", code_challenge=None, extended_scopes=True)
    assert parse_qs(urlsplit(extended).query)["scope"] == [
        "threads_basic,threads_content_publish,threads_manage_replies,threads_read_replies,threads_manage_insights"
    ]
    assert auth.uses_pkce is False


def test_sandbox_base_url_replaces_every_host() -> None:
    config = replace(CONFIG, base_url="http://127.0.0.1:9/threads/")
    url = ThreadsAuth(httpx.AsyncClient(), config).authorization_url(
        state="s", redirect_uri="https://a/cb", code_challenge=None, extended_scopes=False
    )
    assert url.startswith("http://127.0.0.1:9/threads/oauth/authorize?")


def test_complete_exchanges_for_a_long_lived_token_and_reads_the_profile() -> None:
    fake = FakeThreads()

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await ThreadsAuth(http, CONFIG).complete(
                code="the-code", redirect_uri="https://app/cb", code_verifier=None
            )

    before = datetime.now(UTC)
    [account] = run(go())
    (m1, p1, exchange), (m2, p2, long), (m3, p3, me) = fake.calls
    assert (m1, p1) == ("POST", "/oauth/access_token")
    assert exchange == {
        "client_id": "threads-app-id",
        "client_secret": "threads-app-secret",
        "code": "the-code",
        "grant_type": "authorization_code",
        "redirect_uri": "https://app/cb",
    }
    assert (m2, p2) == ("GET", "/access_token")
    assert long == {
        "grant_type": "th_exchange_token",
        "client_secret": "threads-app-secret",
        "access_token": SHORT_TOKEN,
    }
    assert (m3, p3) == ("GET", "/v1.0/me")
    assert me["access_token"] == LONG_TOKEN
    assert set(me["fields"].split(",")) >= {"id", "username", "name", "threads_profile_picture_url"}

    assert (account.platform, account.platform_account_id, account.username) == ("threads", USER, "alice")
    assert account.display_name == "Alice"
    assert account.profile_image_url == "https://p/a.jpg"
    assert account.profile_url == "https://www.threads.net/@alice"
    assert account.platform_block is None
    t = account.tokens
    assert t.access_token == LONG_TOKEN and t.refresh_token is None
    assert t.connection_expires_at == t.access_expires_at
    assert t.access_expires_at is not None
    assert timedelta(days=59) < t.access_expires_at - before < timedelta(days=61)
    assert t.refresh_after == t.access_expires_at - RENEW_AHEAD
    assert t.extra["userId"] == USER and t.extra["username"] == "alice"


@pytest.mark.parametrize(
    ("response", "rule"),
    [
        (graph_error(400, 100, 36007, "This authorization code has expired."), "threads.auth.code_invalid"),
        (graph_error(400, 100, 36009), "threads.auth.code_invalid"),
        (graph_error(400, 100), "threads.auth.code_invalid"),
        (graph_error(400, 101, message="Error validating client secret."), "threads.app.invalid"),
    ],
)
def test_a_refused_code_is_a_401_auth_failure(response: httpx.Response, rule: str) -> None:
    fake = FakeThreads()
    fake.override[("POST", "/oauth/access_token")] = response

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await ThreadsAuth(http, CONFIG).complete(code="c", redirect_uri="https://app/cb", code_verifier=None)

    with pytest.raises(AuthExpiredError) as caught:
        run(go())
    assert caught.value.rule == rule
    assert caught.value.http_status == 401
    assert "threads-app-secret" not in str(caught.value)


def test_an_outage_at_connect_stays_unavailable() -> None:
    fake = FakeThreads()
    fake.override[("GET", "/access_token")] = graph_error(503, 2)

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await ThreadsAuth(http, CONFIG).complete(code="c", redirect_uri="https://app/cb", code_verifier=None)

    with pytest.raises(PlatformUnavailableError):
        run(go())


# ---- tokens ------------------------------------------------------------------------------------


def test_renewal_is_30_days_ahead_but_never_before_24_hours() -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    assert renewal_time(issued, issued + timedelta(days=60)) == issued + timedelta(days=30)
    assert renewal_time(issued, issued + timedelta(days=10)) == issued + timedelta(days=1)
    assert renewal_time(issued, issued + timedelta(hours=20)) is None  # too short-lived to renew


def test_long_lived_tokens_without_expiry_have_no_dates() -> None:
    t = long_lived_tokens({"access_token": "THAAx"}, issued_at=CREATED, extra={"userId": USER})
    assert (t.access_expires_at, t.connection_expires_at, t.refresh_after) == (None, None, None)
    with pytest.raises(PlatformUnavailableError):
        long_lived_tokens({}, issued_at=CREATED, extra={})


def test_refresh_renews_the_long_lived_token_and_keeps_the_account() -> None:
    fake = FakeThreads()

    async def go() -> TokenSet:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await ThreadsAdapter(http, CONFIG).refresh(tokens())

    fresh = run(go())
    [(method, path, params)] = fake.calls
    assert (method, path) == ("GET", "/refresh_access_token")
    assert params == {"grant_type": "th_refresh_token", "access_token": LONG_TOKEN}
    assert fresh.access_token == LONG_TOKEN + "2"
    assert fresh.extra["userId"] == USER and fresh.connection_expires_at is not None


@pytest.mark.parametrize("response", [graph_error(400, 190, 460), graph_error(400, 100)])
def test_a_refused_refresh_means_reconnect(response: httpx.Response) -> None:
    fake = FakeThreads()
    fake.override[("GET", "/refresh_access_token")] = response

    async def go() -> TokenSet:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await ThreadsAdapter(http, CONFIG).refresh(tokens())

    with pytest.raises(AuthExpiredError) as caught:
        run(go())
    assert caught.value.rule == "threads.auth.expired"
    assert LONG_TOKEN not in str(caught.value)


# ---- publish -----------------------------------------------------------------------------------


def test_text_post_is_a_text_container_then_threads_publish() -> None:
    fake = FakeThreads()
    result = run(publish(fake, request("Hello")))
    assert result == PublishResult(uri="m1", url=PERMALINK)
    [container] = fake.posted("/threads")
    assert container == {"media_type": "TEXT", "text": "Hello", "access_token": LONG_TOKEN}
    assert fake.posted("/threads_publish") == [{"creation_id": "c1", "access_token": LONG_TOKEN}]
    assert [(m, p) for m, p, _ in fake.calls] == [
        ("POST", f"/v1.0/{USER}/threads"),
        ("GET", "/v1.0/c1"),
        ("POST", f"/v1.0/{USER}/threads_publish"),
        ("GET", "/v1.0/m1"),
    ]


def test_single_image_and_video_carry_their_url_and_alt_text() -> None:
    fake = FakeThreads()
    run(publish(fake, request("pic", media=(image(alt="a cat"),))))
    run(publish(fake, request("clip", media=(video(),))))
    first, second = fake.posted("/threads")
    assert first == {
        "media_type": "IMAGE",
        "image_url": "https://cdn.example/a.jpg",
        "alt_text": "a cat",
        "text": "pic",
        "access_token": LONG_TOKEN,
    }
    assert second["media_type"] == "VIDEO" and second["video_url"] == "https://cdn.example/v.mp4"


def test_carousel_children_first_then_the_parent() -> None:
    fake = FakeThreads()
    run(publish(fake, request("album", media=(image("1.jpg"), video(), image("2.jpg")))))
    children, parent = fake.posted("/threads")[:3], fake.posted("/threads")[3]
    assert [c["is_carousel_item"] for c in children] == ["true", "true", "true"]
    assert [c["media_type"] for c in children] == ["IMAGE", "VIDEO", "IMAGE"]
    assert all("text" not in c for c in children)
    assert parent == {"media_type": "CAROUSEL", "children": "c1,c2,c3", "text": "album", "access_token": LONG_TOKEN}
    assert fake.posted("/threads_publish") == [{"creation_id": "c4", "access_token": LONG_TOKEN}]


def test_reply_to_id_goes_on_the_top_container() -> None:
    fake = FakeThreads()
    run(publish(fake, request("re", media=(image(), image()), options={"threads": {"replyToId": "1801"}})))
    containers = fake.posted("/threads")
    assert [c.get("reply_to_id") for c in containers] == [None, None, "1801"]


def test_reply_to_a_missing_post_names_the_option() -> None:
    fake = FakeThreads()
    fake.override[("POST", f"/v1.0/{USER}/threads")] = graph_error(400, 100, 33)
    with pytest.raises(ContentRejectedError) as caught:
        run(publish(fake, request(options={"threads": {"replyToId": "999"}})))
    assert (caught.value.rule, caught.value.field) == ("threads.reply_to.not_found", "threads.replyToId")


def test_processing_past_the_deadline_returns_progress_then_resumes() -> None:
    fake = FakeThreads()
    fake.statuses["c1"] = ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]
    first = run(publish(fake, request("clip", media=(video(),), deadline=None)))
    assert isinstance(first, PublishProgress)
    assert first.state == {"children": [], "container": "c1"}
    assert first.check_after == 30.0  # video: Meta's advice
    assert fake.posted("/threads_publish") == []

    resumed = run(publish(fake, request("clip", media=(video(),), progress=first.state)))
    assert resumed == PublishResult(uri="m1", url=PERMALINK)
    assert len(fake.posted("/threads")) == 1  # the container was not made again
    assert fake.posted("/threads_publish") == [{"creation_id": "c1", "access_token": LONG_TOKEN}]


def test_carousel_progress_keeps_the_children() -> None:
    fake = FakeThreads()
    fake.statuses["c2"] = ["IN_PROGRESS", "FINISHED"]
    first = run(publish(fake, request("a", media=(image(), video()), deadline=None)))
    assert isinstance(first, PublishProgress)
    assert first.state == {"children": ["c1", "c2"], "container": None}
    run(publish(fake, request("a", media=(image(), video()), progress=first.state)))
    assert len(fake.posted("/threads")) == 3  # two children once, then the parent
    assert fake.posted("/threads_publish") == [{"creation_id": "c3", "access_token": LONG_TOKEN}]


def test_resume_of_a_published_container_finds_the_post_instead_of_publishing_again() -> None:
    fake = FakeThreads()
    fake.statuses["c7"] = ["PUBLISHED"]
    fake.pages = [
        {
            "data": [
                {"id": "m9", "text": "Hello Threads", "timestamp": "2026-05-08T12:00:05+0000", "permalink": PERMALINK}
            ]
        }
    ]
    result = run(publish(fake, request(progress={"container": "c7"})))
    assert result == PublishResult(uri="m9", url=PERMALINK)
    assert fake.posted("/threads_publish") == [] and fake.posted("/threads") == []


def test_container_error_refuses_the_post_with_the_reason() -> None:
    fake = FakeThreads()
    fake.statuses["c1"] = ["ERROR"]
    with pytest.raises(ContentRejectedError) as caught:
        run(publish(fake, request(media=(video(),))))
    assert caught.value.rule == "threads.container.error"
    assert caught.value.platform_response == {"status": "ERROR", "error_message": "FAILED_DOWNLOADING_VIDEO"}
    assert fake.posted("/threads_publish") == []


def test_an_expired_container_starts_over_once() -> None:
    fake = FakeThreads()
    fake.statuses["c7"] = ["EXPIRED"]
    result = run(publish(fake, request(progress={"container": "c7"})))
    assert result == PublishResult(uri="m1", url=PERMALINK)
    assert len(fake.posted("/threads")) == 1  # a new container, c1
    assert fake.posted("/threads_publish") == [{"creation_id": "c1", "access_token": LONG_TOKEN}]


def test_containers_expiring_twice_give_up() -> None:
    fake = FakeThreads()
    fake.statuses["c1"] = ["EXPIRED"]
    fake.statuses["c9"] = ["EXPIRED"]
    with pytest.raises(ContentRejectedError) as caught:
        run(publish(fake, request(progress={"container": "c9"})))
    assert caught.value.rule == "threads.container.expired"


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ReadTimeout("slow"), OutcomeUnknownError),
        (httpx.RemoteProtocolError("dropped"), OutcomeUnknownError),
        (httpx.ConnectError("refused"), PlatformUnavailableError),
        (graph_error(500, 1), OutcomeUnknownError),
        (graph_error(503, 2), PlatformUnavailableError),
        (graph_error(400, 190), AuthExpiredError),
    ],
)
def test_failures_of_threads_publish(failure: httpx.Response | Exception, kind: type[PlatformError]) -> None:
    fake = FakeThreads()
    fake.override[("POST", f"/v1.0/{USER}/threads_publish")] = failure
    with pytest.raises(kind) as caught:
        run(publish(fake, request()))
    assert LONG_TOKEN not in f"{caught.value} {caught.value.platform_response}"


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), graph_error(500, 1)])
def test_a_lost_container_answer_is_not_sent(failure: httpx.Response | Exception) -> None:
    # A container is invisible: making another one is harmless, so this is "retry", not "reconcile".
    fake = FakeThreads()
    fake.override[("POST", f"/v1.0/{USER}/threads")] = failure
    with pytest.raises(PlatformUnavailableError):
        run(publish(fake, request()))


def test_a_failed_permalink_costs_only_the_url() -> None:
    fake = FakeThreads()
    fake.override[("GET", "/v1.0/m1")] = graph_error(503, 2)
    assert run(publish(fake, request())) == PublishResult(uri="m1", url=None)


def test_media_without_a_url_is_refused_before_anything_is_sent() -> None:
    fake = FakeThreads()
    with pytest.raises(ContentRejectedError) as caught:
        run(publish(fake, request(media=(MediaItem(kind="image", data=b"x"),))))
    assert caught.value.rule == "threads.media.url_missing"
    assert fake.calls == []


def test_tokens_without_the_user_id_need_a_reconnect() -> None:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(FakeThreads())) as http:
            return await ThreadsAdapter(http, CONFIG).publish(TokenSet(access_token="x"), request())

    with pytest.raises(AuthExpiredError):
        run(go())


# ---- reconcile ---------------------------------------------------------------------------------


def post(media_id: str, text: str, at: str) -> dict[str, Any]:
    return {
        "id": media_id,
        "text": text,
        "timestamp": at,
        "permalink": f"https://www.threads.net/@alice/post/{media_id}",
    }


def test_find_published_matches_text_since_the_post_was_created_oldest_first() -> None:
    fake = FakeThreads()
    fake.pages = [
        {
            "data": [
                post("m3", "Hello Threads", "2026-05-08T12:09:00+0000"),
                post("m2", "other", "2026-05-08T12:05:00+0000"),
            ],
            "paging": {"cursors": {"after": "1"}, "next": "https://graph.threads.net/next"},
        },
        {
            "data": [
                post("m1", "Hello Threads", "2026-05-08T12:01:00+0000"),
                post("m0", "Hello Threads", "2026-05-07T09:00:00+0000"),
            ]
        },
    ]
    found = run(find(fake, request()))
    assert found == PublishResult(uri="m1", url="https://www.threads.net/@alice/post/m1")
    lists = [p for m, path, p in fake.calls if path == f"/v1.0/{USER}/threads"]
    assert lists[0]["since"] == str(int((CREATED - timedelta(minutes=5)).timestamp()))
    assert set(lists[0]["fields"].split(",")) >= {"id", "text", "timestamp", "permalink"}
    assert lists[1]["after"] == "1"


def test_find_published_looks_among_replies_for_a_reply() -> None:
    fake = FakeThreads()
    fake.pages = [{"data": [post("m5", "Hello Threads", "2026-05-08T12:01:00+0000")]}]
    found = run(find(fake, request(options={"threads": {"replyToId": "1801"}})))
    assert found is not None and found.uri == "m5"
    assert any(path == f"/v1.0/{USER}/replies" for _, path, _ in fake.calls)


def test_find_published_returns_none_when_nothing_matches() -> None:
    fake = FakeThreads()
    fake.pages = [{"data": [post("m2", "other text", "2026-05-08T12:05:00+0000")]}]
    assert run(find(fake, request())) is None


def test_an_unpublished_container_is_conclusive() -> None:
    fake = FakeThreads()
    fake.statuses["c1"] = ["FINISHED"]
    fake.pages = [{"data": [post("m3", "Hello Threads", "2026-05-08T12:09:00+0000")]}]  # someone else's twin
    assert run(find(fake, request(progress={"container": "c1"}))) is None
    assert all(path != f"/v1.0/{USER}/threads" for _, path, _ in fake.calls)


def test_a_published_container_is_looked_up_in_the_list() -> None:
    fake = FakeThreads()
    fake.statuses["c1"] = ["PUBLISHED"]
    fake.pages = [{"data": [post("m3", "Hello Threads", "2026-05-08T12:09:00+0000")]}]
    found = run(find(fake, request(progress={"container": "c1"})))
    assert found is not None and found.uri == "m3"


def test_a_refused_long_lived_exchange_is_an_auth_failure() -> None:
    fake = FakeThreads()
    fake.override[("GET", "/access_token")] = graph_error(400, 190)

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await ThreadsAuth(http, CONFIG).complete(code="c", redirect_uri="https://app/cb", code_verifier=None)

    with pytest.raises(AuthExpiredError) as caught:
        run(go())
    assert (caught.value.rule, caught.value.http_status) == ("threads.auth.invalid", 401)
    assert SHORT_TOKEN not in f"{caught.value} {caught.value.platform_response}"


def test_replies_cannot_be_listed_without_their_permission() -> None:
    # threads_read_replies comes with extendedScopes only: the look-up then cannot tell (and
    # must not look like an expired token, which would make the caller refresh for nothing).
    fake = FakeThreads()
    fake.override[("GET", f"/v1.0/{USER}/replies")] = graph_error(403, 10)
    with pytest.raises(OutcomeUnknownError) as caught:
        run(find(fake, request(options={"threads": {"replyToId": "1801"}})))
    assert caught.value.rule == "threads.lookup.not_permitted"
