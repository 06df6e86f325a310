"""Facebook and Instagram end to end over HTTP on the local stack: the one Meta login as a browser
drives it (start → the sandbox's Facebook dialog → complete or callback) yielding a ``facebook``
row per Page and an ``instagram`` row for the linked Instagram account, the fixture users, refused
codes, and publishing with ``POST /v1/posts`` to a Page and to Instagram, read back from the
simulated platforms."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.sandbox.meta import FIXTURES
from local.sandbox.oauth import SANDBOX_APPS
from tests.e2e.helpers import RunningStack, unique_text, wait_for
from tests.e2e.oauth import authorize, connect, start

pytestmark = pytest.mark.e2e

DEFAULT = FIXTURES["default"]
BAKERY, BOOKS = DEFAULT.pages
assert BAKERY.instagram is not None
BAKERY_IG = BAKERY.instagram


def assert_no_secrets(response: httpx.Response) -> None:
    text = response.text
    for needle in ("EAA", "access_token", "appsecret", SANDBOX_APPS["facebook"]["clientSecret"]):
        assert needle not in text, f"{needle!r} appears in a response"


@pytest.fixture(scope="module")
def login(api: httpx.Client) -> dict[str, Any]:
    """The default Meta user, connected once for the module."""
    response = connect(api, "facebook")
    assert response.status_code == 201, response.text
    assert_no_secrets(response)
    return dict(response.json())


def row(login: dict[str, Any], platform: str, platform_account_id: str) -> dict[str, Any]:
    return next(
        a for a in login["accounts"] if a["platform"] == platform and a["platformAccountId"] == platform_account_id
    )


def publish(api: httpx.Client, platform: str, account_id: str, text: str, **extra: Any) -> httpx.Response:
    return api.post("/v1/posts", json={"account": {"platform": platform, "id": account_id}, "text": text, **extra})


def media(local_stack: RunningStack, *names: str) -> list[dict[str, str]]:
    kinds = {"mp4": "video"}
    return [
        {"kind": kinds.get(name.rsplit(".", 1)[1], "image"), "url": f"{local_stack.sandbox_url}/_sandbox/files/{name}"}
        for name in names
    ]


def records(sandbox: httpx.Client, platform: str, field: str, text: str) -> list[dict[str, Any]]:
    response = sandbox.get(f"/_sandbox/{platform}/posts")
    assert response.status_code == 200
    return [p for p in response.json()["posts"] if p.get(field) == text]


# ---- connect -----------------------------------------------------------------------------------


def test_start_gives_the_facebook_dialog(api: httpx.Client, local_stack: RunningStack) -> None:
    started = start(api, "facebook")
    assert started.status_code == 200, started.text
    body = started.json()
    url = urlsplit(body["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{local_stack.sandbox_url}/facebook/v21.0/dialog/oauth"
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"] and query["state"] == [body["state"]]
    assert query["client_id"] == [SANDBOX_APPS["facebook"]["clientId"]]
    assert query["redirect_uri"][0].endswith("/v1/oauth/facebook/callback")
    assert query["scope"] == [
        "pages_show_list,pages_manage_posts,pages_read_engagement,business_management,"
        "instagram_basic,instagram_content_publish"
    ]
    extended = parse_qs(urlsplit(start(api, "facebook", extended_scopes=True).json()["authorizationUrl"]).query)
    assert extended["scope"][0].endswith(
        ",pages_read_user_content,pages_manage_engagement,instagram_manage_comments,instagram_manage_insights"
    )


def test_instagram_connects_through_facebook(api: httpx.Client) -> None:
    answer = start(api, "instagram")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["rule"] == "instagram.connect.use_facebook"


def test_one_login_yields_a_row_per_page_and_the_instagram_row(login: dict[str, Any]) -> None:
    assert [(a["platform"], a["platformAccountId"]) for a in login["accounts"]] == [
        ("facebook", BAKERY.id),
        ("facebook", BOOKS.id),
        ("instagram", BAKERY_IG.id),
    ]
    assert login["id"] == login["accounts"][0]["id"]
    bakery = row(login, "facebook", BAKERY.id)
    assert (bakery["username"], bakery["displayName"]) == ("sandboxbakery", "Sandbox Bakery")
    assert bakery["profileUrl"] == "https://www.facebook.com/sandboxbakery"
    assert bakery["profileImageUrl"] == BAKERY.picture_url
    books = row(login, "facebook", BOOKS.id)
    assert (books["username"], books["profileUrl"]) == ("Sandbox Books", f"https://www.facebook.com/{BOOKS.id}")
    for page in (bakery, books):
        assert (page["tokenExpiresAt"], page["tokenStatus"], page["tokenExpiresIn"]) == (None, "unknown", None)
        assert "instagram" not in page and "pinterest" not in page
    ig = row(login, "instagram", BAKERY_IG.id)
    assert (ig["username"], ig["displayName"]) == ("sandbox.bakery", "Sandbox Bakery")
    assert ig["profileUrl"] == "https://www.instagram.com/sandbox.bakery/"
    assert ig["profileImageUrl"] == BAKERY_IG.profile_picture_url
    assert (ig["tokenExpiresAt"], ig["tokenStatus"]) == (None, "unknown")
    block = ig["instagram"]
    assert (block["kind"], block["accountType"]) == ("business", "BUSINESS")
    assert {"instagram_basic", "instagram_content_publish", "pages_show_list"} <= set(block["grantedScopes"])


def test_connecting_again_keeps_the_rows(api: httpx.Client, login: dict[str, Any]) -> None:
    again = connect(api, "facebook")
    assert again.status_code == 200, again.text
    assert [a["id"] for a in again.json()["accounts"]] == [a["id"] for a in login["accounts"]]
    assert_no_secrets(again)
    listed = api.get("/v1/accounts", params={"platform": "instagram"})
    assert [a["id"] for a in listed.json()["accounts"] if a["platformAccountId"] == BAKERY_IG.id] == [
        row(login, "instagram", BAKERY_IG.id)["id"]
    ]
    assert_no_secrets(listed)


def test_a_user_without_pages_is_refused(api: httpx.Client) -> None:
    answer = connect(api, "facebook", user="no_pages")
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"], error["platform"]) == ("platform_rejected", "facebook.pages.none", "facebook")
    assert_no_secrets(answer)


def test_the_browser_callback_connects_too(api: httpx.Client) -> None:
    answer = connect(api, "facebook", user="no_publish", via="callback")
    assert answer.status_code == 200, answer.text
    assert_no_secrets(answer)
    rows = api.get("/v1/accounts", params={"platform": "facebook"}).json()["accounts"]
    assert "sandboxdeclined" in [a["username"] for a in rows]


@pytest.mark.parametrize("problem", ["expired", "invalid"])
def test_a_refused_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client, problem: str) -> None:
    started = start(api, "facebook").json()
    code, state = authorize(sandbox, started["authorizationUrl"])
    if problem == "expired":
        assert sandbox.post("/_sandbox/facebook/expire-codes").status_code == 200
    else:
        code = "not-a-real-code"
    answer = api.post("/v1/accounts/connect/facebook/complete", json={"code": code, "state": state})
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"], error["platform"]) == (
        "platform_auth_failed",
        "facebook.auth.code_invalid",
        "facebook",
    )
    assert_no_secrets(answer)


# ---- publish -----------------------------------------------------------------------------------


def test_a_text_post_on_the_page(api: httpx.Client, login: dict[str, Any], sandbox: httpx.Client) -> None:
    text = unique_text("Fresh bread today")
    response = publish(api, "facebook", row(login, "facebook", BAKERY.id)["id"], text)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published" and post["uri"].startswith(f"{BAKERY.id}_")
    assert post["url"].startswith("https://www.facebook.com/")
    [record] = records(sandbox, "facebook", "message", text)
    assert record["id"] == post["uri"] and record["type"] == "status"
    assert_no_secrets(response)


def test_photos_on_the_page(
    api: httpx.Client, login: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    page = row(login, "facebook", BOOKS.id)["id"]
    one = unique_text("One photo")
    assert publish(api, "facebook", page, one, media=media(local_stack, "square.jpg")).status_code == 201
    [photo] = records(sandbox, "facebook", "message", one)
    assert photo["type"] == "photo" and photo["pageId"] == BOOKS.id
    album = unique_text("An album")
    response = publish(api, "facebook", page, album, media=media(local_stack, "square.jpg", "image.png"))
    assert response.status_code == 201, response.text
    [record] = records(sandbox, "facebook", "message", album)
    assert record["type"] == "album" and len(record["attachedMedia"]) == 2


def test_an_image_on_instagram(
    api: httpx.Client, login: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("Croissants #bakery")
    response = publish(
        api, "instagram", row(login, "instagram", BAKERY_IG.id)["id"], text, media=media(local_stack, "portrait.jpg")
    )
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published" and post["url"].startswith("https://www.instagram.com/p/")
    [record] = records(sandbox, "instagram", "caption", text)
    assert record["id"] == post["uri"] and record["mediaType"] == "IMAGE" and record["igUserId"] == BAKERY_IG.id
    assert_no_secrets(response)


def test_a_reel_and_a_carousel_on_instagram(
    api: httpx.Client, login: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    account = row(login, "instagram", BAKERY_IG.id)["id"]
    reel = unique_text("A reel")
    response = publish(api, "instagram", account, reel, media=media(local_stack, "clip.mp4"))
    assert response.status_code in (201, 202), response.text
    post = response.json()

    def published() -> dict[str, Any] | None:
        current = api.get(f"/v1/posts/{post['id']}").json()
        return current if current["status"] == "published" else None

    done = wait_for(published, timeout=60)
    [record] = records(sandbox, "instagram", "caption", reel)
    assert record["id"] == done["uri"] and record["mediaProductType"] == "REELS"
    carousel = unique_text("A carousel")
    response = publish(api, "instagram", account, carousel, media=media(local_stack, "square.jpg", "portrait.jpg"))
    assert response.status_code in (201, 202), response.text
    wait_for(lambda: records(sandbox, "instagram", "caption", carousel), timeout=60)
    [album] = records(sandbox, "instagram", "caption", carousel)
    assert album["mediaType"] == "CAROUSEL_ALBUM" and len(album["children"]) == 2


def test_instagram_preflight(api: httpx.Client, login: dict[str, Any], local_stack: RunningStack) -> None:
    account = row(login, "instagram", BAKERY_IG.id)["id"]
    answer = publish(api, "instagram", account, "Text only")
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"], error["platform"]) == (
        "preflight_failed",
        "instagram.media.required",
        "instagram",
    )
    long = publish(api, "instagram", account, "x" * 2201, media=media(local_stack, "square.jpg"))
    assert long.status_code == 400 and long.json()["error"]["rule"] == "instagram.text.max_graphemes"


def test_instagram_refuses_a_png(
    api: httpx.Client, login: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("Not a JPEG")
    answer = publish(
        api, "instagram", row(login, "instagram", BAKERY_IG.id)["id"], text, media=media(local_stack, "image.png")
    )
    assert answer.status_code in (400, 502), answer.text
    assert answer.json()["error"]["rule"] == "instagram.media.mime_allowed"
    assert records(sandbox, "instagram", "caption", text) == []
