"""Pinterest end to end over HTTP on the local stack: the OAuth connect as a browser drives it
(start → the sandbox's consent → complete or callback), the account row API.md describes (the
default board, tokenExpiresAt = the refresh grant's expiry), the sandbox's fixture users, refused
codes, and publishing pins with ``POST /v1/posts`` read back from the simulated Pinterest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.sandbox.oauth import SANDBOX_APPS
from local.sandbox.pinterest import DEFAULT_BOARD, PINNERS
from tests.e2e.helpers import RunningStack, unique_text
from tests.e2e.oauth import authorize, connect, start

pytestmark = pytest.mark.e2e

SECOND_BOARD = PINNERS["default"].boards[1]


def assert_no_secrets(response: httpx.Response) -> None:
    text = response.text
    for needle in ("pina_", "pirt-", "access_token", "refresh_token", SANDBOX_APPS["pinterest"]["clientSecret"]):
        assert needle not in text, f"{needle!r} appears in a response"


@pytest.fixture(scope="module")
def pinner(api: httpx.Client) -> dict[str, Any]:
    """The default sandbox pinner, connected once for the module."""
    response = connect(api, "pinterest")
    assert response.status_code == 201, response.text
    assert_no_secrets(response)
    return dict(response.json())


def publish(api: httpx.Client, account_id: str, text: str, **extra: Any) -> httpx.Response:
    return api.post("/v1/posts", json={"account": {"platform": "pinterest", "id": account_id}, "text": text, **extra})


def image(local_stack: RunningStack, name: str = "square.jpg") -> list[dict[str, str]]:
    return [{"kind": "image", "url": f"{local_stack.sandbox_url}/_sandbox/files/{name}"}]


def pins(sandbox: httpx.Client, text: str) -> list[dict[str, Any]]:
    response = sandbox.get("/_sandbox/pinterest/posts")
    assert response.status_code == 200
    return [p for p in response.json()["posts"] if p["description"] == text]


# ---- connect -----------------------------------------------------------------------------------


def test_start_gives_pinterests_authorize_url(api: httpx.Client, local_stack: RunningStack) -> None:
    started = start(api, "pinterest")
    assert started.status_code == 200, started.text
    body = started.json()
    url = urlsplit(body["authorizationUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{local_stack.sandbox_url}/pinterest/oauth/"
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"] and query["state"] == [body["state"]]
    assert query["scope"] == ["boards:read,boards:write,pins:read,pins:write,user_accounts:read"]
    assert query["client_id"] == [SANDBOX_APPS["pinterest"]["clientId"]]
    assert query["redirect_uri"][0].endswith("/v1/oauth/pinterest/callback")


def test_connect_makes_a_row_with_the_default_board_and_the_refresh_grants_expiry(pinner: dict[str, Any]) -> None:
    seed = PINNERS["default"]
    assert pinner["platform"] == "pinterest" and pinner["platformAccountId"] == seed.id
    assert (pinner["username"], pinner["displayName"]) == (seed.username, "Sandbox Studio")
    assert pinner["profileImageUrl"] == seed.profile_image
    assert pinner["profileUrl"] == f"https://www.pinterest.com/{seed.username}/"
    assert pinner["pinterest"] == {"defaultBoardId": DEFAULT_BOARD.id, "defaultBoardName": DEFAULT_BOARD.name}
    assert "instagram" not in pinner
    expires = datetime.fromisoformat(pinner["tokenExpiresAt"].replace("Z", "+00:00"))
    assert timedelta(days=59, hours=23) < expires - datetime.now(UTC) <= timedelta(days=60)
    assert pinner["tokenStatus"] == "valid"
    assert pinner["tokenExpiresIn"].startswith(("59d", "60d"))


def test_connecting_again_rotates_the_token_on_the_same_row(api: httpx.Client, pinner: dict[str, Any]) -> None:
    again = connect(api, "pinterest")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == pinner["id"]
    assert_no_secrets(again)
    listed = api.get("/v1/accounts", params={"platform": "pinterest"})
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["accounts"] if a["platformAccountId"] == PINNERS["default"].id] == [
        pinner["id"]
    ]
    assert_no_secrets(listed)


def test_fixture_users_without_boards_and_with_many(api: httpx.Client) -> None:
    empty = connect(api, "pinterest", user="no_boards")
    assert empty.status_code == 201, empty.text
    assert empty.json()["username"] == "sandbox_empty"
    assert empty.json()["pinterest"] == {"defaultBoardId": None, "defaultBoardName": None}
    many = connect(api, "pinterest", user="many_boards", via="callback")
    assert many.status_code == 200, many.text  # the browser callback's page
    first = PINNERS["many_boards"].boards[0]
    [row] = [
        a
        for a in api.get("/v1/accounts", params={"platform": "pinterest"}).json()["accounts"]
        if a["username"] == "sandbox_collector"
    ]
    assert row["pinterest"] == {"defaultBoardId": first.id, "defaultBoardName": first.name}


def test_an_expired_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client) -> None:
    started = start(api, "pinterest").json()
    code, state = authorize(sandbox, started["authorizationUrl"])
    assert sandbox.post("/_sandbox/pinterest/expire-codes").status_code == 200
    answer = api.post("/v1/accounts/connect/pinterest/complete", json={"code": code, "state": state})
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert error["code"] == "platform_auth_failed" and error["platform"] == "pinterest"
    assert error["rule"] == "pinterest.auth.code_invalid"
    assert_no_secrets(answer)


def test_an_invalid_code_is_platform_auth_failed(api: httpx.Client, sandbox: httpx.Client) -> None:
    started = start(api, "pinterest").json()
    _, state = authorize(sandbox, started["authorizationUrl"])
    answer = api.post("/v1/accounts/connect/pinterest/complete", json={"code": "not-a-real-code", "state": state})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "platform_auth_failed"
    assert_no_secrets(answer)


# ---- publish -----------------------------------------------------------------------------------


def test_an_image_pin_goes_to_the_default_board(
    api: httpx.Client, pinner: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("A pin from crosspost")
    options = {"title": "Crosspost", "destinationUrl": "https://example.com/crosspost"}
    response = publish(api, pinner["id"], text, media=image(local_stack), pinterest=options)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published" and post["uri"].isdigit()
    assert post["url"] == f"https://www.pinterest.com/pin/{post['uri']}/"
    [record] = pins(sandbox, text)
    assert record["id"] == post["uri"] and record["boardId"] == DEFAULT_BOARD.id
    assert (record["title"], record["link"]) == ("Crosspost", "https://example.com/crosspost")
    assert record["media"]["mediaType"] == "image" and record["media"]["width"] == 1080
    assert_no_secrets(response)


def test_the_posts_board_wins(
    api: httpx.Client, pinner: dict[str, Any], sandbox: httpx.Client, local_stack: RunningStack
) -> None:
    text = unique_text("On the second board")
    response = publish(api, pinner["id"], text, media=image(local_stack), pinterest={"boardId": SECOND_BOARD.id})
    assert response.status_code == 201, response.text
    assert [r["boardId"] for r in pins(sandbox, text)] == [SECOND_BOARD.id]


def preflight_rule(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "preflight_failed" and error["platform"] == "pinterest"
    return str(error["rule"])


def test_preflight_rules(api: httpx.Client, pinner: dict[str, Any], local_stack: RunningStack) -> None:
    assert preflight_rule(publish(api, pinner["id"], "Text only")) == "pinterest.media.required"
    long_title = {"title": "t" * 101}
    rule = preflight_rule(publish(api, pinner["id"], "Title", media=image(local_stack), pinterest=long_title))
    assert rule == "pinterest.title.max_graphemes"
    two = image(local_stack) + image(local_stack, "portrait.jpg")
    answer = publish(api, pinner["id"], "Two", media=two)
    assert answer.status_code == 400
    rules = [d["rule"] for d in answer.json()["error"]["details"]]
    assert "pinterest.media.single_only" in rules


def test_an_account_without_boards_needs_a_board_id(api: httpx.Client, local_stack: RunningStack) -> None:
    rows = api.get("/v1/accounts", params={"platform": "pinterest"}).json()["accounts"]
    empty = [a for a in rows if a["username"] == "sandbox_empty"]
    if not empty:
        created = connect(api, "pinterest", user="no_boards")
        assert created.status_code in (200, 201), created.text
        empty = [created.json()]
    answer = publish(api, empty[0]["id"], "Where does it go?", media=image(local_stack))
    assert preflight_rule(answer) == "pinterest.board.required"
