"""Hostile input at the edge: sizes, content types, encodings, Unicode, and the per-key rate limit.

Every refusal is the contract's envelope (never a 500), comes before any work (no table is
touched beyond the key lookup and the rate-limit counter), and never echoes what was sent.
Unicode that is valid is counted as platforms count it and stored byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from crosspost.aws.clients import client
from crosspost.aws.rate_limits import RateLimitStore
from crosspost.clock import iso
from crosspost.errors import ApiRateLimitedError
from crosspost.resources import Env
from crosspost.services.rate_limit import RateLimiter
from local.sandbox import bluesky as sandbox_bluesky
from tests.integration.conftest import _reset_caches
from tests.integration.harness import ApiClient

MB = 1024 * 1024


@pytest.fixture
def aws_calls(aws: dict[str, str]) -> Iterator[list[str]]:
    """The DynamoDB operations crosspost's own client makes during the test."""
    calls: list[str] = []

    def record(model: Any, **kwargs: Any) -> None:
        calls.append(model.name)

    ddb = client("dynamodb")
    ddb.meta.events.register("before-call.dynamodb.*", record)
    yield calls
    ddb.meta.events.unregister("before-call.dynamodb.*", record)


@pytest.fixture
def account(api: ApiClient, with_sandbox: Any) -> dict[str, Any]:
    credentials = {"handle": sandbox_bluesky.SEED_HANDLE, "appPassword": sandbox_bluesky.SEED_APP_PASSWORD}
    response = api.post("/v1/accounts/connect", {"platform": "bluesky", "credentials": credentials})
    assert response.status == 201, response.json
    return dict(response.json)


def _error(response: Any) -> tuple[int, str, str | None]:
    error = response.json["error"]
    assert error["requestId"] == response.headers["x-request-id"]
    return response.status, error["code"], error.get("rule")


# ---- sizes ------------------------------------------------------------------------------------------


def test_given_a_body_over_5_mb_in_base64_then_413_before_authentication(api: ApiClient) -> None:
    raw = b'{"name": "' + b"a" * (5 * MB) + b'"}'
    response = api.with_key(None).post(
        "/v1/profiles", raw_body=raw, headers={"content-type": "application/octet-stream"}
    )
    assert _error(response) == (413, "validation_failed", "body.too_large")


def test_given_a_body_of_exactly_5_mb_then_it_is_not_refused_for_size(api: ApiClient) -> None:
    prefix, suffix = b'{"name": "', b'"}'
    raw = prefix + b"a" * (5 * MB - len(prefix) - len(suffix)) + suffix
    assert len(raw) == 5 * MB
    response = api.post("/v1/profiles", raw_body=raw)
    assert _error(response) == (400, "validation_failed", "name")  # the schema's limit, not the gate's


def test_given_headers_over_10_kb_then_431_before_authentication(api: ApiClient) -> None:
    response = api.with_key(None).get("/v1/profiles", headers={"x-padding": "p" * 11_000})
    assert _error(response) == (431, "validation_failed", "headers.too_large")
    assert "ppppp" not in response.text
    cookies = api.get("/v1/profiles", headers={"cookie": "; ".join(f"c{i}={'v' * 100}" for i in range(120))})
    assert _error(cookies) == (431, "validation_failed", "headers.too_large")


def test_given_text_and_media_over_the_caps_then_400_before_any_work(
    api: ApiClient, account: dict[str, Any], aws_calls: list[str]
) -> None:
    post = {"account": {"platform": "bluesky", "id": account["id"]}}
    cases = {
        "text": {**post, "text": "x" * 100_001},
        "media": {**post, "text": "hi", "media": [{"kind": "image", "url": "https://example.com/a.png"}] * 26},
        "firstComment.text": {**post, "text": "hi", "firstComment": {"text": "x" * 100_001}},
    }
    for rule, body in cases.items():
        aws_calls.clear()
        response = api.post("/v1/posts", body)
        assert _error(response) == (400, "validation_failed", rule)
        assert set(aws_calls) <= {"UpdateItem", "GetItem"}, aws_calls  # the rate limit and, if cold, the key
        assert "PutItem" not in aws_calls
    aws_calls.clear()
    too_long = api.post("/v1/posts", {**post, "text": "é" * 301})  # a platform rule: reads the account only
    assert _error(too_long) == (400, "preflight_failed", "bluesky.text.max_graphemes")
    assert "PutItem" not in aws_calls and "TransactWriteItems" not in aws_calls


# ---- content types and encodings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", b"hello"),
        ("application/x-www-form-urlencoded", b"name=x&appPassword=hunter2-hunter2"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=name\r\n\r\nx\r\n--b--"),
        ("application/xml", b"<name>x</name>"),
        ("application/json", b'{"name": "a\xffb"}'),  # not UTF-8
        ("application/json", b"[" * 100_000 + b"]" * 100_000),  # nested past the parser's recursion limit
        ("application/json", b'{"name": "\\ud800"}'),  # a lone surrogate: no UTF-8 form
    ],
)
def test_given_a_body_that_is_not_utf8_json_then_400_body_json_without_echo(
    api: ApiClient, content_type: str, raw: bytes
) -> None:
    response = api.post("/v1/profiles", raw_body=raw, headers={"content-type": content_type})
    assert response.status == 400, response.text
    assert response.json["error"]["code"] == "validation_failed"
    assert "hunter2" not in response.text and "<name>" not in response.text
    assert api.get("/v1/profiles").json["profiles"][-1]["name"] == "default"  # nothing was created


def test_given_json_with_another_case_or_a_charset_then_it_is_json(api: ApiClient) -> None:
    response = api.post("/v1/profiles", {"name": "ok"}, headers={"content-type": "Application/JSON; charset=UTF-8"})
    assert response.status == 201


def test_given_a_credentials_body_sent_as_a_form_then_the_password_is_never_echoed(
    api: ApiClient, with_sandbox: Any
) -> None:
    body = json.dumps(
        {"platform": "bluesky", "credentials": {"handle": "h.test", "appPassword": "abcd-efgh-ijkl-mnop"}}
    )
    response = api.post(
        "/v1/accounts/connect", raw_body=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 400 and "abcd-efgh" not in response.text


# ---- Unicode ------------------------------------------------------------------------------------------

FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, seven code points, 25 UTF-8 bytes
EDGE_TEXTS = {
    "zwj": f"{FAMILY} and 🏳️\u200d🌈 and 👍🏽",
    "combining": "e\u0301 a\u0308 Z\u0351\u0352\u0357 क्षि",
    "rtl": "שלום \u202eevil\u202c مرحبا \u200fmixed",
    "nul_and_controls": "a\u0000b\u0001c\u007fd\u200be\ufeff",
    "astral": "𝕳𝖊𝖑𝖑𝖔 𐍈 🀄 \U0010fffd",
    "newlines": "line1\r\nline2\u2028line3\u2029end",
}


@pytest.mark.parametrize("name", sorted(EDGE_TEXTS))
def test_given_unicode_edge_cases_then_they_are_stored_and_published_intact(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any, name: str
) -> None:
    text = EDGE_TEXTS[name]
    base = {"account": {"platform": "bluesky", "id": account["id"]}, "text": text}
    assert api.post("/v1/posts/validate", base).status == 200
    scheduled = api.post("/v1/posts", {**base, "scheduledAt": iso(datetime.now(UTC) + timedelta(hours=1))})
    assert scheduled.status == 202 and scheduled.json["text"] == text
    assert api.get(f"/v1/posts/{scheduled.json['id']}").json["text"] == text
    published = api.post("/v1/posts", base)
    assert published.status == 201, published.json
    assert api.get(f"/v1/posts/{published.json['id']}").json["text"] == text
    records = httpx.get(f"{with_sandbox.url}/_sandbox/bluesky/posts").json()["posts"]
    assert records[-1]["record"]["text"] == text
    profile = api.post("/v1/profiles", {"name": text[:100]})
    assert profile.status == 201 and api.get(f"/v1/profiles/{profile.json['id']}").json["name"] == text[:100]


def test_graphemes_and_bytes_are_counted_as_the_platform_counts_them(api: ApiClient, account: dict[str, Any]) -> None:
    def rules(text: str) -> set[str]:
        response = api.post(
            "/v1/posts/validate", {"account": {"platform": "bluesky", "id": account["id"]}, "text": text}
        )
        return set() if response.status == 200 else {d["rule"] for d in response.json["error"]["details"]}

    assert rules("e\u0301" * 300) == set()  # 300 graphemes of two code points each
    assert rules("e\u0301" * 301) == {"bluesky.text.max_graphemes"}
    assert rules(FAMILY * 100) == set()  # 100 graphemes, 2,500 bytes
    assert rules(FAMILY * 121) == {"bluesky.text.max_bytes"}  # 121 graphemes, 3,025 bytes
    assert rules("\u0000" * 300) == set()
    assert rules("\u202e" * 301) == {"bluesky.text.max_graphemes"}


# ---- the per-key rate limit ---------------------------------------------------------------------------


@pytest.fixture
def limit_of_3(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> ApiClient:
    monkeypatch.setenv(Env.RATE_LIMIT_PER_MINUTE.value, "3")
    _reset_caches()
    from crosspost.api.services import rate_limiter

    rate_limiter().clock = lambda: 1_800_000_030.0  # mid-minute, whatever the wall clock says
    return api


def test_given_a_key_over_its_limit_then_429_with_retry_after_and_the_route_never_runs(
    limit_of_3: ApiClient, aws: dict[str, str]
) -> None:
    api = limit_of_3
    from crosspost.admin import mint_workspace_key

    other = ApiClient(mint_workspace_key("other")["apiKey"])
    created = [api.post("/v1/profiles", {"name": f"p{i}"}).status for i in range(3)]
    assert created == [201, 201, 201]
    limited = api.post("/v1/profiles", {"name": "one too many"})
    assert _error(limited) == (429, "rate_limited", "api_key.rate_limited")
    assert limited.headers["retry-after"] == "30"
    assert other.get("/v1/profiles").status == 200  # per key
    assert api.with_key(None).get("/v1/openapi.json").status == 200  # public routes are not counted
    stored = boto3.client("dynamodb").scan(TableName=aws[Env.WORKSPACES_TABLE])["Items"]
    assert "one too many" not in json.dumps(stored)  # the refused request never reached its route
    counters = boto3.client("dynamodb").scan(TableName=aws[Env.RATE_LIMITS_TABLE])["Items"]
    assert counters and all("ttl" in c and "#" in c["pk"]["S"] for c in counters)


def test_given_several_lambdas_counting_one_key_then_the_limit_holds_across_them(aws: dict[str, str]) -> None:
    """Ten "Lambda instances" (each its own limiter, no shared memory) interleave requests of one
    key: the conditional ADD in DynamoDB admits exactly the limit, whoever asks."""
    now = [1_800_000_000.0]
    lambdas = [RateLimiter(RateLimitStore(aws[Env.RATE_LIMITS_TABLE]), 25, clock=lambda: now[0]) for _ in range(10)]
    admitted = refused = 0
    for i in range(60):
        try:
            lambdas[i % len(lambdas)].check("key-shared")
            admitted += 1
        except ApiRateLimitedError:
            refused += 1
    assert (admitted, refused) == (25, 35)
    now[0] += 60
    lambdas[3].check("key-shared")  # the next window starts from zero


def test_the_local_stack_default_is_high_and_aws_default_is_documented() -> None:
    from dataclasses import fields

    from crosspost.settings import Settings
    from local.stack import LOCAL_RATE_LIMIT_PER_MINUTE

    assert next(f for f in fields(Settings) if f.name == "rate_limit_per_minute").default == 600
    assert LOCAL_RATE_LIMIT_PER_MINUTE >= 100 * 600
