"""Media through the real API and publisher handlers, on moto (S3 + DynamoDB), against the Bluesky
sandbox: uploads (inline and presigned), a post's media (mediaId, inline bytes, URL), the checks
at create (stage A, and stage B where the bytes are known) and at publish (URL media)."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from crosspost.platforms.base import PublishRequest, PublishResult, TokenSet
from crosspost.platforms.bluesky import BlueskyAdapter
from crosspost.resources import Env
from local.sandbox import bluesky as sandbox_bluesky
from local.sandbox.files import jpeg, mp4, png
from tests.integration.harness import ApiClient, HttpResponse, QueueDriver

PNG = png(800, 600)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def sandbox_url(with_sandbox: Any) -> str:
    return str(with_sandbox.url)


@pytest.fixture
def account(api: ApiClient, sandbox_url: str) -> dict[str, Any]:
    credentials = {"handle": sandbox_bluesky.SEED_HANDLE, "appPassword": sandbox_bluesky.SEED_APP_PASSWORD}
    response = api.post("/v1/accounts/connect", {"platform": "bluesky", "credentials": credentials})
    assert response.status == 201, response.json
    return dict(response.json)


def post(api: ApiClient, account: dict[str, Any], *media: dict[str, Any], text: str = "pics") -> HttpResponse:
    return api.post(
        "/v1/posts", {"account": {"platform": "bluesky", "id": account["id"]}, "text": text, "media": media}
    )


def sandbox_posts(sandbox_url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sandbox_url}/_sandbox/bluesky/posts").json()["posts"])


def embedded_images(record: dict[str, Any]) -> list[dict[str, Any]]:
    return list(record["record"]["embed"]["images"])


def s3(aws: dict[str, str]) -> Any:
    return boto3.client("s3", region_name="us-east-1")


def bucket(aws: dict[str, str]) -> str:
    return aws[Env.MEDIA_BUCKET.value]


def object_keys(aws: dict[str, str]) -> list[str]:
    listed = s3(aws).list_objects_v2(Bucket=bucket(aws))
    return sorted(o["Key"] for o in listed.get("Contents", []))


def error(response: HttpResponse) -> tuple[int, str, str]:
    body = response.json["error"]
    return response.status, body["code"], body["rule"]


def pending(api: ApiClient, content_type: str, size: int, kind: str = "image") -> dict[str, Any]:
    response = api.post("/v1/media", {"kind": kind, "contentType": content_type, "size": size})
    assert response.status == 201, response.json
    return dict(response.json)


def object_key(aws: dict[str, str], url: str) -> str:
    """The key a presigned URL names (virtual-hosted or path-style)."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    return path if parts.netloc.startswith(bucket(aws) + ".") else path.split("/", 1)[1]


def upload(aws: dict[str, str], medium: dict[str, Any], data: bytes, content_type: str) -> None:
    """What the client's PUT to ``uploadUrl`` does (in-process, moto intercepts botocore only)."""
    key = object_key(aws, medium["uploadUrl"])
    s3(aws).put_object(Bucket=bucket(aws), Key=key, Body=data, ContentType=content_type)


# ---- POST /v1/media, GET /v1/media/{id} ------------------------------------------------------------


def test_given_inline_bytes_when_uploaded_then_stored_ready_with_their_dimensions(
    api: ApiClient, aws: dict[str, str]
) -> None:
    response = api.post("/v1/media", {"kind": "image", "contentType": "image/png", "bytesBase64": b64(PNG)})
    assert response.status == 201, response.json
    medium = response.json
    assert medium["id"].startswith("med_") and medium["status"] == "ready"
    assert (medium["kind"], medium["contentType"], medium["size"]) == ("image", "image/png", len(PNG))
    assert (medium["width"], medium["height"]) == (800, 600) and medium["createdAt"].endswith("Z")
    assert "uploadUrl" not in medium
    assert api.get(f"/v1/media/{medium['id']}").json == medium
    [key] = object_keys(aws)
    assert key.endswith(medium["id"])
    assert s3(aws).get_object(Bucket=bucket(aws), Key=key)["Body"].read() == PNG


def test_given_a_declared_size_when_created_then_pending_with_a_signed_put_until_the_bytes_arrive(
    api: ApiClient, aws: dict[str, str]
) -> None:
    data = jpeg(1080, 1350, pad_to=30_000)
    medium = pending(api, "image/jpeg", len(data))
    assert medium["status"] == "pending" and medium["size"] == len(data)
    query = parse_qs(urlsplit(medium["uploadUrl"]).query)
    # SigV4, 15 minutes, with the type and the length inside the signature
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["900"]
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) >= {"content-length", "content-type", "host"}
    assert medium["uploadHeaders"] == {"Content-Type": "image/jpeg", "Content-Length": str(len(data))}
    assert medium["uploadUrlExpiresAt"] > medium["createdAt"]
    # Not uploaded yet: still pending, and the answer never repeats the upload URL
    again = api.get(f"/v1/media/{medium['id']}").json
    assert again["status"] == "pending" and "uploadUrl" not in again
    upload(aws, medium, data, "image/jpeg")
    ready = api.get(f"/v1/media/{medium['id']}").json
    assert (ready["status"], ready["width"], ready["height"]) == ("ready", 1080, 1350)
    assert ready["error"] is None


@pytest.mark.parametrize(
    ("declared", "uploaded", "rule"),
    [
        (("image/png", len(PNG)), (PNG + b"extra", "image/png"), "media.size_mismatch"),
        (("image/jpeg", len(PNG)), (PNG, "image/jpeg"), "media.content_type_mismatch"),
        (("video/mp4", len(PNG)), (PNG, "video/mp4"), "media.content_type_mismatch"),
    ],
)
def test_given_an_upload_that_disagrees_with_its_declaration_then_failed_with_the_reason_and_deleted(
    api: ApiClient, aws: dict[str, str], declared: tuple[str, int], uploaded: tuple[bytes, str], rule: str
) -> None:
    content_type, size = declared
    medium = pending(api, content_type, size, kind="video" if content_type.startswith("video") else "image")
    upload(aws, medium, *uploaded)
    failed = api.get(f"/v1/media/{medium['id']}").json
    assert failed["status"] == "failed" and failed["error"]["rule"] == rule, failed
    assert object_keys(aws) == []  # never usable: not kept
    assert api.get(f"/v1/media/{medium['id']}").json == failed  # settled for good


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"kind": "image", "contentType": "image/bmp", "size": 10},
            (400, "validation_failed", "media.type_unsupported"),
        ),
        ({"kind": "video", "contentType": "image/png", "size": 10}, (400, "validation_failed", "media.kind_mismatch")),
        (
            {"kind": "image", "contentType": "image/jpeg", "bytesBase64": b64(PNG)},
            (400, "validation_failed", "media.content_type_mismatch"),
        ),
        (
            {"kind": "image", "contentType": "image/png", "bytesBase64": b64(b"%PDF-1.7")},
            (400, "validation_failed", "media.type_unsupported"),
        ),
        (
            {"kind": "image", "contentType": "image/png", "bytesBase64": "not base64!"},
            (400, "validation_failed", "bytesBase64"),
        ),
        (
            {"kind": "image", "contentType": "image/png", "bytesBase64": b64(PNG), "size": 3},
            (400, "validation_failed", "body"),
        ),
        ({"kind": "image", "contentType": "image/png"}, (400, "validation_failed", "body")),
        ({"kind": "image", "contentType": "image/png", "size": 2 * 1024**3}, (400, "validation_failed", "size")),
    ],
)
def test_given_media_that_cannot_be_right_then_refused_and_nothing_stored(
    api: ApiClient, aws: dict[str, str], body: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    response = api.post("/v1/media", body)
    status, code, rule = error(response)
    assert (status, code) == expected[:2], response.json
    assert rule == expected[2] or (expected[2] == "body" and rule.startswith("body")), response.json
    assert object_keys(aws) == []


def test_given_another_workspaces_media_then_404_as_if_it_did_not_exist(api: ApiClient, aws: dict[str, str]) -> None:
    from crosspost.admin import mint_workspace_key

    medium = api.post("/v1/media", {"kind": "image", "contentType": "image/png", "bytesBase64": b64(PNG)}).json
    intruder = ApiClient(mint_workspace_key("other")["apiKey"])
    assert error(intruder.get(f"/v1/media/{medium['id']}")) == (404, "not_found", "media.unknown")
    assert error(api.get("/v1/media/med_01J00000000000000000000000")) == (404, "not_found", "media.unknown")


# ---- a post's media at create --------------------------------------------------------------------


def test_given_an_uploaded_medium_when_posted_then_published_with_the_image_and_its_alt_text(
    api: ApiClient, account: dict[str, Any], sandbox_url: str
) -> None:
    medium = api.post("/v1/media", {"kind": "image", "contentType": "image/png", "bytesBase64": b64(PNG)}).json
    response = post(api, account, {"kind": "image", "mediaId": medium["id"], "altText": "a chart"})
    assert response.status == 201, response.json
    [record] = sandbox_posts(sandbox_url)
    [image] = embedded_images(record)
    assert image["alt"] == "a chart" and image["aspectRatio"] == {"width": 800, "height": 600}
    assert image["image"]["mimeType"] == "image/png" and image["image"]["size"] == len(PNG)


def test_given_inline_bytes_in_a_post_then_they_become_a_medium_and_the_post_keeps_only_its_id(
    api: ApiClient, account: dict[str, Any], aws: dict[str, str], sandbox_url: str
) -> None:
    response = post(api, account, {"kind": "image", "bytesBase64": b64(PNG)})
    assert response.status == 201, response.json
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=aws[Env.POSTS_TABLE.value], Key={"id": {"S": response.json["id"]}}
    )["Item"]
    [stored] = item["media"]["L"]
    assert "bytesBase64" not in stored["M"] and stored["M"]["mediaId"]["S"].startswith("med_")
    assert api.get(f"/v1/media/{stored['M']['mediaId']['S']}").json["status"] == "ready"
    assert len(embedded_images(sandbox_posts(sandbox_url)[0])) == 1


def test_given_a_public_media_url_when_posted_then_it_is_fetched_at_publish_and_published(
    api: ApiClient, account: dict[str, Any], sandbox_url: str
) -> None:
    response = post(api, account, {"kind": "image", "url": f"{sandbox_url}/_sandbox/files/image.png"})
    assert response.status == 201, response.json
    [image] = embedded_images(sandbox_posts(sandbox_url)[0])
    assert image["aspectRatio"] == {"width": 800, "height": 600} and image["image"]["mimeType"] == "image/png"


def test_given_several_bad_media_then_every_failure_is_listed_and_nothing_is_stored(
    api: ApiClient, account: dict[str, Any], aws: dict[str, str], sandbox_url: str
) -> None:
    waiting = pending(api, "image/png", 100)
    media = [
        {"kind": "image", "mediaId": "med_01J00000000000000000000000"},
        {"kind": "image", "mediaId": waiting["id"]},
        {"kind": "image", "url": "https://127.0.0.1/inside.png"},
        {"kind": "video", "bytesBase64": b64(PNG)},
        {"kind": "image", "bytesBase64": b64(png(10, 10))},
    ]
    for path in ("/v1/posts", "/v1/posts/validate"):
        body = {"account": {"platform": "bluesky", "id": account["id"]}, "text": "x" * 301, "media": media}
        response = api.post(path, body)
        assert error(response) == (404, "not_found", "media.unknown"), response.json
        details = [(d["rule"], d["field"]) for d in response.json["error"]["details"]]
        assert details == [
            ("media.unknown", "media[0].mediaId"),
            ("media.not_ready", "media[1].mediaId"),
            ("media.url.forbidden", "media[2].url"),
            ("media.kind_mismatch", "media[3].bytesBase64"),
            ("bluesky.text.max_graphemes", "text"),
            ("bluesky.media.image_video_exclusive", "media"),  # the video it was declared as still counts
        ]
    assert api.get("/v1/posts").json["posts"] == [] and object_keys(aws) == [] and sandbox_posts(sandbox_url) == []


@pytest.mark.parametrize(
    ("medium", "expected"),
    [
        (
            lambda api, aws: {"mediaId": pending(api, "image/png", 100)["id"]},
            (400, "validation_failed", "media.not_ready"),
        ),
        (lambda api, aws: {"url": "http://example.com/a.png"}, (400, "preflight_failed", "media.url.forbidden")),
        (lambda api, aws: {"bytesBase64": b64(b"GIF8")}, (400, "validation_failed", "media.type_unsupported")),
        (
            # stage B at request time: inline bytes over Bluesky's 2,000,000-byte image limit
            lambda api, aws: {"bytesBase64": b64(jpeg(100, 100, pad_to=2_000_100))},
            (400, "preflight_failed", "bluesky.media.too_large"),
        ),
        (
            # stage B at request time: an uploaded medium's stored type (Bluesky takes MP4 videos only)
            lambda api, aws: {
                "kind": "video",
                "mediaId": api.post(
                    "/v1/media",
                    {
                        "kind": "video",
                        "contentType": "video/quicktime",
                        "bytesBase64": b64(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "),
                    },
                ).json["id"],
            },
            (400, "preflight_failed", "bluesky.media.mime_allowed"),
        ),
    ],
)
def test_given_one_bad_medium_then_the_answer_names_its_rule(
    api: ApiClient, account: dict[str, Any], aws: dict[str, str], medium: Any, expected: tuple[int, str, str]
) -> None:
    response = post(api, account, {"kind": "image", **medium(api, aws)})
    assert error(response) == expected, response.json
    assert api.get("/v1/posts").json["posts"] == []


# ---- stage B at publish, for URL media --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "rule"),
    [
        ("big.jpg", "image", "bluesky.media.too_large"),  # 9 MiB: over the limit while streaming
        ("missing.png", "image", "bluesky.media.unreachable"),  # 404: it will not come back
        ("clip.mp4", "image", "media.kind_mismatch"),  # said image, is a video
    ],
)
def test_given_a_media_url_the_platform_cannot_take_when_published_then_rejected_with_the_rule(
    api: ApiClient, account: dict[str, Any], sandbox_url: str, name: str, kind: str, rule: str
) -> None:
    response = post(api, account, {"kind": kind, "url": f"{sandbox_url}/_sandbox/files/{name}"})
    assert (response.status, response.json["error"]["code"], response.json["error"]["rule"]) == (
        502,
        "platform_rejected",
        rule,
    ), response.json
    stored = api.get(f"/v1/posts/{response.json['error']['postId']}").json
    assert stored["status"] == "rejected" and stored["error"]["rule"] == rule and stored["attempts"] == 1
    assert sandbox_posts(sandbox_url) == []


def test_given_a_media_url_that_times_out_then_the_post_is_retried_not_rejected(
    api: ApiClient, account: dict[str, Any], queue: QueueDriver, monkeypatch: pytest.MonkeyPatch, sandbox_url: str
) -> None:
    from crosspost.platforms.safe_http import FetchError, SafeFetcher

    calls = []
    original = SafeFetcher.fetch

    async def flaky(self: SafeFetcher, url: str) -> Any:
        calls.append(url)
        if len(calls) == 1:
            raise FetchError("timeout", "The URL did not answer in time.")
        return await original(self, url)

    monkeypatch.setattr(SafeFetcher, "fetch", flaky)
    response = post(api, account, {"kind": "image", "url": f"{sandbox_url}/_sandbox/files/square.jpg"})
    assert response.status == 202 and response.json["status"] == "queued", response.json
    assert response.json["error"]["rule"] == "bluesky.media.unreachable"
    assert [w["code"] for w in response.json["warnings"]] == ["publish.deferred"]


@pytest.fixture
def url_platform(monkeypatch: pytest.MonkeyPatch) -> list[PublishRequest]:
    """Bluesky as a platform that fetches media itself (media_transfer "url", like Meta or Pinterest)."""
    seen: list[PublishRequest] = []
    monkeypatch.setattr(
        BlueskyAdapter, "capabilities", dataclasses.replace(BlueskyAdapter.capabilities, media_transfer="url")
    )

    async def fetching_platform(self: BlueskyAdapter, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        seen.append(request)
        return PublishResult(uri=f"at://did:plc:x/app.bsky.feed.post/{len(seen)}", url="https://bsky.app/x")

    monkeypatch.setattr(BlueskyAdapter, "publish", fetching_platform)
    return seen


def test_given_a_platform_that_fetches_media_then_it_gets_presigned_urls_of_our_checked_copies(
    api: ApiClient,
    workspace: dict[str, str],
    account: dict[str, Any],
    aws: dict[str, str],
    sandbox_url: str,
    url_platform: list[PublishRequest],
) -> None:
    uploaded = api.post("/v1/media", {"kind": "image", "contentType": "image/png", "bytesBase64": b64(PNG)}).json
    response = post(
        api,
        account,
        {"kind": "image", "mediaId": uploaded["id"]},
        {"kind": "image", "url": f"{sandbox_url}/_sandbox/files/portrait.jpg", "altText": "tall"},
    )
    assert response.status == 201, response.json
    [request] = url_platform
    first, second = request.media
    assert (first.content_type, first.width, first.height, first.size, first.data) == (
        "image/png",
        800,
        600,
        len(PNG),
        None,
    )
    assert (second.content_type, second.width, second.height, second.alt_text) == ("image/jpeg", 1080, 1350, "tall")
    assert request.deadline is not None and request.account_block == {}
    for item in request.media:
        assert item.url is not None
        query = parse_qs(urlsplit(item.url).query)
        assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    # the URL medium was fetched and stored under the post, so the platform gets our copy
    copy_key = object_key(aws, second.url or "")
    assert copy_key == f"posts/{workspace['workspaceId']}/{response.json['id']}/1"
    copy = s3(aws).get_object(Bucket=bucket(aws), Key=copy_key)
    assert copy["ContentType"] == "image/jpeg" and copy["Body"].read()[:3] == b"\xff\xd8\xff"


def test_given_a_video_upload_then_it_is_ready_as_a_video(api: ApiClient) -> None:
    clip = mp4(8192)
    response = api.post("/v1/media", {"kind": "video", "contentType": "video/mp4", "bytesBase64": b64(clip)})
    assert response.status == 201 and response.json["kind"] == "video" and response.json["size"] == len(clip)
