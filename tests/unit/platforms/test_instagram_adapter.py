"""InstagramAdapter against a scripted Graph: preflight quirks, the container → publish flow,
resuming from ``PublishProgress`` without publishing twice, container errors, and the lookup."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest

from crosspost.errors import ContentRejectedError, OutcomeUnknownError, PlatformUnavailableError
from crosspost.platforms.base import MediaItem, PlatformConfig, PublishProgress, PublishRequest, PublishResult, TokenSet
from crosspost.platforms.instagram import InstagramAdapter, container_error_rule, hashtag_count, mention_count

T = TypeVar("T")
TOKENS = TokenSet(access_token="EAApagetoken000000000000000001", extra={"igUserId": "178", "pageId": "111"})
NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def err(status: int, code: int, subcode: int | None = None) -> httpx.Response:
    error: dict[str, Any] = {"message": "msg", "type": "OAuthException", "code": code, "fbtrace_id": "A"}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


class FakeInstagram:
    """Containers with scripted status sequences; records what was created and published."""

    def __init__(self, statuses: dict[str, list[str]] | None = None, *, publish: httpx.Response | None = None) -> None:
        self.statuses = statuses or {}
        self.forms: list[dict[str, str]] = []
        self.published: list[str] = []
        self.publish_answer = publish
        self.media: list[dict[str, Any]] = []
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v21.0")
        self.calls.append(f"{request.method} {path}")
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if request.method == "POST" and path == "/178/media":
            container = f"c{len(self.forms) + 1}"
            self.forms.append(form)
            self.statuses.setdefault(container, ["FINISHED"])
            return ok({"id": container})
        if request.method == "POST" and path == "/178/media_publish":
            if self.publish_answer is not None:
                return self.publish_answer
            self.published.append(form["creation_id"])
            media_id = f"m{len(self.published)}"
            self.media.insert(
                0,
                {
                    "id": media_id,
                    "caption": "Hello IG",
                    "timestamp": NOW.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                    "permalink": f"https://www.instagram.com/p/{media_id}/",
                },
            )
            self.statuses[form["creation_id"]] = ["PUBLISHED"]
            return ok({"id": media_id})
        if request.method == "GET" and path == "/178/media":
            return ok({"data": self.media})
        if request.method == "GET" and path.startswith("/m"):
            return ok({"id": path[1:], "permalink": f"https://www.instagram.com/p/{path[1:]}/"})
        if request.method == "GET" and path.startswith("/c"):
            sequence = self.statuses[path[1:]]
            status = sequence.pop(0) if len(sequence) > 1 else sequence[0]
            body = {"id": path[1:], "status_code": status}
            if status == "ERROR":
                body["status"] = "Error: Media upload has failed with error code 2207026"
            return ok(body)
        return err(400, 2500)


def call(fake: FakeInstagram, work: Callable[[InstagramAdapter], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        transport = httpx.MockTransport(fake)
        async with httpx.AsyncClient(transport=transport) as http:
            return await work(InstagramAdapter(http, PlatformConfig()))

    return asyncio.run(go())


def image(url: str = "https://media/a.jpg", **kw: Any) -> MediaItem:
    return MediaItem(kind="image", url=url, **kw)


def video(url: str = "https://media/v.mp4") -> MediaItem:
    return MediaItem(kind="video", url=url, content_type="video/mp4")


def request(*media: MediaItem, text: str = "Hello IG", wait: float | None = 3.0, **kw: Any) -> PublishRequest:
    deadline = None if wait is None else time.monotonic() + wait
    return PublishRequest(post_id="post_1", text=text, created_at=NOW, media=media, deadline=deadline, **kw)


# ---- preflight -----------------------------------------------------------------------------------


def test_counting_hashtags_and_mentions() -> None:
    assert hashtag_count("#a #b c#d &#39; #") == 2
    assert mention_count("@alice hi @bob.smith mail@example.com") == 2


def test_preflight_quirks() -> None:
    many_tags = " ".join(f"#t{n}" for n in range(31))
    many_mentions = " ".join(f"@u{n}" for n in range(21))
    assert [d.rule for d in InstagramAdapter.preflight(request(image(), text=many_tags))] == [
        "instagram.text.hashtags_max"
    ]
    assert [d.rule for d in InstagramAdapter.preflight(request(image(), text=many_mentions))] == [
        "instagram.text.mentions_max"
    ]
    assert InstagramAdapter.preflight(request(image(), text="#one @two")) == []


def test_capabilities() -> None:
    caps = InstagramAdapter.capabilities
    assert (caps.media_required, caps.text_max_graphemes, caps.max_media, caps.media_transfer) == (
        True,
        2200,
        10,
        "url",
    )
    assert caps.image_mime_types == frozenset({"image/jpeg"}) and caps.image_max_bytes == 8 * 1024 * 1024
    assert caps.image_aspect_ratio == (0.8, 1.91) and caps.lookup and not caps.idempotent_create


# ---- publish -------------------------------------------------------------------------------------


def test_single_image() -> None:
    fake = FakeInstagram()
    result = call(fake, lambda a: a.publish(TOKENS, request(image(alt_text="a cake"))))
    assert result == PublishResult(uri="m1", url="https://www.instagram.com/p/m1/")
    assert fake.forms == [{"image_url": "https://media/a.jpg", "caption": "Hello IG", "alt_text": "a cake"}]
    assert fake.published == ["c1"]


@pytest.mark.parametrize(
    ("media", "rule"),
    [((), "instagram.media.required"), (tuple([image()] * 11), "instagram.media.count_max")],
)
def test_media_count_is_checked_before_any_call(media: tuple[MediaItem, ...], rule: str) -> None:
    fake = FakeInstagram()
    with pytest.raises(ContentRejectedError) as caught:
        call(fake, lambda a: a.publish(TOKENS, request(*media)))
    assert caught.value.rule == rule and fake.calls == []


def test_a_reel_that_outlasts_the_budget_returns_progress_and_resumes() -> None:
    fake = FakeInstagram({"c1": ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]})
    first = call(fake, lambda a: a.publish(TOKENS, request(video(), wait=None)))
    assert isinstance(first, PublishProgress) and first.state == {"containerId": "c1"} and first.check_after > 0
    assert fake.forms == [
        {"media_type": "REELS", "video_url": "https://media/v.mp4", "caption": "Hello IG", "share_to_feed": "true"}
    ]
    second = call(fake, lambda a: a.publish(TOKENS, request(video(), wait=None, progress=first.state)))
    assert isinstance(second, PublishProgress)
    third = call(fake, lambda a: a.publish(TOKENS, request(video(), wait=None, progress=second.state)))
    assert isinstance(third, PublishResult) and third.uri == "m1"
    assert len(fake.forms) == 1 and fake.published == ["c1"]  # resumed, never re-created or re-published


def test_polling_within_the_deadline() -> None:
    fake = FakeInstagram({"c1": ["IN_PROGRESS", "FINISHED"]})
    result = call(fake, lambda a: a.publish(TOKENS, request(video(), wait=5)))
    assert isinstance(result, PublishResult) and fake.published == ["c1"]


def test_a_resumed_container_that_was_already_published_is_not_published_again() -> None:
    fake = FakeInstagram({"c7": ["PUBLISHED"]})
    fake.media = [
        {
            "id": "m9",
            "caption": "Hello IG",
            "timestamp": (NOW + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "permalink": "https://www.instagram.com/p/m9/",
        }
    ]
    result = call(fake, lambda a: a.publish(TOKENS, request(video(), progress={"containerId": "c7"})))
    assert result == PublishResult(uri="m9", url="https://www.instagram.com/p/m9/")
    assert fake.published == [] and fake.forms == []


def test_a_published_container_whose_media_is_not_listed_is_outcome_unknown() -> None:
    fake = FakeInstagram({"c7": ["PUBLISHED"]})
    with pytest.raises(OutcomeUnknownError):
        call(fake, lambda a: a.publish(TOKENS, request(video(), progress={"containerId": "c7"})))
    assert fake.published == []


def test_an_expired_container_starts_over() -> None:
    fake = FakeInstagram({"c0": ["EXPIRED"]})
    result = call(fake, lambda a: a.publish(TOKENS, request(image(), progress={"containerId": "c0"})))
    assert isinstance(result, PublishResult) and fake.published == ["c1"]


def test_container_error_is_rejected_with_the_subcode_rule() -> None:
    fake = FakeInstagram({"c1": ["ERROR"]})
    with pytest.raises(ContentRejectedError) as caught:
        call(fake, lambda a: a.publish(TOKENS, request(video())))
    assert caught.value.rule == "instagram.media.mime_allowed" and fake.published == []
    assert caught.value.platform_response["status_code"] == "ERROR"
    assert container_error_rule("Error: something odd")[0] == "instagram.container.error"
    assert container_error_rule(None)[0] == "instagram.container.error"


def test_carousel_children_then_carousel_container() -> None:
    fake = FakeInstagram({"c2": ["IN_PROGRESS", "FINISHED"]})
    media = (image("https://media/1.jpg", alt_text="one"), video("https://media/2.mp4"))
    result = call(fake, lambda a: a.publish(TOKENS, request(*media, wait=5)))
    assert isinstance(result, PublishResult)
    assert fake.forms == [
        {"image_url": "https://media/1.jpg", "is_carousel_item": "true", "alt_text": "one"},
        {"media_type": "VIDEO", "video_url": "https://media/2.mp4", "is_carousel_item": "true"},
        {"media_type": "CAROUSEL", "children": "c1,c2", "caption": "Hello IG"},
    ]
    assert fake.published == ["c3"]


def test_carousel_progress_keeps_the_children() -> None:
    fake = FakeInstagram({"c2": ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]})
    media = (image(), video())
    first = call(fake, lambda a: a.publish(TOKENS, request(*media, wait=None)))
    assert isinstance(first, PublishProgress) and first.state == {"children": ["c1", "c2"]}
    second = call(fake, lambda a: a.publish(TOKENS, request(*media, wait=None, progress=first.state)))
    assert isinstance(second, PublishProgress)
    done = call(fake, lambda a: a.publish(TOKENS, request(*media, wait=None, progress=second.state)))
    assert isinstance(done, PublishResult)
    assert len(fake.forms) == 3 and fake.published == ["c3"]


@pytest.mark.parametrize(
    ("answer", "kind", "rule"),
    [
        (err(500, 1), OutcomeUnknownError, "instagram.outcome_unknown"),
        (err(503, 2), PlatformUnavailableError, "instagram.unavailable"),
        (err(400, 9, 2207042), None, "instagram.publishing_limit"),
        (err(400, 9007, 2207027), PlatformUnavailableError, "instagram.container.not_ready"),
    ],
)
def test_media_publish_failures(answer: httpx.Response, kind: type[Exception] | None, rule: str) -> None:
    from crosspost.errors import PlatformError

    fake = FakeInstagram(publish=answer)
    with pytest.raises(PlatformError) as caught:
        call(fake, lambda a: a.publish(TOKENS, request(image())))
    if kind is not None:
        assert type(caught.value) is kind
    assert caught.value.rule == rule


def test_media_publish_timeout_is_outcome_unknown() -> None:
    fake = FakeInstagram()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/media_publish"):
            raise httpx.ReadTimeout("slow")
        return fake(request)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            await InstagramAdapter(http).publish(TOKENS, request(image()))

    with pytest.raises(OutcomeUnknownError):
        asyncio.run(go())


# ---- find_published -----------------------------------------------------------------------------


def listed(caption: str, at: datetime, media_id: str = "m5") -> dict[str, Any]:
    return {
        "id": media_id,
        "caption": caption,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink": f"https://www.instagram.com/p/{media_id}/",
    }


def test_find_published_without_a_container_matches_caption_and_time() -> None:
    fake = FakeInstagram()
    fake.media = [
        listed("Other", NOW, "m6"),
        listed("Hello IG", NOW + timedelta(seconds=2)),
        listed("Hello IG", NOW - timedelta(days=1), "m1"),
    ]
    found = call(fake, lambda a: a.find_published(TOKENS, request(image())))
    assert found == PublishResult(uri="m5", url="https://www.instagram.com/p/m5/")
    fake.media = fake.media[2:]
    assert call(fake, lambda a: a.find_published(TOKENS, request(image()))) is None


@pytest.mark.parametrize("status", ["FINISHED", "IN_PROGRESS", "ERROR"])
def test_find_published_trusts_an_unpublished_container(status: str) -> None:
    fake = FakeInstagram({"c4": [status]})
    fake.media = [listed("Hello IG", NOW)]  # a post with the same caption that is not this one
    found = call(fake, lambda a: a.find_published(TOKENS, request(image(), progress={"containerId": "c4"})))
    assert found is None and "GET /178/media" not in fake.calls


def test_find_published_with_a_published_container() -> None:
    fake = FakeInstagram({"c4": ["PUBLISHED"]})
    fake.media = [listed("Hello IG", NOW)]
    found = call(fake, lambda a: a.find_published(TOKENS, request(image(), progress={"containerId": "c4"})))
    assert found is not None and found.uri == "m5"


def test_refresh_is_impossible() -> None:
    from crosspost.errors import AuthExpiredError

    with pytest.raises(AuthExpiredError):
        call(FakeInstagram(), lambda a: a.refresh(TOKENS))
    with pytest.raises(AuthExpiredError):
        call(FakeInstagram(), lambda a: a.publish(replace(TOKENS, extra={}), request(image())))
