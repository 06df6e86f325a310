"""BlueskyAdapter and BlueskyAuth against a scripted PDS on httpx.MockTransport (no sockets)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ulid import ULID

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    CrosspostError,
    PlatformUnavailableError,
    ValidationFailedError,
)
from crosspost.media import sniff_image
from crosspost.platforms.base import MediaItem, PublishRequest, TokenSet
from crosspost.platforms.bluesky import BlueskyAdapter, BlueskyAuth, jwt_expiry, pds_endpoint
from crosspost.platforms.registry import adapter_for, credentials_auth_for
from crosspost.platforms.tid import derive_tid, is_valid_tid

SERVICE = "https://entryway.example"
PDS = "https://pds.example"
DID = "did:plc:abcdefghijklmnopqrstuvwx"
HANDLE = "alice.example.com"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
EXP = 1_900_000_000


def jwt(kind: str, n: int = 1, exp: int = EXP) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'typ': kind, 'alg': 'HS256'})}.{part({'sub': DID, 'exp': exp, 'n': n})}.c2lnbmF0dXJlLXNlY3JldA"


ACCESS = jwt("at+jwt")
REFRESH = jwt("refresh+jwt")
Handler = Callable[[httpx.Request], httpx.Response]


def err(status: int, name: str, message: str = "msg", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": name, "message": message}, headers=headers)


def session_body(n: int = 1, endpoint: str = PDS) -> dict[str, Any]:
    return {
        "accessJwt": jwt("at+jwt", n),
        "refreshJwt": jwt("refresh+jwt", n),
        "handle": HANDLE,
        "did": DID,
        "didDoc": {"id": DID, "service": [{"id": "#atproto_pds", "serviceEndpoint": endpoint}]},
    }


class FakePds:
    """Routes by NSID to handlers; records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler | list[Handler]] = {}
        self.requests: list[httpx.Request] = []
        self.records: dict[str, dict[str, Any]] = {}
        self.routes["com.atproto.repo.putRecord"] = self.put_record
        self.routes["com.atproto.repo.getRecord"] = self.get_record
        self.routes["com.atproto.identity.resolveHandle"] = lambda r: err(400, "HandleNotFound")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nsid = request.url.path.rsplit("/", 1)[-1]
        route = self.routes.get(nsid)
        if isinstance(route, list):
            route = route.pop(0)
        if route is None:
            return err(501, "MethodNotImplemented")
        return route(request)

    def calls(self, nsid: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(nsid)]

    def put_record(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        cid = "bafyrei" + str(abs(hash(json.dumps(body["record"], sort_keys=True))))
        uri = f"at://{body['repo']}/{body['collection']}/{body['rkey']}"
        existing = self.records.get(body["rkey"])
        if existing is not None and existing["cid"] != cid and "swapRecord" in body:
            return err(400, "InvalidSwap", f"Record was at {existing['cid']}")
        self.records[body["rkey"]] = {"uri": uri, "cid": cid, "value": body["record"]}
        return httpx.Response(200, json={"uri": uri, "cid": cid})

    def get_record(self, request: httpx.Request) -> httpx.Response:
        found = self.records.get(request.url.params["rkey"])
        if found is None:
            return err(400, "RecordNotFound", "Could not locate record")
        return httpx.Response(200, json=found)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def client(pds: FakePds) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(pds))


def tokens(**extra: Any) -> TokenSet:
    return TokenSet(
        access_token=ACCESS,
        refresh_token=REFRESH,
        extra={"service": PDS, "did": DID, "handle": HANDLE, "appPassword": APP_PASSWORD, **extra},
    )


def request(text: str = "Hello", **kw: Any) -> PublishRequest:
    kw.setdefault("post_id", f"post_{ULID()}")
    kw.setdefault("created_at", datetime(2026, 5, 8, 12, 0, 0, 123456, tzinfo=UTC))
    return PublishRequest(text=text, **kw)


def png(width: int, height: int) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\x0dIHDR"
        + width.to_bytes(4, "big")
        + height.to_bytes(4, "big")
        + bytes(20)
    )


def no_secret(*errors: BaseException) -> None:
    for error in errors:
        texts = [str(error), repr(error), repr(error.args)]
        if isinstance(error, CrosspostError):
            texts += [json.dumps(error.platform_response), str(error.remediation), repr(error.details)]
        for text in texts:
            for secret in (APP_PASSWORD, ACCESS, REFRESH, jwt("at+jwt", 2), jwt("refresh+jwt", 2)):
                assert secret not in text


# ---- registry, capabilities ----------------------------------------------------------------------


def test_registry_finds_the_adapter_and_auth() -> None:
    http = client(FakePds())
    assert isinstance(adapter_for("bluesky", http), BlueskyAdapter)
    auth = credentials_auth_for("bluesky", http)
    assert isinstance(auth, BlueskyAuth) and auth.fields == ("handle", "appPassword") and auth.platform == "bluesky"
    caps = BlueskyAdapter.capabilities
    assert (caps.text_max_graphemes, caps.text_max_bytes, caps.max_images, caps.max_videos) == (300, 3000, 4, 1)
    assert caps.first_comment and caps.first_comment_max_graphemes == 300 and caps.idempotent_create
    assert caps.alt_text_max_graphemes == 2000 and caps.renews_indefinitely and caps.image_video_exclusive
    # Stage-B limits (the lexicon's): any image type up to 2 MB, one MP4 video up to 100 MB, sent as bytes.
    assert caps.media_transfer == "bytes"
    assert (caps.image_mime_types, caps.image_max_bytes) == (frozenset({"image/*"}), 2_000_000)
    assert (caps.video_mime_types, caps.video_max_bytes) == (frozenset({"video/mp4"}), 100_000_000)


# ---- JWT, DID document -----------------------------------------------------------------------------


def test_jwt_expiry_is_read_without_verification() -> None:
    assert jwt_expiry(ACCESS) == datetime.fromtimestamp(EXP, UTC)
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.b.c") is None
    assert jwt_expiry("a." + base64.urlsafe_b64encode(b'{"exp":"soon"}').decode() + ".c") is None
    assert jwt_expiry("a." + base64.urlsafe_b64encode(b'{"sub":"x"}').decode() + ".c") is None
    assert jwt_expiry("a." + base64.urlsafe_b64encode(b'{"exp":1e300}').decode() + ".c") is None


@pytest.mark.parametrize(
    ("endpoint", "used"),
    [
        ("https://morel.us-east.host.bsky.network", "https://morel.us-east.host.bsky.network"),
        (f"{SERVICE}/", SERVICE),
        ("http://pds.example", SERVICE),  # not https
        ("https://127.0.0.1:2583", SERVICE),
        ("https://169.254.169.254", SERVICE),
        ("https://localhost", SERVICE),
        ("https://user:pw@pds.example", SERVICE),
    ],
)
def test_pds_endpoint_from_the_did_document(endpoint: str, used: str) -> None:
    doc = {"service": [{"id": "#atproto_pds", "serviceEndpoint": endpoint}]}
    assert pds_endpoint(doc, SERVICE) == used


def test_pds_endpoint_on_the_same_origin_may_be_http() -> None:
    doc = {"service": [{"id": f"{DID}#atproto_pds", "serviceEndpoint": "http://127.0.0.1:8787/bluesky"}]}
    assert pds_endpoint(doc, "http://127.0.0.1:8787/bluesky") == "http://127.0.0.1:8787/bluesky"
    assert pds_endpoint(None, SERVICE) == SERVICE
    assert pds_endpoint({"service": [{"id": "#other", "serviceEndpoint": "https://x.example"}]}, SERVICE) == SERVICE


# ---- login -----------------------------------------------------------------------------------------


def test_login_uses_the_pds_from_the_did_document() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(200, json=session_body())
    pds.routes["com.atproto.repo.getRecord"] = lambda r: httpx.Response(
        200,
        json={
            "uri": "x",
            "cid": "y",
            "value": {"displayName": " Alice ", "avatar": {"$type": "blob", "ref": {"$link": "bafkreiavatar"}}},
        },
    )
    account = run(
        BlueskyAuth(client(pds)).login(
            {"handle": "@Alice.Example.com", "appPassword": APP_PASSWORD, "service": SERVICE}
        )
    )
    create = pds.calls("createSession")[0]
    assert str(create.url) == f"{SERVICE}/xrpc/com.atproto.server.createSession"
    assert json.loads(create.content) == {"identifier": HANDLE, "password": APP_PASSWORD}
    profile = pds.calls("getRecord")[0]
    assert str(profile.url).startswith(f"{PDS}/xrpc/com.atproto.repo.getRecord")
    assert dict(profile.url.params) == {"repo": DID, "collection": "app.bsky.actor.profile", "rkey": "self"}
    assert (account.platform, account.platform_account_id, account.username) == ("bluesky", DID, HANDLE)
    assert account.display_name == "Alice" and account.profile_url == f"https://bsky.app/profile/{HANDLE}"
    assert account.profile_image_url == f"{PDS}/xrpc/com.atproto.sync.getBlob?did={DID}&cid=bafkreiavatar"
    t = account.tokens
    assert (t.access_token, t.refresh_token) == (session_body()["accessJwt"], session_body()["refreshJwt"])
    assert t.access_expires_at == datetime.fromtimestamp(EXP, UTC) and t.connection_expires_at is None
    assert t.extra == {"service": PDS, "did": DID, "handle": HANDLE, "appPassword": APP_PASSWORD}


def test_login_without_a_profile_has_no_display_name() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(200, json=session_body())
    account = run(BlueskyAuth(client(pds)).login({"handle": HANDLE, "appPassword": APP_PASSWORD, "service": SERVICE}))
    assert account.display_name is None and account.profile_image_url is None


def test_wrong_credentials_are_bluesky_auth_invalid() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.createSession"] = lambda r: err(
        401, "AuthenticationRequired", "Invalid identifier or password"
    )
    with pytest.raises(AuthExpiredError) as caught:
        run(BlueskyAuth(client(pds)).login({"handle": HANDLE, "appPassword": APP_PASSWORD, "service": SERVICE}))
    error = caught.value
    assert error.rule == "bluesky.auth.invalid" and error.http_status == 401 and error.platform == "bluesky"
    assert error.message == "Bluesky refused the handle or app password."
    assert error.platform_response == {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    no_secret(error)


def test_email_code_accounts_are_told_to_use_an_app_password() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.createSession"] = lambda r: err(401, "AuthFactorTokenRequired")
    with pytest.raises(AuthExpiredError) as caught:
        run(BlueskyAuth(client(pds)).login({"handle": HANDLE, "appPassword": APP_PASSWORD, "service": SERVICE}))
    assert caught.value.rule == "bluesky.auth.factor_required" and caught.value.http_status == 401


def test_unreachable_service_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(PlatformUnavailableError) as caught:
        run(
            BlueskyAuth(httpx.AsyncClient(transport=httpx.MockTransport(refuse))).login(
                {"handle": HANDLE, "appPassword": APP_PASSWORD, "service": SERVICE}
            )
        )
    assert caught.value.retryable and caught.value.platform == "bluesky"
    no_secret(caught.value)


def test_missing_credentials_are_a_validation_error() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        run(BlueskyAuth(client(FakePds())).login({"handle": HANDLE, "appPassword": ""}))
    assert caught.value.field == "credentials.appPassword"


# ---- refresh ---------------------------------------------------------------------------------------


def test_refresh_sends_the_refresh_jwt_without_a_body() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.refreshSession"] = lambda r: httpx.Response(200, json=session_body(2))
    fresh = run(BlueskyAdapter(client(pds)).refresh(tokens(custom="kept")))
    [call] = pds.calls("refreshSession")
    assert call.method == "POST" and call.headers["Authorization"] == f"Bearer {REFRESH}" and call.content == b""
    assert fresh.access_token == jwt("at+jwt", 2) and fresh.refresh_token == jwt("refresh+jwt", 2)
    assert fresh.extra["custom"] == "kept" and fresh.extra["appPassword"] == APP_PASSWORD


@pytest.mark.parametrize(
    "refused",
    [
        err(400, "ExpiredToken", "Token has been revoked"),
        err(400, "InvalidToken", "Token could not be verified"),
        err(401, "AuthMissing", "Authentication Required"),
    ],
)
def test_dead_refresh_token_falls_back_to_the_app_password(refused: httpx.Response) -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.refreshSession"] = lambda r: refused
    pds.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(200, json=session_body(3))
    fresh = run(BlueskyAdapter(client(pds)).refresh(tokens()))
    [login] = pds.calls("createSession")
    assert str(login.url).startswith(PDS)
    assert json.loads(login.content) == {"identifier": DID, "password": APP_PASSWORD}
    assert fresh.access_token == jwt("at+jwt", 3)


def test_refresh_fails_when_the_app_password_is_refused_too() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.refreshSession"] = lambda r: err(400, "ExpiredToken", "Token has been revoked")
    pds.routes["com.atproto.server.createSession"] = lambda r: err(401, "AuthenticationRequired", "Invalid identifier")
    with pytest.raises(AuthExpiredError) as caught:
        run(BlueskyAdapter(client(pds)).refresh(tokens()))
    assert caught.value.rule == "bluesky.auth.expired"
    no_secret(caught.value)


def test_refresh_without_a_stored_app_password() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.refreshSession"] = lambda r: err(400, "ExpiredToken")
    with pytest.raises(AuthExpiredError):
        run(BlueskyAdapter(client(pds)).refresh(tokens(appPassword=None)))
    assert pds.calls("createSession") == []


def test_refresh_5xx_is_unavailable_not_a_relogin() -> None:
    pds = FakePds()
    pds.routes["com.atproto.server.refreshSession"] = lambda r: err(503, "NotEnoughResources")
    with pytest.raises(PlatformUnavailableError):
        run(BlueskyAdapter(client(pds)).refresh(tokens()))
    assert pds.calls("createSession") == []


# ---- publish ---------------------------------------------------------------------------------------


def test_publish_puts_a_record_at_the_derived_key() -> None:
    pds = FakePds()
    req = request("Hello https://example.com #crosspost", options={"langs": ["en", "fr", "de", "it"]})
    result = run(BlueskyAdapter(client(pds)).publish(tokens(), req))
    [put] = pds.calls("putRecord")
    body = json.loads(put.content)
    rkey = derive_tid(req.post_id)
    assert put.headers["Authorization"] == f"Bearer {ACCESS}" and str(put.url).startswith(PDS)
    assert body["repo"] == DID and body["collection"] == "app.bsky.feed.post" and body["rkey"] == rkey
    assert "swapRecord" in body and body["swapRecord"] is None
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == req.text
    assert record["createdAt"] == "2026-05-08T12:00:00.123Z"
    assert record["langs"] == ["en", "fr", "de"]
    assert [f["features"][0]["$type"] for f in record["facets"]] == [
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
    ]
    assert result.uri == f"at://{DID}/app.bsky.feed.post/{rkey}" and result.cid
    assert result.url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}" and is_valid_tid(rkey)


def test_a_retry_sends_a_byte_identical_request() -> None:
    pds = FakePds()
    adapter = BlueskyAdapter(client(pds))
    req = request("Same @nobody.example.com")
    first, second = run(adapter.publish(tokens(), req)), run(adapter.publish(tokens(), req))
    puts = pds.calls("putRecord")
    assert first == second and len(puts) == 2 and puts[0].content == puts[1].content


def test_mentions_resolve_to_dids_and_unknown_handles_are_plain_text() -> None:
    pds = FakePds()

    def resolve(r: httpx.Request) -> httpx.Response:
        if r.url.params["handle"] == "bob.example.com":
            return httpx.Response(200, json={"did": "did:plc:bob"})
        return err(400, "HandleNotFound", "Unable to resolve handle")

    pds.routes["com.atproto.identity.resolveHandle"] = resolve
    run(BlueskyAdapter(client(pds)).publish(tokens(), request("hi @bob.example.com and @ghost.example.com")))
    record = json.loads(pds.calls("putRecord")[0].content)["record"]
    assert record["facets"] == [
        {
            "index": {"byteStart": 3, "byteEnd": 19},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
        }
    ]
    assert "Authorization" not in pds.calls("resolveHandle")[0].headers


def test_a_resolver_outage_is_unavailable_not_a_silently_different_record() -> None:
    pds = FakePds()
    pds.routes["com.atproto.identity.resolveHandle"] = lambda r: err(502, "UpstreamFailure")
    with pytest.raises(PlatformUnavailableError):
        run(BlueskyAdapter(client(pds)).publish(tokens(), request("hi @bob.example.com")))
    assert pds.calls("putRecord") == []


@pytest.mark.parametrize(
    "refused",
    [err(400, "ExpiredToken", "Token has expired"), err(400, "InvalidToken"), err(401, "AuthMissing")],
)
def test_a_refused_token_is_auth_expired(refused: httpx.Response) -> None:
    pds = FakePds()
    pds.routes["com.atproto.repo.putRecord"] = lambda r: refused
    with pytest.raises(AuthExpiredError) as caught:
        run(BlueskyAdapter(client(pds)).publish(tokens(), request()))
    no_secret(caught.value)


def test_an_earlier_attempt_at_our_key_is_our_post() -> None:
    # Given an earlier attempt of this post committed a slightly different record (say, a mention
    # resolved then and not now)
    pds = FakePds()
    req = request("Hi")
    rkey = derive_tid(req.post_id)
    earlier = {"$type": "app.bsky.feed.post", "text": "Hi", "createdAt": "2026-05-08T12:00:00.123Z", "langs": ["x"]}
    pds.records[rkey] = {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafyreiearlier", "value": earlier}
    # When it is published again
    result = run(BlueskyAdapter(client(pds)).publish(tokens(), req))
    # Then the existing record is the result, and nothing is overwritten
    assert result.cid == "bafyreiearlier" and pds.records[rkey]["value"] == earlier


def test_another_post_at_our_key_moves_us_to_the_next_key() -> None:
    pds = FakePds()
    req = request("Mine")
    rkey = derive_tid(req.post_id)
    other = {"$type": "app.bsky.feed.post", "text": "Someone else's", "createdAt": "2026-05-08T12:00:00.123Z"}
    pds.records[rkey] = {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafyreiother", "value": other}
    adapter = BlueskyAdapter(client(pds))
    result = run(adapter.publish(tokens(), req))
    second_key = derive_tid(req.post_id, salt=":1")
    assert result.uri.endswith(second_key) and result.url and result.url.endswith(second_key)
    assert pds.records[rkey]["value"] == other
    assert run(adapter.publish(tokens(), req)) == result  # a retry walks the same keys
    found = run(adapter.find_published(tokens(), req))
    assert found is not None and found.uri == result.uri


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("dropped"), httpx.ConnectTimeout("no")],
)
def test_transport_failures_on_put_are_retryable(failure: Exception) -> None:
    pds = FakePds()

    def fail(r: httpx.Request) -> httpx.Response:
        raise failure

    pds.routes["com.atproto.repo.putRecord"] = fail
    with pytest.raises(PlatformUnavailableError) as caught:
        run(BlueskyAdapter(client(pds)).publish(tokens(), request()))
    assert caught.value.retryable
    no_secret(caught.value)


def test_images_are_uploaded_and_embedded_in_order() -> None:
    pds = FakePds()
    uploads: list[bytes] = []

    def upload(r: httpx.Request) -> httpx.Response:
        uploads.append(r.content)
        blob = {"$type": "blob", "ref": {"$link": f"bafkrei{len(uploads)}"}, "mimeType": r.headers["content-type"]}
        return httpx.Response(200, json={"blob": {**blob, "size": len(r.content)}})

    pds.routes["com.atproto.repo.uploadBlob"] = upload
    first, second = png(640, 480), png(10, 20)
    media = (
        MediaItem(kind="image", data=first, alt_text="a cat"),
        MediaItem(kind="image", data=second, content_type="image/png", width=100, height=50),
    )
    run(BlueskyAdapter(client(pds)).publish(tokens(), request("pics", media=media)))
    assert uploads == [first, second]
    assert pds.calls("uploadBlob")[0].headers["Authorization"] == f"Bearer {ACCESS}"
    embed = json.loads(pds.calls("putRecord")[0].content)["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [(i["alt"], i["aspectRatio"], i["image"]["ref"]["$link"]) for i in embed["images"]] == [
        ("a cat", {"width": 640, "height": 480}, "bafkrei1"),
        ("", {"width": 100, "height": 50}, "bafkrei2"),
    ]


def mp4(brand: bytes = b"mp42", size: int = 256) -> bytes:
    ftyp = (24).to_bytes(4, "big") + b"ftyp" + brand + bytes(4) + brand + b"isom"
    return ftyp + (size - 24).to_bytes(4, "big") + b"mdat" + bytes(size - 32)


def blob_upload(uploads: list[bytes]) -> Handler:
    def upload(r: httpx.Request) -> httpx.Response:
        uploads.append(r.content)
        blob = {"$type": "blob", "ref": {"$link": f"bafkrei{len(uploads)}"}, "mimeType": r.headers["content-type"]}
        return httpx.Response(200, json={"blob": {**blob, "size": len(r.content)}})

    return upload


def test_a_video_is_uploaded_as_a_blob_and_embedded_with_alt_and_aspect_ratio() -> None:
    pds = FakePds()
    uploads: list[bytes] = []
    pds.routes["com.atproto.repo.uploadBlob"] = blob_upload(uploads)
    clip = mp4()
    media = (MediaItem(kind="video", data=clip, content_type="video/mp4", alt_text="a clip", width=1920, height=1080),)
    result = run(BlueskyAdapter(client(pds)).publish(tokens(), request("watch", media=media)))
    assert uploads == [clip] and result.uri
    assert pds.calls("uploadBlob")[0].headers["Content-Type"] == "video/mp4"
    embed = json.loads(pds.calls("putRecord")[0].content)["record"]["embed"]
    assert embed == {
        "$type": "app.bsky.embed.video",
        "video": {"$type": "blob", "ref": {"$link": "bafkrei1"}, "mimeType": "video/mp4", "size": len(clip)},
        "alt": "a clip",
        "aspectRatio": {"width": 1920, "height": 1080},
    }


def test_a_video_without_alt_or_size_leaves_them_out_and_its_type_is_sniffed() -> None:
    pds = FakePds()
    pds.routes["com.atproto.repo.uploadBlob"] = blob_upload([])
    run(BlueskyAdapter(client(pds)).publish(tokens(), request("", media=(MediaItem(kind="video", data=mp4()),))))
    assert pds.calls("uploadBlob")[0].headers["Content-Type"] == "video/mp4"
    embed = json.loads(pds.calls("putRecord")[0].content)["record"]["embed"]
    assert set(embed) == {"$type", "video"}


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (MediaItem(kind="image", url="https://example.com/a.png"), "bluesky.media.invalid"),
        (MediaItem(kind="video", url="https://example.com/a.mp4"), "bluesky.media.invalid"),
        (MediaItem(kind="image", data=png(1, 1) + bytes(2_000_000)), "bluesky.media.too_large"),
        (MediaItem(kind="image", data=b"plain text"), "bluesky.media.mime_allowed"),
        (MediaItem(kind="image", data=png(1, 1), content_type="application/pdf"), "bluesky.media.mime_allowed"),
        (MediaItem(kind="video", data=mp4(b"qt  ")), "bluesky.media.mime_allowed"),
        (MediaItem(kind="video", data=mp4(), content_type="video/quicktime"), "bluesky.media.mime_allowed"),
        (MediaItem(kind="video", data=b"not a video at all"), "bluesky.media.mime_allowed"),
        (MediaItem(kind="video", data=mp4(), alt_text="x" * 1001), "bluesky.media.alt_text_max_graphemes"),
    ],
)
def test_unsupported_media_is_refused_before_anything_is_sent(item: MediaItem, rule: str) -> None:
    pds = FakePds()
    with pytest.raises(ContentRejectedError) as caught:
        run(BlueskyAdapter(client(pds)).publish(tokens(), request("x", media=(item,))))
    assert caught.value.rule == rule and caught.value.field.startswith("media[0]") and pds.requests == []


def test_preflight_checks_known_image_bytes() -> None:
    req = request(
        "x",
        media=(
            MediaItem(kind="image", data=png(1, 1)),
            MediaItem(kind="image", data=png(1, 1) + bytes(2_000_000)),
            MediaItem(kind="image", alt_text="no bytes yet"),
        ),
    )
    assert [(d.rule, d.field) for d in BlueskyAdapter.preflight(req)] == [("bluesky.media.too_large", "media[1]")]


def test_preflight_checks_a_videos_stored_type_and_size() -> None:
    def rules(item: MediaItem) -> list[tuple[str, str | None]]:
        return [(d.rule, d.field) for d in BlueskyAdapter.preflight(request("x", media=(item,)))]

    assert rules(MediaItem(kind="video", content_type="video/mp4", size=100_000_000)) == []
    assert rules(MediaItem(kind="video", content_type="video/mp4", size=100_000_001)) == [
        ("bluesky.media.too_large", "media[0]")
    ]
    assert rules(MediaItem(kind="video", content_type="video/quicktime", size=10)) == [
        ("bluesky.media.mime_allowed", "media[0]")
    ]
    assert rules(MediaItem(kind="video", alt_text="é" * 1000)) == []
    assert rules(MediaItem(kind="video", alt_text="é" * 1001)) == [
        ("bluesky.media.alt_text_max_graphemes", "media[0].altText")
    ]


def test_sniffing() -> None:
    assert sniff_image(png(3, 4)) == ("image/png", 3, 4)
    assert sniff_image(b"GIF89a\x02\x00\x03\x00") == ("image/gif", 2, 3)
    jpeg = b"\xff\xd8\xff\xe0\x00\x04\x00\x00\xff\xc0\x00\x0b\x08\x00\x1e\x00\x28\x03\x00\x00"
    assert sniff_image(jpeg) == ("image/jpeg", 40, 30)
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8X" + bytes(8) + b"\x09\x00\x00\x04\x00\x00") == (
        "image/webp",
        10,
        5,
    )
    assert sniff_image(b"hello") == (None, None, None)


def test_first_comment_replies_to_the_post_with_its_own_key() -> None:
    pds = FakePds()
    req = request("post", first_comment="more at https://example.com")
    result = run(BlueskyAdapter(client(pds)).publish(tokens(), req))
    post, comment = (json.loads(c.content) for c in pds.calls("putRecord"))
    assert comment["rkey"] == derive_tid(req.post_id, salt=":first-comment") != post["rkey"]
    ref = {"uri": result.uri, "cid": result.cid}
    assert comment["record"]["reply"] == {"root": ref, "parent": ref}
    assert comment["record"]["createdAt"] == "2026-05-08T12:00:00.124Z"
    assert comment["record"]["facets"][0]["features"][0]["uri"] == "https://example.com"
    assert result.first_comment_uri == f"at://{DID}/app.bsky.feed.post/{comment['rkey']}" and result.first_comment_cid
    found = run(BlueskyAdapter(client(pds)).find_published(tokens(), req))
    assert found == result


def test_a_refused_first_comment_keeps_the_published_post() -> None:
    pds = FakePds()
    puts = [pds.put_record, lambda r: err(400, "InvalidRequest", "Invalid app.bsky.feed.post record")]
    pds.routes["com.atproto.repo.putRecord"] = puts
    result = run(BlueskyAdapter(client(pds)).publish(tokens(), request("post", first_comment="c")))
    assert result.uri and result.first_comment_uri is None


def test_a_first_comment_outage_fails_the_attempt_so_a_retry_finishes_it() -> None:
    pds = FakePds()
    pds.routes["com.atproto.repo.putRecord"] = [pds.put_record, lambda r: err(503, "NotEnoughResources")]
    with pytest.raises(PlatformUnavailableError):
        run(BlueskyAdapter(client(pds)).publish(tokens(), request("post", first_comment="c")))


def test_find_published_is_none_when_nothing_is_there() -> None:
    assert run(BlueskyAdapter(client(FakePds())).find_published(tokens(), request())) is None


def test_incomplete_stored_tokens_are_auth_expired() -> None:
    with pytest.raises(AuthExpiredError):
        run(BlueskyAdapter(client(FakePds())).publish(TokenSet(access_token=ACCESS), request()))


def test_created_at_precision_is_milliseconds_with_z() -> None:
    pds = FakePds()
    req = request(created_at=datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC))
    run(BlueskyAdapter(client(pds)).publish(tokens(), req))
    assert json.loads(pds.calls("putRecord")[0].content)["record"]["createdAt"] == "2026-01-02T03:04:05.999Z"
