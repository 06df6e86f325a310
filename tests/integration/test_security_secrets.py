"""Secret hygiene end to end (API.md: "No response, log line or error ever contains an access token,
refresh token, app password or API key").

A full scenario runs over every platform crosspost has an adapter for: connect (a wrong password,
then the right one, then again), publish now, a refused token that is refreshed, an outage that
defers to the queue, a refused post (``lastError``, ``platformResponse``), scheduling, cancel,
key management, disconnect. Every response and every log line (crosspost's own, through its
formatter, and every library's, at DEBUG) is captured, every token the platform ever issued is
recorded, and none of them, nor the app password or an API key, may appear anywhere. Tokens live
in Secrets Manager only, under a name scoped by workspace, and in no table.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import boto3
import httpx
import pytest

from crosspost.clock import iso
from crosspost.platforms import bluesky as bluesky_adapter
from crosspost.platforms.registry import oauth_platforms, registered_platforms
from crosspost.resources import TABLES, Env
from local.functions import load_handler
from local.lambda_events import LambdaContext
from local.sandbox import bluesky as sandbox_bluesky
from local.sandbox.oauth import SANDBOX_APPS
from local.stack import sandbox_oauth_providers
from tests.e2e.oauth import authorization_location
from tests.integration.harness import ApiClient, HttpResponse, QueueDriver


class RecordingClient(ApiClient):
    """An ApiClient that keeps every response."""

    def __init__(self, api_key: str | None, responses: list[tuple[str, HttpResponse]]) -> None:
        super().__init__(api_key)
        self.responses = responses

    def with_key(self, api_key: str | None) -> RecordingClient:
        return RecordingClient(api_key, self.responses)

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> HttpResponse:
        response = super().request(method, path, body, **kw)
        self.responses.append((f"{method} {path}", response))
        return response


class Secrets:
    """Every credential that must never appear."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, *values: Any) -> None:
        self.values.update(v for v in values if isinstance(v, str) and len(v) >= 8)

    def from_vault(self, aws: dict[str, str]) -> None:
        sm = boto3.client("secretsmanager")
        accounts_only = [{"Key": "name", "Values": [aws[Env.SECRETS_PREFIX]]}]  # not the platform apps secret
        for entry in sm.list_secrets(Filters=accounts_only)["SecretList"]:
            stored = json.loads(sm.get_secret_value(SecretId=entry["ARN"])["SecretString"])
            self.add(stored["accessToken"], stored.get("refreshToken"), stored.get("extra", {}).get("appPassword"))

    def found_in(self, text: str) -> list[str]:
        return sorted(s[:12] + "…" for s in self.values if s in text)


def _sandbox(with_sandbox: Any, platform: str, action: str, **spec: Any) -> None:
    httpx.post(f"{with_sandbox.url}/_sandbox/{platform}/{action}", json=spec).raise_for_status()


def bluesky_scenario(
    api: RecordingClient, with_sandbox: Any, queue: QueueDriver, secrets: Secrets, aws: dict[str, str]
) -> None:
    handle, password = sandbox_bluesky.SEED_HANDLE, sandbox_bluesky.SEED_APP_PASSWORD
    secrets.add(password, "wrong-pass-word-9999")

    def connect(pw: str) -> HttpResponse:
        body = {"platform": "bluesky", "credentials": {"handle": handle, "appPassword": pw}}
        return api.post("/v1/accounts/connect", body)

    assert connect("wrong-pass-word-9999").status == 401
    account_id = connect(password).json["id"]
    assert api.post("/v1/accounts/connect/bluesky/complete", {"handle": handle, "appPassword": password}).status == 200
    secrets.from_vault(aws)

    def post(text: str, **extra: Any) -> HttpResponse:
        return api.post("/v1/posts", {"account": {"platform": "bluesky", "id": account_id}, "text": text, **extra})

    assert post("hello @alice.sandbox.test https://example.com #tag", firstComment={"text": "first!"}).status == 201
    _sandbox(with_sandbox, "bluesky", "faults", status=401, count=1)
    assert post("after a refused token").status == 201  # refreshed once, then published
    secrets.from_vault(aws)
    _sandbox(with_sandbox, "bluesky", "revoke-sessions", handle=handle)
    assert post("after revoked sessions").status == 201  # a fresh login with the stored app password
    secrets.from_vault(aws)
    _sandbox(with_sandbox, "bluesky", "faults", status=503, count=1)
    deferred = post("through an outage")
    assert deferred.status == 202
    deadline = time.monotonic() + 15
    while api.get(f"/v1/posts/{deferred.json['id']}").json["status"] != "published":
        assert time.monotonic() < deadline
        queue.drain()
        time.sleep(0.3)
    _sandbox(with_sandbox, "bluesky", "faults", status=400, count=1)
    refused = post("refused content")
    assert refused.status == 502 and refused.json["error"]["platformResponse"]
    _sandbox(with_sandbox, "bluesky", "faults", status=401, count=2)
    assert post("token refused twice").status == 502
    assert api.get(f"/v1/accounts/{account_id}").json["lastError"] is not None
    scheduled = post("later", scheduledAt=iso(_in(3600))).json
    api.patch(f"/v1/posts/{scheduled['id']}", {"scheduledAt": iso(_in(7200))})
    api.delete(f"/v1/posts/{scheduled['id']}")
    api.get("/v1/posts")
    api.get("/v1/accounts")
    secrets.from_vault(aws)
    assert api.delete(f"/v1/accounts/{account_id}").status == 204


def _in(seconds: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(seconds=seconds)


# ---- OAuth platforms: one generic scenario, and one small entry per platform where it needs one ----


@dataclass(frozen=True)
class OAuthScenario:
    """What the generic OAuth scenario needs to know about a platform beyond the registry."""

    # The platform whose login yields this platform's rows (Instagram: the Facebook login).
    connect_via: str | None = None
    # Extra fields of a minimal publishable post (media, option blocks), given the sandbox's URL.
    post: Callable[[str], dict[str, Any]] = field(default=lambda sandbox_url: {})


def _image(sandbox_url: str) -> dict[str, Any]:
    return {"media": [{"kind": "image", "url": f"{sandbox_url}/_sandbox/files/square.jpg"}]}


OAUTH_SCENARIOS: dict[str, OAuthScenario] = {
    "instagram": OAuthScenario(connect_via="facebook", post=_image),
    "pinterest": OAuthScenario(post=_image),
}


def _sandbox_tokens(with_sandbox: Any) -> set[str]:
    """Every token any simulated OAuth provider ever issued (rotated ones too)."""
    return {token for provider in sandbox_oauth_providers(with_sandbox) for token in provider.tokens}


def oauth_scenario(
    platform: str,
    api: RecordingClient,
    with_sandbox: Any,
    queue: QueueDriver,
    secrets: Secrets,
    aws: dict[str, str],
) -> None:
    spec = OAUTH_SCENARIOS.get(platform, OAuthScenario())
    via = spec.connect_via or platform
    secrets.add(*(app["clientSecret"] for app in SANDBOX_APPS.values()))
    browser = httpx.Client(timeout=10, trust_env=False)

    def consent(start_body: dict[str, Any]) -> dict[str, str]:
        started = api.post(f"/v1/accounts/connect/{via}", start_body)
        assert started.status == 200, started.text
        location = authorization_location(browser, started.json["authorizationUrl"])
        return {k: v[0] for k, v in _params(location).items() if k in ("code", "state")}

    expired = consent({})
    _sandbox(with_sandbox, via, "expire-codes")
    assert api.post(f"/v1/accounts/connect/{via}/complete", expired).status == 401
    assert api.post(f"/v1/accounts/connect/{via}/complete", consent({})).status == 201
    assert api.post(f"/v1/accounts/connect/{via}/complete", consent({})).status == 200
    callback = api.with_key(None).get(f"/v1/oauth/{via}/callback", query=urlencode(consent({})))
    assert callback.status == 200
    secrets.from_vault(aws)
    [account] = api.get("/v1/accounts", query=f"platform={platform}").json["accounts"][:1]

    def post(text: str, **extra: Any) -> HttpResponse:
        body = {"account": {"platform": platform, "id": account["id"]}, "text": text}
        return api.post("/v1/posts", {**body, **spec.post(with_sandbox.url), **extra})

    # Published, or refused where the platform's media path is not reachable in-process: either
    # way no secret may show (this scenario is about hygiene, the publish tests are elsewhere).
    assert post("hello from crosspost").status in (201, 202, 502)
    _sandbox(with_sandbox, platform, "faults", status=401, count=1)
    post("after a refused token")
    secrets.from_vault(aws)
    _sandbox(with_sandbox, platform, "faults", status=503, count=1)
    deferred = post("through an outage")
    deadline = time.monotonic() + 15
    while api.get(f"/v1/posts/{deferred.json['id']}").json["status"] in ("queued", "publishing"):
        if time.monotonic() > deadline:
            break
        queue.drain()
        time.sleep(0.3)
    _sandbox(with_sandbox, platform, "faults", status=400, count=1)
    refused = post("refused content")
    assert refused.status in (400, 502)
    # The refresher renews the account's tokens (made due now), logging as it goes.
    boto3.client("dynamodb").update_item(
        TableName=aws[Env.ACCOUNTS_TABLE],
        Key={"id": {"S": account["id"]}},
        UpdateExpression="SET refreshDueAt = :due, refreshShard = :shard",
        ExpressionAttributeValues={":due": {"S": iso(_in(-60))}, ":shard": {"S": "0"}},
    )
    load_handler("refresher")({}, LambdaContext(function_name="refresher", timeout_seconds=300))
    secrets.from_vault(aws)
    scheduled = post("later", scheduledAt=iso(_in(3600))).json
    api.patch(f"/v1/posts/{scheduled['id']}", {"scheduledAt": iso(_in(7200))})
    api.delete(f"/v1/posts/{scheduled['id']}")
    api.get("/v1/posts")
    api.get("/v1/accounts")
    secrets.add(*_sandbox_tokens(with_sandbox))
    assert api.delete(f"/v1/accounts/{account['id']}").status == 204
    browser.close()


def _params(url: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)


SCENARIOS: dict[str, Callable[..., None]] = {
    "bluesky": bluesky_scenario,
    **{p: functools.partial(oauth_scenario, p) for p in sorted({*oauth_platforms(), *OAUTH_SCENARIOS})},
}


def test_every_platform_has_a_secret_hygiene_scenario() -> None:
    missing = set(registered_platforms()) - set(SCENARIOS)
    assert not missing, f"add a scenario for {missing} to this test"


@pytest.mark.parametrize("platform", registered_platforms())
def test_given_a_full_scenario_then_no_secret_appears_in_any_response_log_line_or_table(
    platform: str,
    workspace: dict[str, str],
    with_sandbox: Any,
    queue: QueueDriver,
    captured_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    aws: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # every library's records, as far down as they go
    secrets = Secrets()
    secrets.add(workspace["apiKey"])
    issued = bluesky_adapter._session_tokens

    def recording(*args: Any, **kwargs: Any) -> Any:  # every session the platform ever handed out
        tokens = issued(*args, **kwargs)
        secrets.add(tokens.access_token, tokens.refresh_token)
        return tokens

    monkeypatch.setattr(bluesky_adapter, "_session_tokens", recording)
    responses: list[tuple[str, HttpResponse]] = []
    api = RecordingClient(workspace["apiKey"], responses)

    SCENARIOS[platform](api, with_sandbox, queue, secrets, aws)
    created_key = api.post("/v1/api-keys", {"name": "rotated"})
    secrets.add(created_key.json["key"])
    api.get("/v1/api-keys")
    assert api.delete(f"/v1/api-keys/{created_key.json['id']}").status == 204

    assert len(secrets.values) >= 6, "the scenario should have seen tokens, a password and keys"
    for what, response in responses:
        text = response.text + json.dumps(response.headers)
        if response is created_key:  # the one place a key's plaintext is shown, once
            text = text.replace(created_key.json["key"], "")
        assert not secrets.found_in(text), f"{what} → {response.status} leaked {secrets.found_in(text)}"
    ours = captured_logs.getvalue()
    assert "publish" in ours  # the scenario logged through crosspost's logger ("published", "publish ended")
    assert not secrets.found_in(ours), f"crosspost's log leaked {secrets.found_in(ours)}"
    theirs = "\n".join(f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert not secrets.found_in(theirs), f"a library log line leaked {secrets.found_in(theirs)}"
    for table in TABLES:
        items = boto3.client("dynamodb").scan(TableName=aws[table.env])["Items"]
        assert not secrets.found_in(json.dumps(items)), f"table {table.logical_id} holds a secret"


def test_tokens_live_in_secrets_manager_under_a_name_scoped_by_workspace(
    workspace: dict[str, str], with_sandbox: Any, aws: dict[str, str]
) -> None:
    api = ApiClient(workspace["apiKey"])
    credentials = {"handle": sandbox_bluesky.SEED_HANDLE, "appPassword": sandbox_bluesky.SEED_APP_PASSWORD}
    account = api.post("/v1/accounts/connect", {"platform": "bluesky", "credentials": credentials}).json
    accounts_only = [{"Key": "name", "Values": [aws[Env.SECRETS_PREFIX]]}]  # not the platform apps secret
    [secret] = boto3.client("secretsmanager").list_secrets(Filters=accounts_only)["SecretList"]
    assert secret["Name"] == f"{aws[Env.SECRETS_PREFIX]}{workspace['workspaceId']}/{account['id']}"
    assert {t["Key"]: t["Value"] for t in secret["Tags"]} == {
        "workspaceId": workspace["workspaceId"],
        "accountId": account["id"],
    }
    row = boto3.client("dynamodb").get_item(TableName=aws[Env.ACCOUNTS_TABLE], Key={"id": {"S": account["id"]}})
    assert row["Item"]["secretName"]["S"] == secret["Name"]
    assert "secretName" not in account and secret["Name"] not in json.dumps(account)
