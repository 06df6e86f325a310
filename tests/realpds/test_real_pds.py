"""crosspost's Bluesky adapter against the official PDS (issue #5 item 7): connect with an app
password, publish text (with facets), an image with alt text and a first comment, a video, and
publish the same post again without a second record; every record is read back with getRecord.
The HTTP client is crosspost's own (``new_client``: the SSRF guard, with the PDS's origin allowed
as the local stack allows its sandbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from ulid import ULID

from crosspost.errors import AuthExpiredError, ContentRejectedError
from crosspost.platforms.base import ConnectedAccount, MediaItem, PublishRequest, PublishResult, TokenSet
from crosspost.platforms.bluesky import BlueskyAdapter, BlueskyAuth
from crosspost.platforms.http import new_client
from local.sandbox.files import files
from tests.realpds.conftest import RealAccount, RealPds

pytestmark = pytest.mark.realpds

POST = "app.bsky.feed.post"
T = TypeVar("T")


def run(pds: RealPds, use: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with new_client(15, allowed_origins=(pds.url,)) as http:
            return await use(http)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def account(real_pds: RealPds, real_account: RealAccount) -> ConnectedAccount:
    credentials = {"handle": real_account.handle, "appPassword": real_account.app_password, "service": real_pds.url}
    return run(real_pds, lambda http: BlueskyAuth(http).login(credentials))


def publish(pds: RealPds, tokens: TokenSet, request: PublishRequest) -> PublishResult:
    async def go(http: httpx.AsyncClient) -> PublishResult:
        result = await BlueskyAdapter(http).publish(tokens, request)
        assert isinstance(result, PublishResult)
        return result

    return run(pds, go)


def get_record(pds: RealPds, uri: str) -> dict[str, Any]:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    response = pds.xrpc(
        "GET", "com.atproto.repo.getRecord", params={"repo": did, "collection": collection, "rkey": rkey}
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def post_count(pds: RealPds, did: str) -> int:
    response = pds.xrpc("GET", "com.atproto.repo.listRecords", params={"repo": did, "collection": POST, "limit": "100"})
    return len(response.json()["records"])


def request(text: str, **fields: Any) -> PublishRequest:
    return PublishRequest(post_id=str(ULID()), text=text, created_at=datetime.now(UTC), **fields)


def test_connect_with_an_app_password(account: ConnectedAccount, real_pds: RealPds, real_account: RealAccount) -> None:
    assert (account.platform, account.platform_account_id, account.username) == (
        "bluesky",
        real_account.did,
        "alice.test",
    )
    tokens = account.tokens
    assert tokens.extra["service"] == real_pds.url and tokens.extra["did"] == real_account.did
    assert tokens.refresh_token and tokens.access_expires_at is not None
    assert tokens.access_expires_at > datetime.now(UTC)  # read from the PDS's JWT (2 h)


def test_wrong_app_password_is_refused(real_pds: RealPds) -> None:
    credentials = {"handle": "alice.test", "appPassword": "aaaa-bbbb-cccc-dddd", "service": real_pds.url}
    with pytest.raises(AuthExpiredError) as caught:
        run(real_pds, lambda http: BlueskyAuth(http).login(credentials))
    assert caught.value.rule == "bluesky.auth.invalid"
    assert caught.value.platform_response == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }


def test_text_with_facets_is_published(account: ConnectedAccount, real_pds: RealPds) -> None:
    text = "Hello @alice.test from #crosspost: https://example.com/docs"
    result = publish(real_pds, account.tokens, request(text, options={"langs": ["en"]}))
    rkey = result.uri.rsplit("/", 1)[1]
    assert result.url == f"https://bsky.app/profile/alice.test/post/{rkey}"
    stored = get_record(real_pds, result.uri)
    assert stored["cid"] == result.cid
    value = stored["value"]
    assert (value["text"], value["langs"]) == (text, ["en"])
    features = [f["features"][0] for f in value["facets"]]
    assert features == [
        {"$type": "app.bsky.richtext.facet#mention", "did": account.platform_account_id},
        {"$type": "app.bsky.richtext.facet#tag", "tag": "crosspost"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/docs"},
    ]


def test_an_image_with_alt_text_and_a_first_comment(account: ConnectedAccount, real_pds: RealPds) -> None:
    content_type, data = files()["square.jpg"]
    image = MediaItem(kind="image", data=data, content_type=content_type, alt_text="A grey square", size=len(data))
    result = publish(real_pds, account.tokens, request("A picture", media=(image,), first_comment="More below"))
    embed = get_record(real_pds, result.uri)["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    (entry,) = embed["images"]
    assert (entry["alt"], entry["aspectRatio"]) == ("A grey square", {"width": 1080, "height": 1080})
    assert (entry["image"]["mimeType"], entry["image"]["size"]) == ("image/jpeg", len(data))
    assert result.first_comment_uri and result.first_comment_cid
    comment = get_record(real_pds, result.first_comment_uri)
    assert comment["cid"] == result.first_comment_cid
    parent = {"uri": result.uri, "cid": result.cid}
    assert comment["value"]["text"] == "More below"
    assert comment["value"]["reply"] == {"root": parent, "parent": parent}


def test_a_video_is_published_as_a_blob_on_the_pds(account: ConnectedAccount, real_pds: RealPds) -> None:
    content_type, data = files()["clip.mp4"]
    clip = MediaItem(kind="video", data=data, content_type=content_type, alt_text="A clip", width=1280, height=720)
    result = publish(real_pds, account.tokens, request("", media=(clip,)))
    embed = get_record(real_pds, result.uri)["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert (embed["alt"], embed["aspectRatio"]) == ("A clip", {"width": 1280, "height": 720})
    assert (embed["video"]["mimeType"], embed["video"]["size"]) == ("video/mp4", len(data))


def test_publishing_again_reuses_the_record_key(account: ConnectedAccount, real_pds: RealPds) -> None:
    did = account.platform_account_id
    post = request("Exactly once", first_comment="and its comment, once")
    first = publish(real_pds, account.tokens, post)
    count = post_count(real_pds, did)
    again = publish(real_pds, account.tokens, post)  # a retry: same post id, same createdAt
    assert again == first
    assert post_count(real_pds, did) == count

    async def find(http: httpx.AsyncClient) -> PublishResult | None:
        return await BlueskyAdapter(http).find_published(account.tokens, post)

    assert run(real_pds, find) == first
    assert (
        run(real_pds, lambda http: BlueskyAdapter(http).find_published(account.tokens, request("never sent"))) is None
    )


def test_refreshed_tokens_publish(account: ConnectedAccount, real_pds: RealPds) -> None:
    fresh = run(real_pds, lambda http: BlueskyAdapter(http).refresh(account.tokens))
    # The refresh JWT rotates (it carries a jti); the access JWT may be byte-identical when both were
    # minted within the same second, so it is not compared.
    assert fresh.refresh_token != account.tokens.refresh_token and fresh.extra["service"] == real_pds.url
    assert get_record(real_pds, publish(real_pds, fresh, request("After a refresh")).uri)["value"]["text"]


def test_the_pds_refusals_are_classified(account: ConnectedAccount, real_pds: RealPds) -> None:
    with pytest.raises(ContentRejectedError) as refused:
        publish(real_pds, account.tokens, request("a" * 301))  # preflight would stop this; the PDS does too
    assert refused.value.rule == "bluesky.record.invalid"
    assert refused.value.platform_response == {
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
    }
    garbage = TokenSet(access_token="not.a.token", extra=dict(account.tokens.extra))
    with pytest.raises(AuthExpiredError) as expired:
        publish(real_pds, garbage, request("never"))
    assert expired.value.rule == "bluesky.auth.expired"
    assert expired.value.platform_response == {"error": "InvalidToken", "message": "Token could not be verified"}
