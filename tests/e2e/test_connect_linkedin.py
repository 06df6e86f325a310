"""LinkedIn end to end over HTTP on the local stack: the OAuth connect as a browser drives it
(start → the sandbox's consent → complete or callback), the account row API.md describes
(tokenExpiresAt = the 60-day token's expiry, since LinkedIn gives most apps no refresh token;
the refresh token's year for the ``partner`` fixture), the fixture members, refused codes, and
publishing with ``POST /v1/posts`` (text, an image by URL, a video by bytes) read back from the
simulated LinkedIn."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.sandbox.files import mp4, png
from local.sandbox.linkedin import MEMBERS
from local.sandbox.oauth import SANDBOX_APPS
from tests.e2e.helpers import RunningStack, unique_text, wait_for
from tests.e2e.oauth import authorize, connect, start

pytestmark = pytest.mark.e2e


def assert_no_secrets(response: httpx.Response) -> None:
    text = response.text
    for needle in ("AQliat-", "lirt-", "access_token", "refresh_token", SANDBOX_APPS["linkedin"]["clientSecret"]):
        assert needle not in text, f"{needle!r} appears in a response"


def expires_at(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["tokenExpiresAt"].replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def member(api: httpx.Client) -> dict[str, Any]:
    """The sandbox's default member, connected once for the module."""
    response = connect(api, "linkedin")
    assert response.status_code == 201, response.text
    assert_no_secrets(response)
    return dict(response.json())


def publish(api: httpx.Client, account_id: str, text: str, **extra: Any) -> httpx.Response:
    return api.post("/v1/posts", json={"account": {"platform": "linkedin", "id": account_id}, "text": text, **extra})


def posts(sandbox: httpx.Client, text: str) -> list[dict[str, Any]]:
    response = sandbox.get("/_sandbox/linkedin/posts")
    assert response.status_code == 200
    return [p for p in response.json()["posts"] if p["text"] == text]


# ---- connect -------------------------------------------------------------------------------------


def test_start_gives_linkedins_authorize_url(api: httpx.Client, local_stack: RunningStack) -> None:
    started = start(api, "linkedin")
    assert started.status_code == 200, started.text
    body = started.json()
    url = urlsplit(body["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{local_stack.sandbox_url}/linkedin/oauth/v2/authorization"
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"] and query["state"] == [body["state"]]
    assert query["scope"] == ["openid profile email w_member_social"]
    assert query["client_id"] == [SANDBOX_APPS["linkedin"]["clientId"]]
    assert query["redirect_uri"][0].endswith("/v1/oauth/linkedin/callback")


def test_connect_makes_a_member_row_that_expires_with_its_token(member: dict[str, Any]) -> None:
    seed = MEMBERS["member"]
    assert member["platform"] == "linkedin" and member["platformAccountId"] == f"urn:li:person:{seed.sub}"
    assert (member["username"], member["displayName"]) == ("Morgan Lee", "Morgan Lee")
    assert member["profileImageUrl"] == seed.picture and member["profileUrl"] is None
    for block in ("pinterest", "instagram", "linkedin"):
        assert block not in member
    assert timedelta(days=59, hours=23) < expires_at(member) - datetime.now(UTC) <= timedelta(days=60)
    assert member["tokenStatus"] == "valid" and member["tokenExpiresIn"].startswith(("59d", "60d"))


def test_connecting_again_rotates_the_token_on_the_same_row(api: httpx.Client, member: dict[str, Any]) -> None:
    again = connect(api, "linkedin", via="callback")
    assert again.status_code == 200, again.text  # the browser callback's page
    assert_no_secrets(again)
    rows = [
        a
        for a in api.get("/v1/accounts", params={"platform": "linkedin"}).json()["accounts"]
        if a["platformAccountId"] == member["platformAccountId"]
    ]
    assert [r["id"] for r in rows] == [member["id"]]


def test_the_expiring_member_reads_expiring_soon(api: httpx.Client) -> None:
    response = connect(api, "linkedin", user="expiring")
    assert response.status_code == 201, response.text
    row = response.json()
    assert row["username"] == "Evan Expiring" and row["profileImageUrl"] is None
    assert timedelta(days=2, hours=23) < expires_at(row) - datetime.now(UTC) <= timedelta(days=3)
    assert row["tokenStatus"] == "expiring_soon" and row["tokenExpiresIn"].startswith("2d")


def test_a_partner_app_member_lasts_as_long_as_the_refresh_token(api: httpx.Client) -> None:
    response = connect(api, "linkedin", user="partner")
    assert response.status_code == 201, response.text
    row = response.json()
    assert timedelta(days=364) < expires_at(row) - datetime.now(UTC) <= timedelta(days=365)
    assert row["tokenStatus"] == "valid"
    assert_no_secrets(response)


def test_an_expired_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client) -> None:
    started = start(api, "linkedin").json()
    code, state = authorize(sandbox, started["authorizationUrl"])
    assert sandbox.post("/_sandbox/linkedin/expire-codes").status_code == 200
    answer = api.post("/v1/accounts/connect/linkedin/complete", json={"code": code, "state": state})
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert error["code"] == "platform_auth_failed" and error["platform"] == "linkedin"
    assert error["rule"] == "linkedin.auth.code_invalid"
    assert_no_secrets(answer)


def test_an_invalid_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client) -> None:
    started = start(api, "linkedin").json()
    _, state = authorize(sandbox, started["authorizationUrl"])
    answer = api.post("/v1/accounts/connect/linkedin/complete", json={"code": "not-a-real-code", "state": state})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["rule"] == "linkedin.auth.code_invalid"
    assert_no_secrets(answer)


# ---- publish -------------------------------------------------------------------------------------


def test_a_text_post_with_reserved_characters(api: httpx.Client, member: dict[str, Any], sandbox: httpx.Client) -> None:
    text = unique_text("Launch (beta) of *crosspost* #ship @team a_b")
    response = publish(api, member["id"], text)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published" and post["uri"].startswith("urn:li:share:")
    assert post["url"] == f"https://www.linkedin.com/feed/update/{post['uri']}"
    [record] = posts(sandbox, text)
    assert record["urn"] == post["uri"] and record["truncated"] is False and record["hashtags"] == ["ship"]
    assert record["author"] == member["platformAccountId"]
    assert_no_secrets(response)


def test_an_image_by_url_and_one_by_bytes(
    api: httpx.Client, member: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("Two pictures")
    media = [
        {"kind": "image", "url": f"{local_stack.sandbox_url}/_sandbox/files/square.jpg", "altText": "A square"},
        {"kind": "image", "bytesBase64": base64.b64encode(png(640, 480)).decode()},
    ]
    response = publish(api, member["id"], text, media=media)
    assert response.status_code == 201, response.text
    [record] = posts(sandbox, text)
    assert [(m["contentType"], m["width"], m["altText"]) for m in record["media"]] == [
        ("image/jpeg", 1080, "A square"),
        ("image/png", 640, None),
    ]
    assert "multiImage" in record["content"]


def test_a_video(api: httpx.Client, member: dict[str, Any], sandbox: httpx.Client) -> None:
    text = unique_text("A clip")
    media = [{"kind": "video", "bytesBase64": base64.b64encode(mp4(100 * 1024)).decode()}]
    response = publish(api, member["id"], text, media=media)
    assert response.status_code in (201, 202), response.text  # 202 "publishing" if processing outlasts the budget
    post = response.json()

    def published() -> dict[str, Any] | None:
        current: dict[str, Any] = api.get(f"/v1/posts/{post['id']}").json()
        return current if current["status"] == "published" else None

    post = wait_for(published, timeout=60)
    [record] = posts(sandbox, text)
    assert record["urn"] == post["uri"] and post["uri"].startswith("urn:li:ugcPost:")
    assert record["media"][0]["kind"] == "video"


def test_a_repeated_text_is_rejected_as_a_duplicate(api: httpx.Client, member: dict[str, Any]) -> None:
    text = unique_text("Said once")
    assert publish(api, member["id"], text).status_code == 201
    again = publish(api, member["id"], text)
    assert again.status_code == 502, again.text
    error = again.json()["error"]
    assert error["code"] == "platform_rejected" and error["rule"] == "linkedin.duplicate"
    assert error["platformResponse"]["errorDetails"]["inputErrors"][0]["code"] == "DUPLICATE_POST"


def test_a_refused_token_fails_the_post_and_marks_the_account(api: httpx.Client, sandbox: httpx.Client) -> None:
    response = connect(api, "linkedin", user="expiring")  # its own row: the module's member stays healthy
    account = response.json()
    assert sandbox.post("/_sandbox/linkedin/faults", json={"status": 401, "count": 2}).status_code == 200
    try:
        answer = publish(api, account["id"], unique_text("Not today"))
    finally:
        sandbox.delete("/_sandbox/linkedin/faults")
    assert answer.status_code == 502, answer.text
    assert answer.json()["error"]["code"] == "platform_auth_failed"
    row = api.get(f"/v1/accounts/{account['id']}").json()
    assert row["lastError"] is not None
    assert_no_secrets(answer)
