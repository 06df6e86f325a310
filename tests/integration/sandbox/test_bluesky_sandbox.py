"""The Bluesky adapter against the sandbox PDS over HTTP, and the sandbox's own PDS behaviour
(statuses and bodies of PLATFORMS.md §1), checked with raw XRPC calls."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ulid import ULID

from crosspost.errors import AuthExpiredError, ContentRejectedError
from crosspost.platforms.base import MediaItem, PublishRequest
from crosspost.platforms.registry import PLATFORMS
from crosspost.platforms.tid import derive_tid
from local.sandbox import SANDBOX_ACCOUNTS
from local.sandbox import bluesky as sandbox_bluesky

SEED = SANDBOX_ACCOUNTS["bluesky"]


def request(text: str = "Hello from crosspost", **kw: Any) -> PublishRequest:
    kw.setdefault("post_id", f"post_{ULID()}")
    kw.setdefault("created_at", datetime.now(UTC))
    return PublishRequest(text=text, **kw)


def png(size: int = 64, width: int = 800, height: int = 600) -> bytes:
    head = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return head + bytes(max(0, size - len(head)))


def claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return tuple(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (header, payload))


# ---- fixtures and control ------------------------------------------------------------------------


def test_health_seed_and_reset(bsky: Any) -> None:
    health = httpx.get(f"{bsky.url}/_sandbox/health").json()
    assert health["status"] == "ok"
    assert set(health["platforms"]) == set(PLATFORMS)  # every platform of the contract is simulated
    assert SEED == {"handle": "alice.sandbox.test", "appPassword": "sand-box1-pass-word"}
    assert bsky.posts() == []
    bob = bsky.new_account(handle="bob.sandbox.test", displayName="Bob")
    assert bob["did"].startswith("did:plc:") and bob["service"] == bsky.service and bob["appPassword"]
    assert bsky.control("POST", "accounts", {"handle": "bob.sandbox.test"}).status_code == 409
    httpx.post(f"{bsky.url}/_sandbox/reset").raise_for_status()
    handles = [a["handle"] for a in bsky.control("GET", "accounts").json()["accounts"]]
    assert handles == ["alice.sandbox.test"]
    assert httpx.get(f"{bsky.url}/_sandbox/nope/posts").status_code == 404
    assert httpx.get(f"{bsky.url}/nope/xrpc/x").status_code == 404


# ---- login ---------------------------------------------------------------------------------------


def test_login_with_the_seeded_account(bsky: Any) -> None:
    account = bsky.login()
    assert account.platform_account_id == sandbox_bluesky.SEED_DID and account.username == SEED["handle"]
    assert account.display_name == "Alice (sandbox)"
    assert account.tokens.extra["service"] == bsky.service  # the didDoc's #atproto_pds
    assert account.tokens.extra["appPassword"] == SEED["appPassword"]
    expires = account.tokens.access_expires_at
    assert expires is not None and 7100 < (expires - datetime.now(UTC)).total_seconds() <= 7200


def test_wrong_password_is_bluesky_auth_invalid(bsky: Any) -> None:
    with pytest.raises(AuthExpiredError) as caught:
        bsky.login({"appPassword": "wrong-pass-word-1234"})
    assert caught.value.rule == "bluesky.auth.invalid" and caught.value.http_status == 401
    assert caught.value.platform_response == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }
    assert "wrong-pass-word-1234" not in str(caught.value) + repr(caught.value)


def test_session_tokens_look_like_the_pds_ones(bsky: Any) -> None:
    session = bsky.session()
    access_header, access = claims(session["accessJwt"])
    refresh_header, refresh = claims(session["refreshJwt"])
    assert access_header == {"typ": "at+jwt", "alg": "HS256"} and refresh_header["typ"] == "refresh+jwt"
    assert access["sub"] == refresh["sub"] == sandbox_bluesky.SEED_DID
    assert access["scope"] == "com.atproto.appPass" and refresh["scope"] == "com.atproto.refresh"
    assert access["aud"].startswith("did:web:127.0.0.1")
    service = session["didDoc"]["service"][0]
    assert service == {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": bsky.service}
    me = bsky.xrpc("GET", "com.atproto.server.getSession", session["accessJwt"]).json()
    assert me["handle"] == SEED["handle"] and me["did"] == session["did"]


# ---- publishing ----------------------------------------------------------------------------------


def test_publish_with_link_mention_and_hashtag(bsky: Any) -> None:
    bob = bsky.new_account(handle="bob.sandbox.test")
    account = bsky.login()
    text = "Héllo 👋 @bob.sandbox.test, see https://example.com/launch. #crosspost (@ghost.sandbox.test)"
    req = request(text)
    result = bsky.publish(account.tokens, req)
    [stored] = bsky.posts()
    rkey = derive_tid(req.post_id)
    assert stored["rkey"] == rkey and stored["uri"] == result.uri and stored["cid"] == result.cid
    assert stored["did"] == account.platform_account_id and stored["handle"] == SEED["handle"]
    assert result.url == f"https://bsky.app/profile/{SEED['handle']}/post/{rkey}"
    record = stored["record"]
    assert record["text"] == text and record["$type"] == "app.bsky.feed.post"
    raw = text.encode()
    shown = [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0]) for f in record["facets"]
    ]
    assert shown == [
        ("@bob.sandbox.test", {"$type": "app.bsky.richtext.facet#mention", "did": bob["did"]}),
        ("https://example.com/launch", {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/launch"}),
        ("#crosspost", {"$type": "app.bsky.richtext.facet#tag", "tag": "crosspost"}),
    ]


def test_publishing_twice_makes_one_post(bsky: Any) -> None:
    account = bsky.login()
    req = request("only once")
    first = bsky.publish(account.tokens, req)
    second = bsky.publish(account.tokens, req)
    assert first == second
    assert len(bsky.posts()) == 1
    assert bsky.find_published(account.tokens, req) == first
    assert bsky.find_published(account.tokens, request("never sent")) is None


def test_first_comment_replies_to_the_post(bsky: Any) -> None:
    account = bsky.login()
    result = bsky.publish(account.tokens, request("the post", first_comment="the comment #more"))
    post, comment = bsky.posts()
    ref = {"uri": post["uri"], "cid": post["cid"]}
    assert comment["record"]["reply"] == {"root": ref, "parent": ref}
    assert comment["record"]["text"] == "the comment #more" and comment["record"]["facets"]
    assert (result.first_comment_uri, result.first_comment_cid) == (comment["uri"], comment["cid"])
    assert comment["rkey"] != post["rkey"]


def test_image_upload_and_embed(bsky: Any) -> None:
    account = bsky.login()
    image = png(5000, 1200, 900)
    bsky.publish(account.tokens, request("a picture", media=(MediaItem(kind="image", data=image, alt_text="alt"),)))
    [stored] = bsky.posts()
    embed = stored["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    [entry] = embed["images"]
    assert entry["alt"] == "alt" and entry["aspectRatio"] == {"width": 1200, "height": 900}
    assert entry["image"]["mimeType"] == "image/png" and entry["image"]["size"] == 5000
    assert entry["image"]["ref"]["$link"] == sandbox_bluesky.blob_cid(image) and entry["image"]["ref"][
        "$link"
    ].startswith("bafkrei")


def test_the_sandbox_refuses_301_graphemes(bsky: Any) -> None:
    account = bsky.login()
    with pytest.raises(ContentRejectedError) as caught:
        bsky.publish(account.tokens, request("é" * 301))  # the adapter does not pre-check: preflight does
    assert caught.value.rule == "bluesky.record.invalid"
    assert caught.value.platform_response == {
        "error": "InvalidRequest",
        "message": "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
    }
    family = "👨‍👩‍👧‍👦"  # 1 grapheme, 25 bytes: 121 of them = 3025 bytes
    with pytest.raises(ContentRejectedError) as caught:
        bsky.publish(account.tokens, request(family * 121))
    assert "string too big (maximum 3000, got 3025)" in caught.value.platform_response["message"]
    bsky.publish(account.tokens, request("é" * 300))
    assert len(bsky.posts()) == 1


def test_many_posts_at_once(bsky: Any) -> None:
    account = bsky.login()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: bsky.publish(account.tokens, request(f"post {i}")), range(16)))
    assert len({r.uri for r in results}) == 16 and len(bsky.posts()) == 16


# ---- tokens --------------------------------------------------------------------------------------


def test_expired_access_token_then_refresh(bsky: Any) -> None:
    bsky.access_ttl(0)  # tokens minted now are already expired
    account = bsky.login()
    with pytest.raises(AuthExpiredError) as caught:
        bsky.publish(account.tokens, request())
    assert caught.value.platform_response == {"error": "ExpiredToken", "message": "Token has expired"}
    bsky.access_ttl(7200)
    fresh = bsky.refresh(account.tokens)
    assert fresh.refresh_token != account.tokens.refresh_token  # rotated
    bsky.publish(fresh, request())
    assert len(bsky.posts()) == 1


def test_revoked_sessions_fall_back_to_the_app_password(bsky: Any) -> None:
    account = bsky.login()
    bsky.revoke(SEED["handle"])
    with pytest.raises(AuthExpiredError) as caught:
        bsky.publish(account.tokens, request())
    assert caught.value.platform_response == {"error": "ExpiredToken", "message": "Token has been revoked"}
    old_refresh = bsky.xrpc("POST", "com.atproto.server.refreshSession", account.tokens.refresh_token)
    assert (old_refresh.status_code, old_refresh.json()["error"]) == (400, "ExpiredToken")
    fresh = bsky.refresh(account.tokens)  # refreshSession refused → createSession with the app password
    bsky.publish(fresh, request())
    assert len(bsky.posts()) == 1


def test_refresh_fails_when_the_app_password_is_gone_too(bsky: Any) -> None:
    account = bsky.login()
    bsky.revoke(SEED["handle"])
    tokens = account.tokens
    tokens.extra["appPassword"] = "no-longer-valid-1"
    with pytest.raises(AuthExpiredError) as caught:
        bsky.refresh(tokens)
    assert caught.value.rule == "bluesky.auth.expired"


# ---- the sandbox PDS, raw ------------------------------------------------------------------------


def test_auth_errors(bsky: Any) -> None:
    session = bsky.session()
    cases = [
        (bsky.xrpc("GET", "com.atproto.server.getSession"), 401, "AuthMissing", "Authentication Required"),
        (bsky.xrpc("GET", "com.atproto.server.getSession", "garbage"), 400, "InvalidToken", "Malformed token"),
        (
            bsky.xrpc("GET", "com.atproto.server.getSession", "a.b.c"),
            400,
            "InvalidToken",
            "Token could not be verified",
        ),
        (
            bsky.xrpc("POST", "com.atproto.server.refreshSession", session["accessJwt"]),
            400,
            "InvalidToken",
            "Token could not be verified",
        ),
        (
            bsky.xrpc("GET", "com.atproto.server.getSession", session["refreshJwt"]),
            400,
            "InvalidToken",
            "Bad token scope",
        ),
        (
            bsky.xrpc("POST", "com.atproto.server.createSession", json={"identifier": "x.test", "password": "p"}),
            401,
            "AuthenticationRequired",
            "Invalid identifier or password",
        ),
    ]
    for response, status, error, message in cases:
        assert (response.status_code, response.json()) == (status, {"error": error, "message": message})


def test_refresh_rotates_with_a_grace_window(bsky: Any) -> None:
    session = bsky.session()
    first = bsky.xrpc("POST", "com.atproto.server.refreshSession", session["refreshJwt"])
    again = bsky.xrpc("POST", "com.atproto.server.refreshSession", session["refreshJwt"])
    assert first.status_code == again.status_code == 200
    assert first.json()["refreshJwt"] != session["refreshJwt"]


def write(bsky: Any, token: str, nsid: str, **body: Any) -> httpx.Response:
    response: httpx.Response = bsky.xrpc(
        "POST", f"com.atproto.repo.{nsid}", token, json={"repo": sandbox_bluesky.SEED_DID, **body}
    )
    return response


def post_record(text: Any = "hi", **extra: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-05-08T12:00:00.000Z", **extra}


def test_record_key_rules(bsky: Any) -> None:
    token = bsky.session()["accessJwt"]
    bad = write(bsky, token, "putRecord", collection="app.bsky.feed.post", rkey="my-job-123", record=post_record())
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "error": "InvalidRequest",
            "message": 'Invalid record key for app.bsky.feed.post: Invalid TID string (got "my-job-123") at $',
        },
    )
    loose = write(
        bsky,
        token,
        "putRecord",
        collection="app.bsky.feed.post",
        rkey="my-job-123",
        record=post_record(),
        validate=False,
    )
    assert loose.status_code == 200 and "validationStatus" not in loose.json()
    missing = write(bsky, token, "putRecord", collection="app.bsky.feed.post", record=post_record())
    assert missing.json() == {"error": "InvalidRequest", "message": 'Input must have the property "rkey"'}


def test_create_and_put_semantics(bsky: Any) -> None:
    token = bsky.session()["accessJwt"]
    rkey = "3k4duaz5vfs2b"
    created = write(bsky, token, "createRecord", collection="app.bsky.feed.post", rkey=rkey, record=post_record())
    body = created.json()
    assert created.status_code == 200 and body["cid"].startswith("bafyrei") and body["validationStatus"] == "valid"
    assert body["uri"] == f"at://{sandbox_bluesky.SEED_DID}/app.bsky.feed.post/{rkey}" and body["commit"]["rev"]
    duplicate = write(bsky, token, "createRecord", collection="app.bsky.feed.post", rkey=rkey, record=post_record())
    assert (duplicate.status_code, duplicate.json()) == (
        500,
        {"error": "InternalServerError", "message": "Internal Server Error"},
    )
    same = write(
        bsky, token, "putRecord", collection="app.bsky.feed.post", rkey=rkey, record=post_record(), swapRecord=None
    )
    assert same.status_code == 200 and same.json()["cid"] == body["cid"] and "commit" not in same.json()
    other = write(
        bsky, token, "putRecord", collection="app.bsky.feed.post", rkey=rkey, record=post_record("x"), swapRecord=None
    )
    assert (other.status_code, other.json()) == (
        400,
        {"error": "InvalidSwap", "message": f"Record was at {body['cid']}"},
    )
    update = write(bsky, token, "putRecord", collection="app.bsky.feed.post", rkey=rkey, record=post_record("x"))
    assert update.status_code == 200 and update.json()["cid"] != body["cid"] and update.json()["commit"]
    assert [p["record"]["text"] for p in bsky.posts()] == ["x"]
    got = bsky.xrpc(
        "GET",
        "com.atproto.repo.getRecord",
        params={"repo": SEED["handle"], "collection": "app.bsky.feed.post", "rkey": rkey},
    )
    assert got.json()["value"]["text"] == "x" and got.json()["cid"] == update.json()["cid"]
    missing = bsky.xrpc(
        "GET",
        "com.atproto.repo.getRecord",
        params={"repo": sandbox_bluesky.SEED_DID, "collection": "app.bsky.feed.post", "rkey": "3k4duaz5vfs2c"},
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "RecordNotFound")
    assert missing.json()["message"].startswith("Could not locate record: at://")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"$type": "app.bsky.feed.like", "text": "x"},
            "Invalid $type: expected app.bsky.feed.post, got app.bsky.feed.like",
        ),
        (
            {"text": "x"},
            'Invalid app.bsky.feed.post record: Missing required key "createdAt" at $.record',
        ),
        (
            post_record(reply={"root": {"uri": "at://a.test/b.c.d/e"}, "parent": {"uri": "at://x", "cid": "c"}}),
            'Invalid app.bsky.feed.post record: Missing required key "cid" at $.record.reply.root',
        ),
        (
            post_record(reply={"root": {"uri": "at://x/y/z", "cid": "c"}, "parent": {}}),
            'Invalid app.bsky.feed.post record: Invalid at-uri (got "at://x/y/z") at $.record.reply.root.uri',
        ),
        (
            post_record(createdAt="yesterday"),
            'Invalid app.bsky.feed.post record: Invalid datetime (got "yesterday") at $.record.createdAt',
        ),
        (
            post_record(text=5),
            "Invalid app.bsky.feed.post record: Expected string value type (got 5) at $.record.text",
        ),
    ],
)
def test_record_validation(bsky: Any, record: dict[str, Any], message: str) -> None:
    token = bsky.session()["accessJwt"]
    response = write(bsky, token, "createRecord", collection="app.bsky.feed.post", record=record)
    assert (response.status_code, response.json()) == (400, {"error": "InvalidRequest", "message": message})


def test_blob_limits(bsky: Any) -> None:
    token = bsky.session()["accessJwt"]
    big = png(2_100_000)
    uploaded = bsky.xrpc(
        "POST", "com.atproto.repo.uploadBlob", token, content=big, headers={"Content-Type": "application/octet-stream"}
    )
    blob = uploaded.json()["blob"]
    assert blob["mimeType"] == "image/png" and blob["size"] == len(big)  # sniffed, like the PDS
    embed: dict[str, Any] = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": ""}]}
    refused = write(bsky, token, "createRecord", collection="app.bsky.feed.post", record=post_record(embed=embed))
    assert (refused.status_code, refused.json()) == (
        400,
        {
            "error": "InvalidRequest",
            "message": "Invalid app.bsky.feed.post record: blob too big (maximum 2000000, got 2100000)"
            " at $.record.embed.images[0].image",
        },
    )
    small = bsky.xrpc("POST", "com.atproto.repo.uploadBlob", token, content=png(100)).json()["blob"]
    for changed, error in (({"size": 5}, "InvalidSize"), ({"mimeType": "image/jpeg"}, "InvalidMimeType")):
        embed["images"][0]["image"] = {**small, **changed}
        mismatch = write(bsky, token, "createRecord", collection="app.bsky.feed.post", record=post_record(embed=embed))
        assert (mismatch.status_code, mismatch.json()["error"]) == (400, error)
    text = bsky.xrpc(
        "POST", "com.atproto.repo.uploadBlob", token, content=b"hello", headers={"Content-Type": "text/plain"}
    )
    embed["images"][0]["image"] = text.json()["blob"]
    wrong_type = write(bsky, token, "createRecord", collection="app.bsky.feed.post", record=post_record(embed=embed))
    assert wrong_type.json() == {
        "error": "InvalidRequest",
        "message": 'Invalid app.bsky.feed.post record: Expected "image/*" (got "text/plain")'
        " at $.record.embed.images[0].image.mimeType",
    }
    unknown = {**small, "ref": {"$link": "bafkreinotuploaded"}}
    embed["images"][0]["image"] = unknown
    assert (
        write(bsky, token, "createRecord", collection="app.bsky.feed.post", record=post_record(embed=embed)).json()[
            "error"
        ]
        == "BlobNotFound"
    )
    huge = bsky.xrpc("POST", "com.atproto.repo.uploadBlob", token, content=bytes(5 * 1024 * 1024 + 1))
    assert (huge.status_code, huge.json()) == (413, {"error": "PayloadTooLarge", "message": "request entity too large"})


def test_resolve_handle(bsky: Any) -> None:
    found = bsky.xrpc("GET", "com.atproto.identity.resolveHandle", params={"handle": SEED["handle"]})
    assert found.json() == {"did": sandbox_bluesky.SEED_DID}
    missing = bsky.xrpc("GET", "com.atproto.identity.resolveHandle", params={"handle": "nobody.sandbox.test"})
    # @atproto/pds answers InvalidRequest here (tests/realpds), though the lexicon names HandleNotFound
    assert (missing.status_code, missing.json()) == (
        400,
        {"error": "InvalidRequest", "message": "Unable to resolve handle"},
    )


def test_unknown_methods_and_wrong_repo(bsky: Any) -> None:
    assert bsky.xrpc("GET", "app.bsky.actor.getProfile").status_code == 501
    token = bsky.session()["accessJwt"]
    bob = bsky.new_account()
    response = bsky.xrpc(
        "POST",
        "com.atproto.repo.createRecord",
        token,
        json={"repo": bob["did"], "collection": "app.bsky.feed.post", "record": post_record()},
    )
    assert response.status_code == 401


def test_apply_writes(bsky: Any) -> None:
    token = bsky.session()["accessJwt"]
    writes = [
        {"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "value": post_record("a")},
        {"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "value": post_record("b")},
    ]
    response = write(bsky, token, "applyWrites", writes=writes)
    assert response.status_code == 200 and len(response.json()["results"]) == 2
    assert [p["record"]["text"] for p in bsky.posts()] == ["a", "b"]
