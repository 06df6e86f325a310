"""OAuth connect flows over the in-process API (API.md "Start a connect flow", "Finish a connect
flow", "OAuth callback for browsers"), with a fake OAuth platform (tests/integration/fake_oauth.py)
so they need no platform adapter: the state's life (single use, expiry, workspace, profile and
platform binding), PKCE, the redirectUri allow-list, the browser callback's page and redirect,
and how platform refusals answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from crosspost.clock import iso
from crosspost.resources import Env
from crosspost.services.oauth import pkce_challenge
from local.provision import seed_platform_apps
from tests.integration.fake_oauth import FakeWorld, fake_platform
from tests.integration.harness import ApiClient, HttpResponse

APPS = {p: {"clientId": f"{p}-client", "clientSecret": f"{p}-secret-value"} for p in ("twitter", "linkedin")}
APP_ORIGIN = "https://app.example"


@pytest.fixture
def world(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> type[FakeWorld]:
    seed_platform_apps(aws, APPS)
    monkeypatch.setenv(Env.REDIRECT_URI_ALLOW_LIST.value, f"{APP_ORIGIN}/connected")
    monkeypatch.setenv(Env.PUBLIC_BASE_URL.value, "https://api.example")
    from tests.integration.conftest import _reset_caches

    _reset_caches()
    return fake_platform(monkeypatch, "twitter", "linkedin")


def start(api: ApiClient, platform: str = "twitter", **body: Any) -> HttpResponse:
    return api.post(f"/v1/accounts/connect/{platform}", body)


def started_state(api: ApiClient, platform: str = "twitter", **body: Any) -> str:
    response = start(api, platform, **body)
    assert response.status == 200, response.text
    return str(response.json["state"])


def complete(api: ApiClient, state: str, code: str = "user:u1", platform: str = "twitter", **body: Any) -> HttpResponse:
    return api.post(f"/v1/accounts/connect/{platform}/complete", {"code": code, "state": state, **body})


def callback(platform: str = "twitter", **query: str) -> HttpResponse:
    from urllib.parse import urlencode

    return ApiClient(None).get(f"/v1/oauth/{platform}/callback", query=urlencode(query))


def state_item(aws: dict[str, str], state: str) -> dict[str, Any] | None:
    item = boto3.client("dynamodb").get_item(TableName=aws[Env.OAUTH_STATES_TABLE], Key={"state": {"S": state}})
    return item.get("Item")


def rule(response: HttpResponse) -> tuple[int, str | None]:
    return response.status, response.json["error"].get("rule")


# ---- start -------------------------------------------------------------------------------------


def test_given_start_then_the_authorization_url_carries_a_random_state_and_an_s256_challenge(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    before = datetime.now(UTC)
    response = start(api)

    assert response.status == 200
    body = response.json
    assert set(body) == {"authorizationUrl", "state", "expiresAt"}
    query = {k: v[0] for k, v in parse_qs(urlsplit(body["authorizationUrl"]).query).items()}
    assert query["state"] == body["state"] and len(body["state"]) >= 43
    assert query["redirect_uri"] == "https://api.example/v1/oauth/twitter/callback"
    assert query["client_id"] == "twitter-client"
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - before <= timedelta(minutes=15, seconds=5)
    # PKCE: the challenge went to the platform, the verifier stayed in the state item
    item = state_item(aws, body["state"])
    assert item is not None
    verifier = item["codeVerifier"]["S"]
    assert query["code_challenge"] == pkce_challenge(verifier) and query["code_challenge_method"] == "S256"
    assert verifier not in response.text
    assert int(item["ttl"]["N"]) == int(expires.timestamp())
    assert start(api).json["state"] != body["state"]


def test_given_extended_scopes_then_the_strategy_is_told(api: ApiClient, world: type[FakeWorld]) -> None:
    assert "offline" in start(api, extendedScopes=True).json["authorizationUrl"]
    assert "offline" not in start(api).json["authorizationUrl"]


def test_given_a_redirect_uri_then_it_must_be_on_the_allow_list(api: ApiClient, world: type[FakeWorld]) -> None:
    refused = start(api, redirectUri="https://evil.example/connected")
    assert rule(refused) == (400, "redirectUri.not_allowed")
    allowed = start(api, redirectUri=f"{APP_ORIGIN}/connected?tab=2")
    assert allowed.status == 200
    query = parse_qs(urlsplit(allowed.json["authorizationUrl"]).query)
    assert query["redirect_uri"] == [f"{APP_ORIGIN}/connected?tab=2"]


def test_given_platforms_without_an_oauth_flow_then_start_answers_as_the_contract_says(
    api: ApiClient, world: type[FakeWorld], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crosspost.platforms import registry

    monkeypatch.delitem(registry._OAUTH, "pinterest", raising=False)
    assert rule(start(api, "pinterest")) == (404, "platform.unsupported")
    assert rule(start(api, "instagram")) == (400, "instagram.connect.use_facebook")
    assert rule(start(api, "myspace")) == (404, "platform.unsupported")
    assert start(api, "bluesky").json == {"method": "credentials", "fields": ["handle", "appPassword"]}


def test_given_no_app_for_the_platform_then_start_answers_not_configured(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_platform(monkeypatch, "pinterest")
    response = start(api, "pinterest")
    assert rule(response) == (404, "platform.not_configured")
    assert "Platform apps" in response.json["error"]["remediation"]


# ---- complete ----------------------------------------------------------------------------------


def test_given_a_started_flow_when_completed_then_201_and_the_state_is_gone(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    state = started_state(api)
    response = complete(api, state)

    assert response.status == 201, response.text
    assert (response.json["platform"], response.json["platformAccountId"]) == ("twitter", "u1")
    assert state_item(aws, state) is None
    [exchange] = world.exchanges
    assert exchange["redirect_uri"] == "https://api.example/v1/oauth/twitter/callback"
    assert pkce_challenge(exchange["code_verifier"]) == world.challenges[state]
    again = complete(api, state)
    assert rule(again) == (409, "oauth.state_invalid")
    assert len(world.exchanges) == 1  # a reused state never reaches the platform


def test_given_the_same_account_again_then_200_same_id_and_in_another_profile_409(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    first = complete(api, started_state(api))
    second = complete(api, started_state(api))
    assert (second.status, second.json["id"]) == (200, first.json["id"])
    other_profile = api.post("/v1/profiles", {"name": "other"}).json["id"]
    third = complete(api, started_state(api, profileId=other_profile))
    assert rule(third) == (409, "account.already_connected")


def test_given_refresh_times_then_the_row_carries_them_hidden_from_the_api(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    account = complete(api, started_state(api)).json
    row = boto3.client("dynamodb").get_item(TableName=aws[Env.ACCOUNTS_TABLE], Key={"id": {"S": account["id"]}})
    assert row["Item"]["refreshShard"]["S"] == "0" and row["Item"]["refreshDueAt"]["S"]
    assert account["tokenStatus"] == "valid" and account["tokenExpiresIn"].startswith("59d")
    assert not {"refreshDueAt", "refreshShard", "refreshLeaseUntil", "secretName"} & set(account)


def test_given_an_expired_state_then_409_although_the_item_is_still_there(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    state = started_state(api)
    past = datetime.now(UTC) - timedelta(seconds=1)
    boto3.client("dynamodb").update_item(
        TableName=aws[Env.OAUTH_STATES_TABLE],
        Key={"state": {"S": state}},
        UpdateExpression="SET expiresAt = :e, #ttl = :t",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":e": {"S": iso(past)}, ":t": {"N": str(int(past.timestamp()))}},
    )
    assert rule(complete(api, state)) == (409, "oauth.state_invalid")
    assert world.exchanges == []


def test_given_another_workspace_state_then_409_and_the_owner_can_still_finish(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    from crosspost.admin import mint_workspace_key

    state = started_state(api)
    stranger = ApiClient(mint_workspace_key("stranger")["apiKey"])
    assert rule(complete(stranger, state)) == (409, "oauth.state_invalid")
    assert complete(api, state).status == 201


def test_given_another_platform_or_profile_or_an_unknown_state_then_409(api: ApiClient, world: type[FakeWorld]) -> None:
    state = started_state(api)
    assert rule(complete(api, state, platform="linkedin")) == (409, "oauth.state_invalid")
    other_profile = api.post("/v1/profiles", {"name": "other"}).json["id"]
    assert rule(complete(api, state, profileId=other_profile)) == (409, "oauth.state_invalid")
    assert rule(complete(api, "no-such-state")) == (409, "oauth.state_invalid")
    assert complete(api, state).status == 201  # none of those consumed it


def test_given_a_bound_profile_then_the_account_lands_in_it(api: ApiClient, world: type[FakeWorld]) -> None:
    other_profile = api.post("/v1/profiles", {"name": "other"}).json["id"]
    state = started_state(api, profileId=other_profile)
    account = complete(api, state, profileId=other_profile).json
    assert account["profileId"] == other_profile


def test_given_platform_refusals_then_connect_answers_401_400_503(api: ApiClient, world: type[FakeWorld]) -> None:
    refused = complete(api, started_state(api), code="refused")
    assert (refused.status, refused.json["error"]["code"], refused.json["error"]["rule"]) == (
        401,
        "platform_auth_failed",
        "fake.auth.code_invalid",
    )
    assert refused.json["error"]["platformResponse"] == {"error": "invalid_grant"}
    nothing = complete(api, started_state(api), code="nothing")
    assert (nothing.status, nothing.json["error"]["code"], nothing.json["error"]["rule"]) == (
        400,
        "platform_rejected",
        "facebook.pages.none",
    )
    down = complete(api, started_state(api), code="down")
    assert (down.status, down.json["error"]["code"]) == (503, "platform_unavailable")


def test_given_the_wrong_body_shape_then_validation_names_the_field(api: ApiClient, world: type[FakeWorld]) -> None:
    state = started_state(api)
    assert rule(api.post("/v1/accounts/connect/twitter/complete", {"state": state})) == (400, "code")
    assert rule(api.post("/v1/accounts/connect/twitter/complete", {"code": "x"})) == (400, "state")
    mixed = {"code": "x", "state": state, "handle": "a"}
    assert rule(api.post("/v1/accounts/connect/twitter/complete", mixed)) == (400, "handle")
    assert rule(api.post("/v1/accounts/connect/bluesky/complete", {"code": "x", "state": state})) == (400, "code")
    assert rule(api.post("/v1/accounts/connect/instagram/complete", {"code": "x", "state": state})) == (
        400,
        "instagram.connect.use_facebook",
    )
    assert complete(api, state).status == 201  # refused bodies never consumed the state


# ---- the browser callback ----------------------------------------------------------------------


def test_given_the_callback_then_an_html_page_names_the_account_and_the_state_is_spent(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    state = started_state(api)
    page = callback(code="user:u7", state=state)

    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    [account] = api.get("/v1/accounts").json["accounts"]
    assert account["platformAccountId"] == "u7" and account["id"] in page.text
    again = callback(code="user:u7", state=state)
    assert again.status == 409 and "oauth.state_invalid" in again.text and "conflict" in again.text
    assert again.headers["content-type"].startswith("text/html")


def test_given_a_redirect_uri_then_the_callback_sends_the_browser_back_with_the_account_id(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    state = started_state(api, redirectUri=f"{APP_ORIGIN}/connected?tab=2")
    response = callback(code="user:u8", state=state)

    assert response.status == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{APP_ORIGIN}/connected"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    [account] = api.get("/v1/accounts").json["accounts"]
    assert query == {"tab": "2", "accountId": account["id"], "platform": "twitter", "state": state}
    assert world.exchanges[0]["redirect_uri"] == f"{APP_ORIGIN}/connected?tab=2"


def test_given_a_user_who_declined_then_the_page_or_redirect_carries_the_error(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    state = started_state(api)
    page = callback(error="access_denied", error_description="The user denied", state=state)
    assert page.status == 401 and "oauth.access_denied" in page.text and "platform_auth_failed" in page.text
    assert rule(complete(api, state)) == (409, "oauth.state_invalid")  # declining spent the state

    state = started_state(api, redirectUri=f"{APP_ORIGIN}/connected")
    redirect = callback(error="access_denied", state=state)
    assert redirect.status == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(redirect.headers["location"]).query).items()}
    assert query == {"error": "platform_auth_failed", "rule": "oauth.access_denied", "state": state}
    assert world.exchanges == []


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ({}, 400, "state"),
        ({"state": "s"}, 400, "code"),
        ({"state": "unknown-state", "code": "user:u1"}, 409, "oauth.state_invalid"),
        ({"state": "x" * 300, "code": "user:u1"}, 409, "oauth.state_invalid"),
        ({"state": "s", "code": "c" * 5000}, 400, "code"),
    ],
)
def test_given_a_bad_callback_then_an_html_page_with_the_error_and_never_a_500(
    world: type[FakeWorld], query: dict[str, str], status: int, text: str
) -> None:
    page = callback(**query)
    assert (page.status, page.headers["content-type"].split(";")[0]) == (status, "text/html")
    assert text in page.text


def test_given_the_callback_of_an_unknown_or_credentials_platform_then_404_pages(world: type[FakeWorld]) -> None:
    for platform in ("myspace", "bluesky", "<script>"):
        page = callback(platform, state="s", code="c")
        assert page.status == 404 and "platform.unsupported" in page.text
        assert "<script>" not in page.text


def test_given_a_refused_code_at_the_callback_then_the_page_says_why(api: ApiClient, world: type[FakeWorld]) -> None:
    page = callback(code="refused", state=started_state(api))
    assert page.status == 401 and "fake.auth.code_invalid" in page.text


# ---- hygiene -----------------------------------------------------------------------------------


def test_given_every_flow_then_no_token_verifier_or_app_secret_appears_in_a_response(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    responses = [start(api), complete(api, started_state(api))]
    responses += [callback(code="user:u2", state=started_state(api)), api.get("/v1/accounts")]
    verifiers = [
        item["codeVerifier"]["S"]
        for item in boto3.client("dynamodb").scan(TableName=aws[Env.OAUTH_STATES_TABLE])["Items"]
        if "codeVerifier" in item
    ]
    forbidden = [*world.issued, *verifiers, *(app["clientSecret"] for app in APPS.values())]
    assert len(world.issued) >= 4 and verifiers
    text = "\n".join(r.text + json.dumps(r.headers) for r in responses)
    assert not [secret for secret in forbidden if secret in text]
