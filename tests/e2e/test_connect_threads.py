"""Threads end to end over HTTP on the local stack: the OAuth connect as a browser drives it
(start → the sandbox's consent → complete or callback), the account row API.md describes
(tokenExpiresAt = the long-lived token's expiry, which the server keeps renewing), the sandbox's
fixture users, refused codes, and publishing with ``POST /v1/posts`` (text, media by URL, a
carousel, a reply) read back from the simulated Threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.sandbox.oauth import SANDBOX_APPS
from local.sandbox.threads import USERS
from tests.e2e.helpers import RunningStack, unique_text, wait_for
from tests.e2e.oauth import authorize, connect, start

pytestmark = pytest.mark.e2e

DEFAULT = USERS["default"]


def assert_no_secrets(response: httpx.Response) -> None:
    text = response.text
    for needle in ("THAA", "access_token", SANDBOX_APPS["threads"]["clientSecret"]):
        assert needle not in text, f"{needle!r} appears in a response"


@pytest.fixture(scope="module")
def threads_account(api: httpx.Client) -> dict[str, Any]:
    """The default sandbox Threads user, connected once for the module."""
    response = connect(api, "threads")
    assert response.status_code == 201, response.text
    assert_no_secrets(response)
    return dict(response.json())


def publish(api: httpx.Client, account_id: str, text: str, **extra: Any) -> httpx.Response:
    return api.post("/v1/posts", json={"account": {"platform": "threads", "id": account_id}, "text": text, **extra})


def file(local_stack: RunningStack, name: str) -> str:
    return f"{local_stack.sandbox_url}/_sandbox/files/{name}"


def records(sandbox: httpx.Client, text: str) -> list[dict[str, Any]]:
    response = sandbox.get("/_sandbox/threads/posts")
    assert response.status_code == 200
    return [p for p in response.json()["posts"] if p["text"] == text]


def published(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """The post once it is published (a 202 ``publishing`` finishes in the publisher)."""
    assert response.status_code in (201, 202), response.text
    post_id = response.json()["id"]

    def done() -> dict[str, Any] | None:
        current: dict[str, Any] = api.get(f"/v1/posts/{post_id}").json()
        assert current["status"] in ("publishing", "queued", "published"), current
        return current if current["status"] == "published" else None

    result: dict[str, Any] = wait_for(done, timeout=60)
    return result


# ---- connect -----------------------------------------------------------------------------------


def test_start_gives_threads_authorize_url(api: httpx.Client, local_stack: RunningStack) -> None:
    started = start(api, "threads")
    assert started.status_code == 200, started.text
    body = started.json()
    url = urlsplit(body["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{local_stack.sandbox_url}/threads/oauth/authorize"
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"] and query["state"] == [body["state"]]
    assert query["scope"] == ["threads_basic,threads_content_publish,threads_manage_replies"]
    assert query["client_id"] == [SANDBOX_APPS["threads"]["clientId"]]
    assert query["redirect_uri"][0].endswith("/v1/oauth/threads/callback")
    extended = parse_qs(urlsplit(start(api, "threads", extended_scopes=True).json()["authorizationUrl"]).query)
    assert extended["scope"] == [
        "threads_basic,threads_content_publish,threads_manage_replies,threads_read_replies,threads_manage_insights"
    ]


def test_connect_makes_a_row_that_expires_with_the_long_lived_token(threads_account: dict[str, Any]) -> None:
    row = threads_account
    assert (row["platform"], row["platformAccountId"], row["username"]) == ("threads", DEFAULT.id, DEFAULT.username)
    assert row["displayName"] == DEFAULT.name
    assert row["profileImageUrl"].endswith(f"/threads/profile_pictures/{DEFAULT.id}.jpg")
    assert row["profileUrl"] == f"https://www.threads.net/@{DEFAULT.username}"
    assert "pinterest" not in row and "instagram" not in row
    expires = datetime.fromisoformat(row["tokenExpiresAt"].replace("Z", "+00:00"))
    assert timedelta(days=59, hours=23) < expires - datetime.now(UTC) <= timedelta(days=60)
    assert row["tokenStatus"] == "valid"
    assert row["tokenExpiresIn"].startswith(("59d", "60d"))


def test_connecting_again_rotates_the_token_on_the_same_row(api: httpx.Client, threads_account: dict[str, Any]) -> None:
    again = connect(api, "threads")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == threads_account["id"]
    assert_no_secrets(again)
    listed = api.get("/v1/accounts", params={"platform": "threads"})
    assert [a["id"] for a in listed.json()["accounts"] if a["platformAccountId"] == DEFAULT.id] == [
        threads_account["id"]
    ]
    assert_no_secrets(listed)


def test_the_minimal_fixture_user_through_the_browser_callback(api: httpx.Client) -> None:
    page = connect(api, "threads", user="minimal", via="callback")
    assert page.status_code == 200, page.text
    assert_no_secrets(page)
    [row] = [
        a
        for a in api.get("/v1/accounts", params={"platform": "threads"}).json()["accounts"]
        if a["platformAccountId"] == USERS["minimal"].id
    ]
    assert row["username"] == "minimal.threads"
    assert row["displayName"] is None and row["profileImageUrl"] is None


@pytest.mark.parametrize("problem", ["expired", "invalid"])
def test_a_refused_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client, problem: str) -> None:
    started = start(api, "threads").json()
    code, state = authorize(sandbox, started["authorizationUrl"])
    if problem == "expired":
        assert sandbox.post("/_sandbox/threads/expire-codes").status_code == 200
    else:
        code = "not-a-real-code"
    answer = api.post("/v1/accounts/connect/threads/complete", json={"code": code, "state": state})
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"], error["platform"]) == (
        "platform_auth_failed",
        "threads.auth.code_invalid",
        "threads",
    )
    assert_no_secrets(answer)


# ---- publish -----------------------------------------------------------------------------------


def test_a_text_post(api: httpx.Client, threads_account: dict[str, Any], sandbox: httpx.Client) -> None:
    text = unique_text("Hello from crosspost 🧵")
    response = publish(api, threads_account["id"], text)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published" and post["uri"].isdigit()
    assert post["url"].startswith(f"https://www.threads.net/@{DEFAULT.username}/post/")
    [record] = records(sandbox, text)
    assert (record["id"], record["permalink"], record["mediaType"]) == (post["uri"], post["url"], "TEXT_POST")
    assert_no_secrets(response)
    row = api.get(f"/v1/accounts/{threads_account['id']}").json()
    assert row["lastSuccessfulPost"] is not None


def test_an_image_by_url(
    api: httpx.Client, threads_account: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("A picture")
    media = [{"kind": "image", "url": file(local_stack, "square.jpg"), "altText": "A square"}]
    post = published(api, publish(api, threads_account["id"], text, media=media))
    [record] = records(sandbox, text)
    assert record["id"] == post["uri"] and record["mediaType"] == "IMAGE"
    [item] = record["media"]
    assert (item["contentType"], item["width"], item["altText"]) == ("image/jpeg", 1080, "A square")


def test_a_carousel_of_images_and_a_video(
    api: httpx.Client, threads_account: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("An album")
    media = [
        {"kind": "image", "url": file(local_stack, "portrait.jpg")},
        {"kind": "video", "url": file(local_stack, "clip.mp4")},
        {"kind": "image", "url": file(local_stack, "image.png")},
    ]
    post = published(api, publish(api, threads_account["id"], text, media=media))
    [record] = records(sandbox, text)
    assert record["id"] == post["uri"] and record["mediaType"] == "CAROUSEL_ALBUM"
    assert [m["contentType"] for m in record["media"]] == ["image/jpeg", "video/mp4", "image/png"]


def test_a_reply_to_an_own_post(api: httpx.Client, threads_account: dict[str, Any], sandbox: httpx.Client) -> None:
    root = publish(api, threads_account["id"], unique_text("Thread start"))
    assert root.status_code == 201, root.text
    text = unique_text("And a reply")
    reply = publish(api, threads_account["id"], text, threads={"replyToId": root.json()["uri"]})
    assert reply.status_code == 201, reply.text
    [record] = records(sandbox, text)
    assert record["replyToId"] == root.json()["uri"] and record["id"] == reply.json()["uri"]


def test_a_reply_to_an_unknown_post_is_rejected(api: httpx.Client, threads_account: dict[str, Any]) -> None:
    answer = publish(api, threads_account["id"], unique_text("Into the void"), threads={"replyToId": "180299999999999"})
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"]) == ("platform_rejected", "threads.reply_to.not_found")


def test_preflight_counts_emoji_as_threads_does(api: httpx.Client, threads_account: dict[str, Any]) -> None:
    answer = publish(api, threads_account["id"], "a" * 497 + "😀")  # 497 + 4 bytes = 501
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"]) == ("preflight_failed", "threads.text.max_graphemes")
    bad_reply = publish(api, threads_account["id"], "hi", threads={"replyToId": "not-an-id"})
    assert bad_reply.json()["error"]["rule"] == "threads.reply_to.invalid"


def test_a_lost_publish_answer_is_reconciled(
    api: httpx.Client, threads_account: dict[str, Any], sandbox: httpx.Client
) -> None:
    # The container goes through; threads_publish stores the post, then answers 500.
    fault = {"status": 500, "mode": "after_commit", "after": 1}
    assert sandbox.post("/_sandbox/threads/faults", json=fault).status_code == 200
    text = unique_text("Published, answer lost")
    try:
        response = publish(api, threads_account["id"], text)
    finally:
        sandbox.delete("/_sandbox/threads/faults")
    post = published(api, response)
    [record] = records(sandbox, text)
    assert record["id"] == post["uri"]
