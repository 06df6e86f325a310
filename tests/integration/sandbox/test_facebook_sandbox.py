"""FacebookAuth and FacebookAdapter against the simulated Facebook (``/facebook``): the Meta
login with its fixture users, publishing each shape, the real Graph errors and every fault."""

from __future__ import annotations

import json
from typing import Any

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
from crosspost.platforms.facebook import EXTENDED_SCOPES, SCOPES
from local.sandbox import SandboxServer
from tests.integration.sandbox.meta_client import APP, MetaSandbox, post_request

BAKERY, BOOKS, BAKERY_IG = "104000000000001", "104000000000002", "17841400000000001"


@pytest.fixture
def meta(sandbox_server: SandboxServer) -> MetaSandbox:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return MetaSandbox(sandbox_server)


# ---- connect -------------------------------------------------------------------------------------


def test_default_user_yields_two_pages_and_the_linked_instagram(meta: MetaSandbox) -> None:
    accounts = meta.connect()
    assert [(a.platform, a.platform_account_id) for a in accounts] == [
        ("facebook", BAKERY),
        ("facebook", BOOKS),
        ("instagram", BAKERY_IG),
    ]
    bakery, books, ig = accounts
    assert (bakery.username, bakery.display_name, bakery.profile_url) == (
        "sandboxbakery",
        "Sandbox Bakery",
        "https://www.facebook.com/sandboxbakery",
    )
    assert bakery.profile_image_url and bakery.profile_image_url.startswith("https://")
    assert (books.username, books.profile_url) == ("Sandbox Books", f"https://www.facebook.com/{BOOKS}")
    assert bakery.tokens.access_token.startswith("EAA") and bakery.tokens.access_token != books.tokens.access_token
    assert bakery.tokens.connection_expires_at is None and bakery.tokens.refresh_after is None
    assert (ig.username, ig.display_name, ig.profile_url) == (
        "sandbox.bakery",
        "Sandbox Bakery",
        "https://www.instagram.com/sandbox.bakery/",
    )
    assert ig.tokens.access_token == bakery.tokens.access_token
    assert ig.tokens.extra == {"igUserId": BAKERY_IG, "pageId": BAKERY}
    assert ig.platform_block is not None
    assert ig.platform_block["kind"] == "business" and ig.platform_block["accountType"] == "BUSINESS"
    assert set(SCOPES) <= set(ig.platform_block["grantedScopes"])
    assert not set(EXTENDED_SCOPES) & set(ig.platform_block["grantedScopes"])


def test_extended_scopes_are_granted(meta: MetaSandbox) -> None:
    ig = next(a for a in meta.connect(extended=True) if a.platform == "instagram")
    assert ig.platform_block is not None and set(EXTENDED_SCOPES) <= set(ig.platform_block["grantedScopes"])


def test_a_user_without_pages(meta: MetaSandbox) -> None:
    with pytest.raises(ContentRejectedError) as caught:
        meta.connect("no_pages")
    assert caught.value.rule == "facebook.pages.none" and caught.value.http_status == 400


def test_many_pages_are_read_through_every_page_of_results(meta: MetaSandbox) -> None:
    accounts = meta.connect("many_pages")
    pages = [a for a in accounts if a.platform == "facebook"]
    assert len(pages) == 60 and len({a.platform_account_id for a in pages}) == 60
    assert [a.username for a in accounts if a.platform == "instagram"] == ["sandbox.many"]


def test_unknown_fixture_user_is_refused_on_the_dialog(meta: MetaSandbox) -> None:
    response = httpx.get(
        f"{meta.url}/facebook/v21.0/dialog/oauth",
        params={"client_id": APP.client_id, "redirect_uri": "https://a/cb", "sandbox_user": "nobody"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("problem", ["expired", "used", "redirect", "garbage"])
def test_refused_codes_are_auth_failures(meta: MetaSandbox, problem: str) -> None:
    code = meta.authorize()
    if problem == "expired":
        meta.control("facebook", "POST", "expire-codes").raise_for_status()
    if problem == "used":
        meta.complete(code)
    if problem == "garbage":
        code = "not-a-code"
    with pytest.raises(AuthExpiredError) as caught:
        meta.complete(
            code,
            redirect_uri="https://elsewhere/cb" if problem == "redirect" else "https://app.example/crosspost/callback",
        )
    assert caught.value.rule == "facebook.auth.code_invalid" and caught.value.http_status == 401
    assert caught.value.platform_response["code"] == 100
    assert APP.client_secret not in str(caught.value) + json.dumps(caught.value.platform_response)


def test_token_exchange_errors_are_graphs(meta: MetaSandbox) -> None:
    wrong_secret = meta.graph(
        "facebook",
        "GET",
        "oauth/access_token",
        params={"client_id": APP.client_id, "client_secret": "nope", "code": "x", "redirect_uri": "https://a"},
    )
    assert wrong_secret.status_code == 400 and wrong_secret.json()["error"]["code"] == 1
    expired = meta.graph(
        "facebook",
        "GET",
        "oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": APP.client_id,
            "client_secret": APP.client_secret,
            "fb_exchange_token": "EAAnot-a-token",
        },
    )
    assert expired.status_code == 400 and expired.json()["error"]["code"] == 190
    assert "fbtrace_id" in expired.json()["error"]


def test_long_lived_exchange_and_graph_reads(meta: MetaSandbox) -> None:
    code = meta.authorize()
    short = meta.graph(
        "facebook",
        "GET",
        "oauth/access_token",
        params={
            "client_id": APP.client_id,
            "client_secret": APP.client_secret,
            "code": code,
            "redirect_uri": "https://app.example/crosspost/callback",
        },
    ).json()
    assert short["token_type"] == "bearer" and short["expires_in"] <= 2 * 3600
    long = meta.graph(
        "facebook",
        "GET",
        "oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": APP.client_id,
            "client_secret": APP.client_secret,
            "fb_exchange_token": short["access_token"],
        },
    ).json()
    assert long["expires_in"] > 50 * 86400
    # the token also works as an access_token parameter, as on Graph
    me = meta.graph("facebook", "GET", "me", params={"fields": "id,name", "access_token": long["access_token"]})
    assert me.json() == {"id": "10150000000000001", "name": "Sam Sandbox"}
    first = meta.graph("facebook", "GET", "me/accounts", long["access_token"], params={"limit": "1"}).json()
    assert len(first["data"]) == 1 and "next" in first["paging"] and first["data"][0]["access_token"]
    second = meta.graph(
        "facebook",
        "GET",
        "me/accounts",
        long["access_token"],
        params={"limit": "1", "after": first["paging"]["cursors"]["after"]},
    ).json()
    assert second["data"][0]["id"] == BOOKS and "next" not in second["paging"]
    bad_proof = meta.graph("facebook", "GET", "me", long["access_token"], params={"appsecret_proof": "00"})
    assert bad_proof.status_code == 400 and bad_proof.json()["error"]["code"] == 100


# ---- publish -------------------------------------------------------------------------------------


def test_text_post(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    request = post_request()
    result = meta.publish("facebook", page.tokens, request)
    assert result.uri.startswith(f"{BAKERY}_") and result.url and result.url.startswith("https://www.facebook.com/")
    [post] = meta.posts("facebook")
    assert (post["id"], post["type"], post["message"], post["pageId"]) == (result.uri, "status", request.text, BAKERY)
    assert meta.find("facebook", page.tokens, request) == result


def test_the_same_status_twice_is_a_duplicate(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    meta.publish("facebook", page.tokens, post_request("Same words"))
    with pytest.raises(ContentRejectedError) as caught:
        meta.publish("facebook", page.tokens, post_request("Same words"))
    assert caught.value.rule == "facebook.duplicate" and caught.value.platform_response["code"] == 506


def test_one_photo(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    result = meta.publish("facebook", page.tokens, post_request("A photo", meta.image(alt_text="bread")))
    [post] = meta.posts("facebook")
    assert post["id"] == result.uri and post["type"] == "photo" and post["message"] == "A photo"
    assert post["attachedMedia"][0]["url"].endswith("/square.jpg") and post["attachedMedia"][0]["altText"] == "bread"


def test_several_photos(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    media = (meta.image("square.jpg"), meta.image("portrait.jpg"), meta.image("image.png"))
    result = meta.publish("facebook", page.tokens, post_request("An album", *media))
    [post] = meta.posts("facebook")
    assert post["id"] == result.uri and post["type"] == "album"
    assert [m["url"].rsplit("/", 1)[1] for m in post["attachedMedia"]] == ["square.jpg", "portrait.jpg", "image.png"]
    photos = meta.control("facebook", "GET", "photos").json()["photos"]
    assert len(photos) == 3 and all(not p["published"] and p["attachedTo"] == result.uri for p in photos)


def test_video(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    request = post_request("A video", meta.video())
    result = meta.publish("facebook", page.tokens, request)
    [post] = meta.posts("facebook")
    assert post["type"] == "video" and post["videoId"] == result.uri and post["message"] == "A video"
    assert result.url == f"https://www.facebook.com/{BAKERY}/videos/{result.uri}/"
    assert meta.find("facebook", page.tokens, request) == result


@pytest.mark.parametrize(
    ("media", "rule"),
    [
        ("big.jpg", "facebook.media.too_large"),
        ("nothing-here.jpg", "facebook.media.invalid"),
        ("clip.mp4", "facebook.media.invalid"),  # a video where a photo was promised
    ],
)
def test_refused_photos(meta: MetaSandbox, media: str, rule: str) -> None:
    page = meta.account("facebook")
    with pytest.raises(ContentRejectedError) as caught:
        meta.publish("facebook", page.tokens, post_request("x", meta.image(media)))
    assert caught.value.rule == rule and meta.posts("facebook") == []


def test_a_page_token_writes_only_its_page(meta: MetaSandbox) -> None:
    bakery = meta.account("facebook")
    response = meta.graph("facebook", "POST", f"{BOOKS}/feed", bakery.tokens.access_token, data={"message": "hi"})
    assert response.status_code == 403 and response.json()["error"]["code"] == 200


def test_a_declined_permission_is_permission_missing(meta: MetaSandbox) -> None:
    page = meta.account("facebook", "no_publish")
    with pytest.raises(AuthExpiredError) as caught:
        meta.publish("facebook", page.tokens, post_request())
    assert caught.value.rule == "facebook.permission.missing"


def test_revoked_tokens_and_no_refresh(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    meta.control("facebook", "POST", "revoke-tokens").raise_for_status()
    with pytest.raises(AuthExpiredError) as caught:
        meta.publish("facebook", page.tokens, post_request())
    assert caught.value.rule == "facebook.auth.expired"
    assert caught.value.platform_response["code"] == 190 and caught.value.platform_response["error_subcode"] == 460
    with pytest.raises(AuthExpiredError):
        meta.refresh("facebook", page.tokens)


# ---- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, ContentRejectedError, 100),
        (401, AuthExpiredError, 190),
        (429, RateLimitedError, 4),
        (500, OutcomeUnknownError, 1),
        (503, PlatformUnavailableError, 2),
    ],
)
def test_each_fault_status(meta: MetaSandbox, status: int, kind: type[PlatformError], code: int) -> None:
    page = meta.account("facebook")
    meta.fault("facebook", status=status, retryAfter=7)
    with pytest.raises(kind) as caught:
        meta.publish("facebook", page.tokens, post_request())
    assert caught.value.platform_response["code"] == code and caught.value.platform == "facebook"
    if status == 429:
        assert caught.value.retry_after == 60  # whole minutes from X-Business-Use-Case-Usage
    assert meta.posts("facebook") == []
    meta.publish("facebook", page.tokens, post_request())
    assert len(meta.posts("facebook")) == 1


def test_the_429_carries_meta_usage_headers(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    meta.fault("facebook", status=429, retryAfter=150)
    response = meta.graph("facebook", "POST", f"{BAKERY}/feed", page.tokens.access_token, data={"message": "x"})
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert json.loads(response.headers["X-App-Usage"])["call_count"] == 100
    usage: dict[str, Any] = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert next(iter(usage.values()))[0]["estimated_time_to_regain_access"] == 3


def test_faults_hit_only_publishing_calls(meta: MetaSandbox) -> None:
    meta.fault("facebook", status=503)
    page = meta.account("facebook")  # the login and the reads pass
    with pytest.raises(PlatformUnavailableError):
        meta.publish("facebook", page.tokens, post_request())


def test_after_commit_on_the_album_post_is_reconciled(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    request = post_request("Album", meta.image(), meta.image("portrait.jpg"))
    meta.fault("facebook", status=500, mode="after_commit", after=2)  # the two photos pass, the feed post faults
    with pytest.raises(OutcomeUnknownError):
        meta.publish("facebook", page.tokens, request)
    [post] = meta.posts("facebook")
    found = meta.find("facebook", page.tokens, request)
    assert found is not None and found.uri == post["id"]


def test_timeout_on_create_is_outcome_unknown_and_finds_nothing(meta: MetaSandbox) -> None:
    page = meta.account("facebook")
    request = post_request()
    meta.fault("facebook", mode="timeout", holdSeconds=2)
    with pytest.raises(OutcomeUnknownError):
        meta.publish("facebook", page.tokens, request, timeout=1)
    assert meta.posts("facebook") == [] and meta.find("facebook", page.tokens, request) is None
