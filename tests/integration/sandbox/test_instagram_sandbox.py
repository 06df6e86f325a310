"""InstagramAdapter against the simulated Instagram (``/instagram``), connected through the
Facebook login: containers and their processing, carousels, the media rules Instagram enforces,
the publishing quota, resuming without publishing twice, and every fault."""

from __future__ import annotations

from dataclasses import replace

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
from crosspost.platforms.base import PublishProgress, PublishResult
from local.sandbox import SandboxServer
from tests.integration.sandbox.meta_client import MetaSandbox, post_request

IG = "17841400000000001"


@pytest.fixture
def meta(sandbox_server: SandboxServer) -> MetaSandbox:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return MetaSandbox(sandbox_server)


def test_single_image(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    request = post_request("A cake #bakery", meta.image(alt_text="a cake"))
    result = meta.publish("instagram", account.tokens, request)
    assert result.url and result.url.startswith("https://www.instagram.com/p/")
    [media] = meta.posts("instagram")
    assert (media["id"], media["igUserId"], media["mediaType"], media["caption"]) == (
        result.uri,
        IG,
        "IMAGE",
        "A cake #bakery",
    )
    assert media["mediaUrl"].endswith("/square.jpg") and media["altText"] == "a cake"
    assert media["media"] == {"contentType": "image/jpeg", "width": 1080, "height": 1080, "size": 20000}
    assert meta.find("instagram", account.tokens, request) == result
    profile = meta.graph("instagram", "GET", IG, account.tokens.access_token, params={"fields": "id,username,name"})
    assert profile.json() == {"id": IG, "username": "sandbox.bakery", "name": "Sandbox Bakery"}


@pytest.mark.parametrize(
    ("name", "rule", "code"),
    [
        ("image.png", "instagram.media.mime_allowed", 9004),
        ("wide.jpg", "instagram.media.aspect_ratio", 36003),
        ("big.jpg", "instagram.media.too_large", 36000),
        ("missing.jpg", "instagram.media.unreachable", 9004),
    ],
)
def test_images_instagram_refuses(meta: MetaSandbox, name: str, rule: str, code: int) -> None:
    account = meta.account("instagram")
    with pytest.raises(ContentRejectedError) as caught:
        meta.publish("instagram", account.tokens, post_request("x", meta.image(name)))
    assert caught.value.rule == rule and caught.value.platform_response["code"] == code
    assert meta.posts("instagram") == []


def test_portrait_4_5_is_accepted(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.publish("instagram", account.tokens, post_request("tall", meta.image("portrait.jpg")))
    assert len(meta.posts("instagram")) == 1


def test_a_reel_that_processes_past_the_budget(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.settings(videoPolls=1000, videoSeconds=3600)
    request = post_request("A reel", meta.video())
    first = meta.attempt("instagram", account.tokens, request)  # no deadline: look once
    assert isinstance(first, PublishProgress) and set(first.state) == {"containerId"}
    again = meta.attempt("instagram", account.tokens, replace(request, progress=first.state))
    assert isinstance(again, PublishProgress) and again.state == first.state
    meta.settings(videoPolls=0, videoSeconds=0)
    result = meta.attempt("instagram", account.tokens, replace(request, progress=again.state))
    assert isinstance(result, PublishResult) and result.url and "/reel/" in result.url
    [media] = meta.posts("instagram")
    assert (media["mediaType"], media["mediaProductType"], media["containerId"]) == (
        "VIDEO",
        "REELS",
        first.state["containerId"],
    )
    containers = meta.control("instagram", "GET", "containers").json()["containers"]
    assert len(containers) == 1 and containers[0]["status"] == "PUBLISHED"


def test_a_reel_within_the_budget(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    result = meta.publish("instagram", account.tokens, post_request("Quick reel", meta.video()))
    assert meta.posts("instagram")[0]["id"] == result.uri


def test_a_video_that_is_not_a_video_ends_in_a_container_error(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    with pytest.raises(ContentRejectedError) as caught:
        meta.publish("instagram", account.tokens, post_request("x", meta.video("square.jpg")))
    assert caught.value.rule == "instagram.media.mime_allowed"
    assert caught.value.platform_response["status_code"] == "ERROR"
    with pytest.raises(ContentRejectedError) as unreachable:
        meta.publish("instagram", account.tokens, post_request("y", meta.video("gone.mp4")))
    assert unreachable.value.rule == "instagram.media.unreachable"
    assert meta.posts("instagram") == []


def test_carousel(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    media = (meta.image(alt_text="one"), meta.image("portrait.jpg"), meta.video())
    result = meta.publish("instagram", account.tokens, post_request("Three things", *media))
    [post] = meta.posts("instagram")
    assert post["id"] == result.uri and post["mediaType"] == "CAROUSEL_ALBUM"
    assert [(c["mediaType"], c["mediaUrl"].rsplit("/", 1)[1]) for c in post["children"]] == [
        ("IMAGE", "square.jpg"),
        ("IMAGE", "portrait.jpg"),
        ("VIDEO", "clip.mp4"),
    ]
    assert post["children"][0]["altText"] == "one"


def test_carousel_rules_on_graph(meta: MetaSandbox) -> None:
    token = meta.account("instagram").tokens.access_token
    child = meta.graph(
        "instagram",
        "POST",
        f"{IG}/media",
        token,
        data={"image_url": meta.file("square.jpg"), "is_carousel_item": "true"},
    ).json()["id"]
    lonely = meta.graph("instagram", "POST", f"{IG}/media", token, data={"media_type": "CAROUSEL", "children": child})
    assert lonely.status_code == 400 and lonely.json()["error"]["error_subcode"] == 2207028
    # a carousel item cannot be published on its own
    alone = meta.graph("instagram", "POST", f"{IG}/media_publish", token, data={"creation_id": child})
    assert alone.status_code == 400


def test_media_publish_waits_for_processing(meta: MetaSandbox) -> None:
    token = meta.account("instagram").tokens.access_token
    meta.settings(videoPolls=1000, videoSeconds=3600)
    container = meta.graph(
        "instagram", "POST", f"{IG}/media", token, data={"media_type": "REELS", "video_url": meta.file("clip.mp4")}
    ).json()["id"]
    status = meta.graph("instagram", "GET", container, token, params={"fields": "status_code,status"}).json()
    assert status == {"id": container, "status_code": "IN_PROGRESS", "status": "In Progress"}
    early = meta.graph("instagram", "POST", f"{IG}/media_publish", token, data={"creation_id": container})
    assert early.status_code == 400
    assert (early.json()["error"]["code"], early.json()["error"]["error_subcode"]) == (9007, 2207027)


def test_publishing_quota(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.settings(publishingQuota=1)
    meta.publish("instagram", account.tokens, post_request("one", meta.image()))
    with pytest.raises(RateLimitedError) as caught:
        meta.publish("instagram", account.tokens, post_request("two", meta.image()))
    assert caught.value.rule == "instagram.publishing_limit" and caught.value.retry_after
    limit = meta.graph(
        "instagram",
        "GET",
        f"{IG}/content_publishing_limit",
        account.tokens.access_token,
        params={"fields": "quota_usage,config"},
    ).json()
    assert limit == {"data": [{"quota_usage": 1, "config": {"quota_total": 1, "quota_duration": 86400}}]}


def test_resuming_a_container_that_was_published_does_not_publish_again(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.settings(videoPolls=1000, videoSeconds=3600)
    request = post_request("Resumed", meta.video())
    progress = meta.attempt("instagram", account.tokens, request)
    assert isinstance(progress, PublishProgress)
    meta.settings(videoPolls=0, videoSeconds=0)
    meta.fault("instagram", status=500, mode="after_commit")  # media_publish goes out, the answer is lost
    with pytest.raises(OutcomeUnknownError):
        meta.attempt("instagram", account.tokens, replace(request, progress=progress.state))
    again = meta.attempt("instagram", account.tokens, replace(request, progress=progress.state))
    [media] = meta.posts("instagram")
    assert isinstance(again, PublishResult) and again.uri == media["id"]
    assert meta.find("instagram", account.tokens, replace(request, progress=progress.state)) == again


def test_expired_containers_start_over(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.settings(videoPolls=1000, videoSeconds=3600)
    request = post_request("Late", meta.video())
    progress = meta.attempt("instagram", account.tokens, request)
    assert isinstance(progress, PublishProgress)
    meta.control("instagram", "POST", "expire-containers").raise_for_status()
    meta.settings(videoPolls=0, videoSeconds=0)
    result = meta.publish("instagram", account.tokens, replace(request, progress=progress.state))
    [media] = meta.posts("instagram")
    assert media["id"] == result.uri and media["containerId"] != progress.state["containerId"]


def test_declined_publish_permission(meta: MetaSandbox) -> None:
    account = meta.account("instagram", "no_publish")
    with pytest.raises(AuthExpiredError) as caught:
        meta.publish("instagram", account.tokens, post_request("x", meta.image()))
    assert caught.value.rule == "instagram.permission.missing" and caught.value.platform_response["code"] == 10


def test_revoked_login(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.control("instagram", "POST", "revoke-tokens").raise_for_status()
    with pytest.raises(AuthExpiredError) as caught:
        meta.publish("instagram", account.tokens, post_request("x", meta.image()))
    assert caught.value.rule == "instagram.auth.expired"
    with pytest.raises(AuthExpiredError):
        meta.refresh("instagram", account.tokens)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ContentRejectedError),
        (401, AuthExpiredError),
        (429, RateLimitedError),
        (500, OutcomeUnknownError),
        (503, PlatformUnavailableError),
    ],
)
def test_faults_on_media_publish(meta: MetaSandbox, status: int, kind: type[PlatformError]) -> None:
    account = meta.account("instagram")
    meta.fault("instagram", status=status, after=1)  # the container passes, media_publish faults
    with pytest.raises(kind):
        meta.publish("instagram", account.tokens, post_request("x", meta.image()))
    assert meta.posts("instagram") == []
    applied = meta.control("instagram", "GET", "fault-log").json()["applied"]
    assert applied[0]["path"].endswith("/media_publish")


def test_a_fault_on_the_container_is_not_sent(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    meta.fault("instagram", status=500)  # POST /media: a container is invisible, so nothing went out
    with pytest.raises(PlatformUnavailableError):
        meta.publish("instagram", account.tokens, post_request("x", meta.image()))


def test_timeout_on_media_publish(meta: MetaSandbox) -> None:
    account = meta.account("instagram")
    request = post_request("x", meta.image())
    meta.fault("instagram", mode="timeout", holdSeconds=2, after=1)
    with pytest.raises(OutcomeUnknownError):
        meta.publish("instagram", account.tokens, request, timeout=1)
    assert meta.find("instagram", account.tokens, request) is None
