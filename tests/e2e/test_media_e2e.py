"""Media on the running local stack, over HTTP only: an inline upload, a presigned upload PUT to
moto's S3 server exactly as a client would (the signed Content-Type and Content-Length), then
Bluesky posts that use them, and one whose image is a URL the publisher fetches; the sandbox holds
the images."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from local.sandbox.files import jpeg, png
from tests.e2e.helpers import RunningStack, unique_text

pytestmark = pytest.mark.e2e


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def images_of(sandbox: httpx.Client, text: str) -> list[dict[str, Any]]:
    posts = [p for p in sandbox.get("/_sandbox/bluesky/posts").json()["posts"] if p["record"].get("text") == text]
    assert len(posts) == 1, posts
    return list(posts[0]["record"]["embed"]["images"])


def publish(api: httpx.Client, account_id: str, text: str, *media: dict[str, Any]) -> httpx.Response:
    body = {"account": {"platform": "bluesky", "id": account_id}, "text": text, "media": list(media)}
    return api.post("/v1/posts", json=body)


def test_given_an_inline_upload_when_posted_by_id_then_the_sandbox_holds_the_image(
    api: httpx.Client, sandbox: httpx.Client, account_id: str
) -> None:
    created = api.post(
        "/v1/media", json={"kind": "image", "contentType": "image/png", "bytesBase64": b64(png(640, 480))}
    )
    assert created.status_code == 201, created.text
    medium = created.json()
    assert medium["status"] == "ready" and (medium["width"], medium["height"]) == (640, 480)
    text = unique_text("uploaded inline")
    response = publish(api, account_id, text, {"kind": "image", "mediaId": medium["id"], "altText": "inline"})
    assert response.status_code == 201, response.text
    [image] = images_of(sandbox, text)
    assert image["alt"] == "inline" and image["aspectRatio"] == {"width": 640, "height": 480}


def test_given_a_presigned_upload_when_put_to_s3_then_ready_and_publishable(
    api: httpx.Client, sandbox: httpx.Client, account_id: str
) -> None:
    data = jpeg(1200, 900, pad_to=50_000)
    created = api.post("/v1/media", json={"kind": "image", "contentType": "image/jpeg", "size": len(data)})
    assert created.status_code == 201, created.text
    medium = created.json()
    assert medium["status"] == "pending"
    with httpx.Client(trust_env=False, timeout=30) as s3:  # moto's S3 server, as a client reaches S3
        uploaded = s3.put(medium["uploadUrl"], content=data, headers=medium["uploadHeaders"])
        assert uploaded.status_code == 200, uploaded.text
    ready = api.get(f"/v1/media/{medium['id']}").json()
    assert ready["status"] == "ready" and (ready["width"], ready["height"]) == (1200, 900), ready
    text = unique_text("uploaded presigned")
    response = publish(api, account_id, text, {"kind": "image", "mediaId": medium["id"]})
    assert response.status_code == 201, response.text
    [image] = images_of(sandbox, text)
    assert image["image"]["mimeType"] == "image/jpeg" and image["image"]["size"] == len(data)


def test_given_a_media_url_on_the_sandbox_when_posted_then_fetched_and_published(
    api: httpx.Client, sandbox: httpx.Client, account_id: str, local_stack: RunningStack
) -> None:
    text = unique_text("from a URL")
    url = f"{local_stack.sandbox_url}/_sandbox/files/image.png"
    response = publish(api, account_id, text, {"kind": "image", "url": url, "altText": "fetched"})
    assert response.status_code == 201, response.text
    [image] = images_of(sandbox, text)
    assert image["alt"] == "fetched" and image["aspectRatio"] == {"width": 800, "height": 600}


def test_given_a_media_url_over_the_platform_limit_then_rejected_at_publish(
    api: httpx.Client, account_id: str, local_stack: RunningStack
) -> None:
    url = f"{local_stack.sandbox_url}/_sandbox/files/big.jpg"
    response = publish(api, account_id, unique_text("too big"), {"kind": "image", "url": url})
    assert response.status_code == 502, response.text
    assert response.json()["error"]["rule"] == "bluesky.media.too_large"
