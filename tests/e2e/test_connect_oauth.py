"""OAuth connect flows over HTTP on the local stack, for every platform that connects with OAuth
(whichever have landed in ``registry._OAUTH``): the sandbox consents at once, the API finishes the
flow through the complete call or the browser callback, and the state lives exactly once.

The state table is reached through the stack's moto endpoint only to age a state (an expired
state must be refused although DynamoDB's TTL has not deleted it yet).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from crosspost.platforms.registry import oauth_platforms
from crosspost.resources import Env
from tests.e2e import stack_process
from tests.e2e.helpers import RunningStack, client
from tests.e2e.oauth import authorize, connect, redirect_query, start

pytestmark = pytest.mark.e2e

PLATFORMS = oauth_platforms()
# On the local stack's default redirectUri allow-list (README "Connecting accounts (OAuth)").
APP_PAGE = "http://localhost:3000/connected"


def _aws(stack: RunningStack, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack.info["awsEndpointUrl"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _rule(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, response.json()["error"].get("rule")


def _complete(api: httpx.Client, platform: str, code: str, state: str) -> httpx.Response:
    return api.post(f"/v1/accounts/connect/{platform}/complete", json={"code": code, "state": state})


@pytest.fixture(scope="module")
def browser() -> Any:
    with httpx.Client(timeout=30, trust_env=False) as http:
        yield http


@pytest.fixture(scope="module")
def default_profile(api: httpx.Client) -> str:
    """This module's workspace gains profiles as it runs, so every start names its profile."""
    profiles = api.get("/v1/profiles").json()["profiles"]
    return str(next(p["id"] for p in profiles if p["name"] == "default"))


@pytest.fixture(scope="module")
def responses() -> list[httpx.Response]:
    """Every API response of this module, checked for tokens at the end."""
    return []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_a_connect_through_complete_then_201_and_again_200_with_the_same_id(
    api: httpx.Client, default_profile: str, platform: str, responses: list[httpx.Response]
) -> None:
    first = connect(api, platform, profile_id=default_profile)
    again = connect(api, platform, profile_id=default_profile)
    responses += [first, again]

    assert first.status_code in (200, 201), first.text  # 200 when an earlier test connected it
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["platform"] == platform


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_a_connect_through_the_browser_callback_then_an_html_page_or_a_redirect_with_the_account(
    local_stack: RunningStack, platform: str, responses: list[httpx.Response]
) -> None:
    fresh = stack_process.mint_key(local_stack.state_file)  # a workspace where nothing is connected
    with client(local_stack.base_url, fresh["apiKey"]) as api:
        page = connect(api, platform, via="callback")
        redirected = connect(api, platform, via="callback", redirect_uri=APP_PAGE)
        accounts = api.get("/v1/accounts", params={"platform": platform}).json()["accounts"]
    responses += [page, redirected]

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert accounts and accounts[0]["id"] in page.text
    assert redirected.headers["location"].startswith(APP_PAGE + "?")
    query = redirect_query(redirected)
    assert query["accountId"] == accounts[0]["id"] and "error" not in query


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_the_account_in_another_profile_then_409_already_connected(
    api: httpx.Client, default_profile: str, platform: str, responses: list[httpx.Response]
) -> None:
    assert connect(api, platform, profile_id=default_profile).status_code in (200, 201)
    profile = api.post("/v1/profiles", json={"name": f"other {platform}"}).json()["id"]

    elsewhere = connect(api, platform, profile_id=profile)
    responses.append(elsewhere)

    assert _rule(elsewhere) == (409, "account.already_connected")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_a_reused_state_then_409(
    api: httpx.Client, browser: httpx.Client, default_profile: str, platform: str, responses: list[httpx.Response]
) -> None:
    started = start(api, platform, profile_id=default_profile).json()
    code, state = authorize(browser, started["authorizationUrl"])
    first = _complete(api, platform, code, state)
    reused = _complete(api, platform, code, state)
    responses += [first, reused]

    assert first.status_code in (200, 201), first.text
    assert _rule(reused) == (409, "oauth.state_invalid")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_an_expired_state_then_409(
    api: httpx.Client, browser: httpx.Client, default_profile: str, local_stack: RunningStack, platform: str
) -> None:
    started = start(api, platform, profile_id=default_profile).json()
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    _aws(local_stack, "dynamodb").update_item(
        TableName=local_stack.info["env"][Env.OAUTH_STATES_TABLE.value],
        Key={"state": {"S": started["state"]}},
        UpdateExpression="SET expiresAt = :e",
        ExpressionAttributeValues={":e": {"S": past}},
    )
    code, state = authorize(browser, started["authorizationUrl"])

    assert _rule(_complete(api, platform, code, state)) == (409, "oauth.state_invalid")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_another_workspaces_state_then_409_and_its_owner_still_finishes(
    api: httpx.Client, browser: httpx.Client, default_profile: str, local_stack: RunningStack, platform: str
) -> None:
    started = start(api, platform, profile_id=default_profile).json()
    code, state = authorize(browser, started["authorizationUrl"])
    stranger = stack_process.mint_key(local_stack.state_file)
    with client(local_stack.base_url, stranger["apiKey"]) as other:
        assert _rule(_complete(other, platform, code, state)) == (409, "oauth.state_invalid")

    assert _complete(api, platform, code, state).status_code in (200, 201)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_given_a_platform_that_refuses_the_code_then_401(
    api: httpx.Client, browser: httpx.Client, default_profile: str, sandbox: httpx.Client, platform: str
) -> None:
    started = start(api, platform, profile_id=default_profile).json()
    code, state = authorize(browser, started["authorizationUrl"])
    assert sandbox.post(f"/_sandbox/{platform}/expire-codes").status_code == 200

    refused = _complete(api, platform, code, state)

    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "platform_auth_failed")


def test_zz_given_every_response_then_no_token_or_app_secret_appears(
    local_stack: RunningStack, responses: list[httpx.Response]
) -> None:
    """Runs last in this module: every token the sandbox issued sits in an account secret."""
    if not PLATFORMS:
        pytest.skip("no OAuth platform is registered yet")
    sm = _aws(local_stack, "secretsmanager")
    prefix = local_stack.info["env"][Env.SECRETS_PREFIX.value]
    forbidden: set[str] = set()
    for entry in sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=100)["SecretList"]:
        stored = sm.get_secret_value(SecretId=entry["ARN"])["SecretString"]
        forbidden.update(v for v in re.findall(r'"(?:accessToken|refreshToken)": "([^"]{8,})"', stored))
    apps = sm.get_secret_value(SecretId=local_stack.info["env"][Env.PLATFORM_APPS_SECRET.value])["SecretString"]
    forbidden.update(re.findall(r'"clientSecret": "([^"]+)"', apps))
    assert forbidden and responses
    for response in responses:
        text = response.text + repr(dict(response.headers))
        assert not [secret[:10] for secret in forbidden if secret in text], response.request.url
