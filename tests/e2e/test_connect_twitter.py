"""X end to end over HTTP on the local stack: the OAuth connect with PKCE as a browser drives it
(start → the sandbox's consent → complete or callback; the verifier never leaves the server), the
account row API.md describes (tokenExpiresAt null: X renews indefinitely), the sandbox's fixture
users, refused codes (expired, invalid, or issued for another flow's PKCE challenge), and
publishing with ``POST /v1/posts`` (text, images by URL with alt text, a video X processes, a
duplicate) read back from the simulated X."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.sandbox.oauth import SANDBOX_APPS
from local.sandbox.twitter import USERS
from tests.e2e.helpers import RunningStack, unique_text, wait_for
from tests.e2e.oauth import authorize, connect, start

pytestmark = pytest.mark.e2e

ALICE = USERS["alice"]


def assert_no_secrets(response: httpx.Response) -> None:
    text = response.text
    for needle in (
        "twat-",
        "twrt-",
        "access_token",
        "refresh_token",
        "code_verifier",
        SANDBOX_APPS["twitter"]["clientSecret"],
    ):
        assert needle not in text, f"{needle!r} appears in a response"


@pytest.fixture(scope="module")
def alice(api: httpx.Client) -> dict[str, Any]:
    """The default sandbox account, connected once for the module."""
    response = connect(api, "twitter")
    assert response.status_code == 201, response.text
    assert_no_secrets(response)
    return dict(response.json())


def publish(api: httpx.Client, account_id: str, text: str, **extra: Any) -> httpx.Response:
    return api.post("/v1/posts", json={"account": {"platform": "twitter", "id": account_id}, "text": text, **extra})


def file_url(local_stack: RunningStack, name: str) -> str:
    return f"{local_stack.sandbox_url}/_sandbox/files/{name}"


def tweets(sandbox: httpx.Client, text: str) -> list[dict[str, Any]]:
    response = sandbox.get("/_sandbox/twitter/posts")
    assert response.status_code == 200
    return [p for p in response.json()["posts"] if p["rawText"] == text]


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["platform"] == "twitter"
    assert_no_secrets(response)
    return error


# ---- connect -----------------------------------------------------------------------------------


def test_start_gives_xs_authorize_url_with_a_pkce_challenge(api: httpx.Client, local_stack: RunningStack) -> None:
    started = start(api, "twitter")
    assert started.status_code == 200, started.text
    body = started.json()
    url = urlsplit(body["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{local_stack.sandbox_url}/twitter/i/oauth2/authorize"
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"] and query["state"] == [body["state"]]
    assert query["scope"] == ["tweet.read tweet.write users.read offline.access media.write"]
    assert query["client_id"] == [SANDBOX_APPS["twitter"]["clientId"]]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"][0].endswith("/v1/oauth/twitter/callback")
    assert_no_secrets(started)


def test_connect_makes_a_row_whose_token_does_not_expire(alice: dict[str, Any]) -> None:
    assert alice["platform"] == "twitter" and alice["platformAccountId"] == ALICE.id
    assert (alice["username"], alice["displayName"]) == ("sandbox_alice", "Alice (sandbox)")
    assert alice["profileImageUrl"] == ALICE.profile_image_url
    assert alice["profileUrl"] == "https://x.com/sandbox_alice"
    assert alice["tokenExpiresAt"] is None and alice["tokenStatus"] == "unknown" and alice["tokenExpiresIn"] is None
    assert "pinterest" not in alice and "instagram" not in alice


def test_connecting_again_rotates_the_token_on_the_same_row(api: httpx.Client, alice: dict[str, Any]) -> None:
    again = connect(api, "twitter")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == alice["id"]
    assert_no_secrets(again)


def test_fixture_users_and_the_browser_callback(api: httpx.Client) -> None:
    page = connect(api, "twitter", user="bob", via="callback")
    assert page.status_code == 200, page.text
    assert_no_secrets(page)
    rows = api.get("/v1/accounts", params={"platform": "twitter"}).json()["accounts"]
    assert [r["platformAccountId"] for r in rows if r["username"] == "sandbox_bob"] == [USERS["bob"].id]


def test_an_expired_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client) -> None:
    started = start(api, "twitter").json()
    code, state = authorize(sandbox, started["authorizationUrl"])
    assert sandbox.post("/_sandbox/twitter/expire-codes").status_code == 200
    answer = api.post("/v1/accounts/connect/twitter/complete", json={"code": code, "state": state})
    error = refused(answer, 401, "platform_auth_failed")
    assert error["rule"] == "twitter.auth.code_invalid"
    assert error["platformResponse"]["error"] == "invalid_request"


def test_an_invalid_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client) -> None:
    started = start(api, "twitter").json()
    _, state = authorize(sandbox, started["authorizationUrl"])
    answer = api.post("/v1/accounts/connect/twitter/complete", json={"code": "not-a-real-code", "state": state})
    refused(answer, 401, "platform_auth_failed")


def test_a_code_for_another_flows_challenge_fails_pkce(api: httpx.Client, sandbox: httpx.Client) -> None:
    # Two flows, two server-side verifiers: completing flow B with the code X issued for flow A's
    # challenge sends B's verifier, which does not match, and X refuses the code.
    flow_a, flow_b = start(api, "twitter").json(), start(api, "twitter").json()
    code_a, _ = authorize(sandbox, flow_a["authorizationUrl"])
    answer = api.post("/v1/accounts/connect/twitter/complete", json={"code": code_a, "state": flow_b["state"]})
    error = refused(answer, 401, "platform_auth_failed")
    assert error["rule"] == "twitter.auth.code_invalid"


# ---- publish -----------------------------------------------------------------------------------


def test_a_text_post(api: httpx.Client, alice: dict[str, Any], sandbox: httpx.Client) -> None:
    text = unique_text("Hello X from crosspost & co: https://example.com/post")
    response = publish(api, alice["id"], text)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published" and post["uri"].isdigit()
    assert post["url"] == f"https://x.com/sandbox_alice/status/{post['uri']}"
    [record] = tweets(sandbox, text)
    assert record["id"] == post["uri"] and record["authorId"] == ALICE.id
    assert "&amp; co: https://t.co/" in record["text"]
    assert_no_secrets(response)


def test_images_by_url_with_alt_text(
    api: httpx.Client, alice: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("Two pictures")
    media = [
        {"kind": "image", "url": file_url(local_stack, "square.jpg"), "altText": "A square"},
        {"kind": "image", "url": file_url(local_stack, "image.png")},
    ]
    response = publish(api, alice["id"], text, media=media)
    assert response.status_code == 201, response.text
    [record] = tweets(sandbox, text)
    assert [m["altText"] for m in record["media"]] == ["A square", None]
    assert [m["contentType"] for m in record["media"]] == ["image/jpeg", "image/png"]


def test_a_video_is_processed_then_posted(
    api: httpx.Client, alice: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("A clip")
    response = publish(api, alice["id"], text, media=[{"kind": "video", "url": file_url(local_stack, "clip.mp4")}])
    assert response.status_code in (201, 202), response.text
    post_id = response.json()["id"]

    def published() -> dict[str, Any] | None:
        current = api.get(f"/v1/posts/{post_id}").json()
        return current if current["status"] == "published" else None

    post = wait_for(published, timeout=60)
    [record] = tweets(sandbox, text)
    assert record["id"] == post["uri"] and record["media"][0]["category"] == "tweet_video"


def test_the_same_text_twice_is_a_duplicate(api: httpx.Client, alice: dict[str, Any]) -> None:
    text = unique_text("Say it once")
    assert publish(api, alice["id"], text).status_code == 201
    error = refused(publish(api, alice["id"], text), 502, "platform_rejected")
    assert error["rule"] == "twitter.duplicate"
    assert error["platformResponse"]["detail"] == "You are not allowed to create a Tweet with duplicate content."


def test_preflight_weighs_text_and_counts_media(
    api: httpx.Client, alice: dict[str, Any], local_stack: RunningStack
) -> None:
    too_long = publish(api, alice["id"], "故" * 141)  # 282 weighted
    error = refused(too_long, 400, "preflight_failed")
    assert error["rule"] == "twitter.text.max_graphemes"
    fits = publish(api, alice["id"], unique_text("a" * 200) + " https://example.com/" + "p" * 300)
    assert fits.status_code == 201, fits.text  # the long URL weighs 23
    five = [{"kind": "image", "url": file_url(local_stack, "square.jpg")}] * 5
    assert refused(publish(api, alice["id"], "Five", media=five), 400, "preflight_failed")["rule"] == (
        "twitter.media.count_max"
    )
