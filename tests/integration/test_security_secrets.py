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

import io
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from crosspost.clock import iso
from crosspost.platforms import bluesky as bluesky_adapter
from crosspost.platforms.registry import registered_platforms
from crosspost.resources import TABLES, Env
from local.sandbox import bluesky as sandbox_bluesky
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
        for entry in sm.list_secrets()["SecretList"]:
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


SCENARIOS: dict[str, Callable[..., None]] = {"bluesky": bluesky_scenario}


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
    assert "published" in ours  # the scenario logged through crosspost's logger
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
    [secret] = boto3.client("secretsmanager").list_secrets()["SecretList"]
    assert secret["Name"] == f"{aws[Env.SECRETS_PREFIX]}{workspace['workspaceId']}/{account['id']}"
    assert {t["Key"]: t["Value"] for t in secret["Tags"]} == {
        "workspaceId": workspace["workspaceId"],
        "accountId": account["id"],
    }
    row = boto3.client("dynamodb").get_item(TableName=aws[Env.ACCOUNTS_TABLE], Key={"id": {"S": account["id"]}})
    assert row["Item"]["secretName"]["S"] == secret["Name"]
    assert "secretName" not in account and secret["Name"] not in json.dumps(account)
