"""API keys (API.md "API keys"): plaintext once, SHA-256 hashes at rest, constant-time compare, a
revoked key refused within the cache's seconds, a bounded cache, and the operator's admin command
that mints a deployment's first key."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from crosspost.resources import API_KEYS, TABLES, Env
from crosspost.services import workspaces
from crosspost.services.workspaces import ApiKeyAuthenticator, Caller
from tests.integration.conftest import _reset_caches
from tests.integration.harness import ApiClient

ROOT = Path(__file__).resolve().parents[2]


def _raw_items(table: str) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=table)["Items"])


def test_given_a_new_key_then_only_its_hash_is_stored_and_its_plaintext_is_shown_once(
    api: ApiClient, aws: dict[str, str]
) -> None:
    created = api.post("/v1/api-keys", {"name": "ci"})
    assert created.status == 201
    assert created.headers["cache-control"] == "no-store"
    key = created.json["key"]
    assert key.startswith("cp_live_") and len(key) >= 40

    stored = json.dumps(_raw_items(aws[Env.API_KEYS_TABLE]))
    assert key not in stored and key[12:] not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored
    for table in TABLES:  # nowhere else either
        assert key not in json.dumps(_raw_items(aws[table.env])), table.logical_id

    listed = api.get("/v1/api-keys")
    assert key not in listed.text and all("key" not in k for k in listed.json["apiKeys"])
    assert {k["prefix"] for k in listed.json["apiKeys"]} >= {key[:12]}


def test_lookups_compare_hashes_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = workspaces.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(workspaces.hmac, "compare_digest", spy)
    plaintext = "cp_live_" + "k" * 43
    digest = workspaces.hash_key(plaintext)

    class Store:
        def get_by_hash(self, key_hash: str) -> Any:
            from crosspost.models.domain import ApiKey

            return ApiKey(
                id="k1",
                workspace_id="w1",
                name="n",
                prefix="cp_live_kkkk",
                key_hash=key_hash,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )

    caller = ApiKeyAuthenticator(Store(), 0).authenticate(f"Bearer {plaintext}")  # type: ignore[arg-type]
    assert caller == Caller("w1", "k1")
    assert compared == [(digest, digest)]


def test_given_a_revoked_key_then_it_is_refused_once_the_cache_lapses_without_a_restart(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(Env.API_KEY_CACHE_SECONDS.value, "0.5")
    _reset_caches()
    created = api.post("/v1/api-keys", {"name": "short-lived"}).json
    second = api.with_key(created["key"])
    assert second.get("/v1/profiles").status == 200  # now cached as valid
    assert api.delete(f"/v1/api-keys/{created['id']}").status == 204
    revoked_at = time.monotonic()
    deadline = revoked_at + 5
    while second.get("/v1/profiles").status != 401:
        assert time.monotonic() < deadline, "a revoked key was still accepted after 5 s"
        time.sleep(0.1)
    assert time.monotonic() - revoked_at <= 2.5  # within the cache's 0.5 s, plus requests on a slow machine
    refused = second.get("/v1/profiles")
    assert refused.json["error"]["code"] == "unauthenticated"
    assert api.delete(f"/v1/api-keys/{created['id']}").status == 404  # revoking twice: already gone


def test_the_key_cache_is_bounded_whatever_keys_are_tried() -> None:
    class Store:
        lookups = 0

        def get_by_hash(self, key_hash: str) -> None:
            Store.lookups += 1

    authenticator = ApiKeyAuthenticator(Store(), 60)  # type: ignore[arg-type]
    for _ in range(25_000):
        with pytest.raises(workspaces.UnauthenticatedError):
            authenticator.authenticate("Bearer cp_live_" + secrets.token_urlsafe(32))
    assert len(authenticator._cache) <= 10_001
    assert Store.lookups == 25_000


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic Y3BfbGl2ZV94eHg6",
        "Token cp_live_" + "x" * 43,
        "Bearer cp_test_" + "x" * 43,
        "Bearer cp_live_short",
        "Bearer cp_live_" + "x" * 200,
        "Bearer cp_live_" + "x" * 42 + "!",
        "Bearer cp_live_" + "x" * 43 + "\x00",
        "Bearer  cp_live_" + "é" * 43,
        "Bearer " + "' OR 1=1 --",
    ],
)
def test_given_a_malformed_or_unknown_key_then_401_without_echoing_it(api: ApiClient, header: str | None) -> None:
    headers = {} if header is None else {"authorization": header}
    response = api.with_key(None).get("/v1/profiles", headers=headers)
    assert response.status == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json["error"]["code"] == "unauthenticated"
    if header and len(header) > 10:
        assert header.split(" ")[-1] not in response.text


# ---- the admin command ----------------------------------------------------------------------------


def test_admin_mint_key_in_process_prints_one_json_line(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from crosspost.admin import main

    assert main(["mint-key", "--name", "first key"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    minted = json.loads(lines[0])
    assert minted.keys() == {"apiKey", "workspaceId"}
    assert ApiClient(minted["apiKey"]).get("/v1/profiles").json["profiles"][0]["name"] == "default"


def test_admin_mint_key_as_the_operator_runs_it_against_the_deployed_tables() -> None:
    """``python -m crosspost.admin mint-key`` in a fresh process, with the README's environment,
    against moto's server standing in for the deployed account."""
    from local.aws import MotoServer, aws_environment
    from local.provision import provision

    moto = MotoServer().start()
    try:
        resources = provision("crosspost-admin", moto.url)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT / "layers" / "shared" / "python"),
            **aws_environment(moto.url),
            # exactly what README "Deploying to AWS" tells the operator to export
            **{name: resources[name] for name in (t.env.value for t in TABLES) if name in resources},
            Env.PUBLISH_QUEUE_URL.value: resources[Env.PUBLISH_QUEUE_URL.value],
        }
        done = subprocess.run(
            [sys.executable, "-m", "crosspost.admin", "mint-key", "--name", "first key"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = done.stdout.splitlines()
        assert len(lines) == 1, done.stdout
        minted = json.loads(lines[0])
        assert minted.keys() == {"apiKey", "workspaceId"}
        assert minted["apiKey"] not in done.stderr

        dynamodb = boto3.client("dynamodb", endpoint_url=moto.url, region_name="us-east-1")
        item = dynamodb.get_item(
            TableName=resources[API_KEYS.env.value],
            Key={"keyHash": {"S": hashlib.sha256(minted["apiKey"].encode()).hexdigest()}},
        )["Item"]
        assert item["workspaceId"]["S"] == minted["workspaceId"]
        assert minted["apiKey"] not in json.dumps(item)
    finally:
        moto.stop()
