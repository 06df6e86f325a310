"""Accounts and posts through the real API and publisher handlers, on moto, against the
Bluesky sandbox (local/sandbox) on 127.0.0.1."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from crosspost.clock import iso
from local.sandbox import bluesky as sandbox_bluesky
from tests.integration.harness import ApiClient, QueueDriver

HANDLE = sandbox_bluesky.SEED_HANDLE
APP_PASSWORD = sandbox_bluesky.SEED_APP_PASSWORD


def connect(api: ApiClient, **extra: Any) -> Any:
    body = {"platform": "bluesky", "credentials": {"handle": HANDLE, "appPassword": APP_PASSWORD}, **extra}
    return api.post("/v1/accounts/connect", body)


def sandbox_posts(sandbox: Any) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sandbox.url}/_sandbox/bluesky/posts").json()["posts"])


def fault(sandbox: Any, **spec: Any) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/bluesky/faults", json=spec).raise_for_status()


def post_body(account_id: str, text: str = "Hello from crosspost", **extra: Any) -> dict[str, Any]:
    return {"account": {"platform": "bluesky", "id": account_id}, "text": text, **extra}


def in_seconds(seconds: float) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


@pytest.fixture
def account(api: ApiClient, with_sandbox: Any) -> dict[str, Any]:
    response = connect(api)
    assert response.status == 201, response.json
    return dict(response.json)


# ---- connect ---------------------------------------------------------------------------------


def test_connect_then_reconnect_keeps_the_id(api: ApiClient, with_sandbox: Any) -> None:
    first = connect(api)
    assert first.status == 201
    assert first.json["platform"] == "bluesky" and first.json["username"] == HANDLE
    assert first.json["platformAccountId"].startswith("did:")
    assert first.json["tokenStatus"] == "unknown" and first.json["tokenExpiresIn"] is None
    again = api.post("/v1/accounts/connect/bluesky/complete", {"handle": HANDLE, "appPassword": APP_PASSWORD})
    assert again.status == 200
    assert again.json["id"] == first.json["id"]
    assert len(api.get("/v1/accounts").json["accounts"]) == 1


def test_connect_to_another_profile_is_409(api: ApiClient, account: dict[str, Any]) -> None:
    other = api.post("/v1/profiles", {"name": "second"}).json["id"]
    response = connect(api, profileId=other)
    assert (response.status, response.json["error"]["rule"]) == (409, "account.already_connected")


def test_profile_id_required_with_several_profiles(api: ApiClient, with_sandbox: Any) -> None:
    api.post("/v1/profiles", {"name": "second"})
    response = connect(api)
    assert (response.status, response.json["error"]["rule"]) == (400, "profileId.required")


def test_wrong_app_password_is_401_platform_auth_failed(api: ApiClient, with_sandbox: Any) -> None:
    body = {"platform": "bluesky", "credentials": {"handle": HANDLE, "appPassword": "wrong-pass-word-0000"}}
    response = api.post("/v1/accounts/connect", body)
    assert response.status == 401
    assert (response.json["error"]["code"], response.json["error"]["rule"]) == (
        "platform_auth_failed",
        "bluesky.auth.invalid",
    )
    assert "wrong-pass-word-0000" not in response.text


def test_service_must_be_public(api: ApiClient, with_sandbox: Any) -> None:
    for service in ("https://127.0.0.1:8443", "http://169.254.169.254", "https://10.0.0.8"):
        response = connect(api, service=service)
        assert (response.status, response.json["error"]["rule"]) == (400, "bluesky.service.forbidden"), service


def test_connect_start_per_platform(api: ApiClient, with_sandbox: Any) -> None:
    assert api.post("/v1/accounts/connect/bluesky", {}).json == {
        "method": "credentials",
        "fields": ["handle", "appPassword"],
    }
    instagram = api.post("/v1/accounts/connect/instagram", {})
    assert (instagram.status, instagram.json["error"]["rule"]) == (400, "instagram.connect.use_facebook")
    assert api.post("/v1/accounts/connect/myspace", {}).status == 404
    other = api.post(
        "/v1/accounts/connect", {"platform": "twitter", "credentials": {"handle": "a", "appPassword": "b"}}
    )
    assert (other.status, other.json["error"]["rule"]) == (400, "platform")


def test_token_status_states_through_the_api(api: ApiClient, account: dict[str, Any], aws: dict[str, str]) -> None:
    table = boto3.client("dynamodb").describe_table  # noqa: F841 (documents that we edit the row directly)
    cases = {
        "expired": (timedelta(hours=-1), "expired"),
        "expiring_soon": (timedelta(days=2, hours=5, minutes=5), "2d 5h"),
        "valid": (timedelta(days=30, hours=1, minutes=5), "30d 1h"),
    }
    for status, (delta, text) in cases.items():
        boto3.client("dynamodb").update_item(
            TableName=aws["ACCOUNTS_TABLE"],
            Key={"id": {"S": account["id"]}},
            UpdateExpression="SET tokenExpiresAt = :t",
            ExpressionAttributeValues={":t": {"S": iso(datetime.now(UTC) + delta)}},
        )
        got = api.get(f"/v1/accounts/{account['id']}").json
        assert (got["tokenStatus"], got["tokenExpiresIn"]) == (status, text)
        assert [a["id"] for a in api.get("/v1/accounts", query=f"tokenStatus={status}").json["accounts"]] == [
            account["id"]
        ]
        assert api.get("/v1/accounts", query="tokenStatus=unknown").json["accounts"] == []


def test_list_filters(api: ApiClient, account: dict[str, Any]) -> None:
    assert len(api.get("/v1/accounts", query="platform=bluesky").json["accounts"]) == 1
    assert api.get("/v1/accounts", query="platform=twitter").json["accounts"] == []
    assert api.get("/v1/accounts", query="platform=myspace").status == 400
    assert api.get("/v1/accounts", query="tokenStatus=bogus").status == 400


# ---- publish now -----------------------------------------------------------------------------


def test_publish_now_with_facets(api: ApiClient, account: dict[str, Any], with_sandbox: Any) -> None:
    text = "Launch day! https://example.com/launch #crosspost"
    response = api.post("/v1/posts", post_body(account["id"], text))
    assert response.status == 201, response.json
    post = response.json
    assert post["status"] == "published" and post["attempts"] == 1
    assert post["uri"].startswith("at://") and post["cid"] and post["url"].startswith("https://bsky.app/profile/")
    records = sandbox_posts(with_sandbox)
    assert len(records) == 1 and records[0]["record"]["text"] == text
    features = {f["features"][0]["$type"] for f in records[0]["record"].get("facets", [])}
    assert {"app.bsky.richtext.facet#link", "app.bsky.richtext.facet#tag"} <= features
    assert api.get(f"/v1/posts/{post['id']}").json["status"] == "published"
    assert api.get(f"/v1/accounts/{account['id']}").json["lastSuccessfulPost"] is not None


def test_idempotency_key_replays_with_one_platform_call(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any
) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = api.post("/v1/posts", post_body(account["id"]), headers=headers)
    second = api.post("/v1/posts", post_body(account["id"]), headers=headers)
    assert first.status == second.status == 201
    assert first.json == second.json
    assert len(sandbox_posts(with_sandbox)) == 1
    clash = api.post("/v1/posts", post_body(account["id"], "another text"), headers=headers)
    assert (clash.status, clash.json["error"]["code"], clash.json["error"]["rule"]) == (
        409,
        "idempotency_conflict",
        "idempotency_key.body_mismatch",
    )


def test_idempotency_keys_are_per_workspace(api: ApiClient, account: dict[str, Any], with_sandbox: Any) -> None:
    from crosspost.admin import mint_workspace_key

    other = ApiClient(mint_workspace_key("other")["apiKey"])
    headers = {"Idempotency-Key": "shared-key"}
    assert api.post("/v1/posts", post_body(account["id"]), headers=headers).status == 201
    foreign = other.post("/v1/posts", post_body(account["id"]), headers=headers)
    assert foreign.status == 404  # not a replay of the first workspace's answer


def test_preflight_reports_every_failing_rule(api: ApiClient, account: dict[str, Any]) -> None:
    body = post_body(account["id"], "é" * 301, firstComment={"text": "x" * 301}, pinterest={"boardId": "b"})
    response = api.post("/v1/posts/validate", body)
    assert response.status == 400
    error = response.json["error"]
    assert error["code"] == "preflight_failed" and error["platform"] == "bluesky"
    assert {d["rule"] for d in error["details"]} == {
        "bluesky.text.max_graphemes",
        "bluesky.first_comment.max_graphemes",
        "post.options.platform_mismatch",
    }
    assert api.get("/v1/posts").json["posts"] == []  # nothing stored


def test_graphemes_not_code_points(api: ApiClient, account: dict[str, Any]) -> None:
    family = "👨‍👩‍👧‍👦"  # one grapheme, seven code points, 25 bytes
    assert api.post("/v1/posts/validate", post_body(account["id"], family * 100)).status == 200
    too_many_bytes = api.post("/v1/posts/validate", post_body(account["id"], family * 121))
    assert too_many_bytes.json["error"]["rule"] == "bluesky.text.max_bytes"


def test_validate_warns_nothing_for_a_good_post(api: ApiClient, account: dict[str, Any]) -> None:
    assert api.post("/v1/posts/validate", post_body(account["id"])).json == {"status": "validated", "warnings": []}


def test_platform_503_defers_then_the_queue_publishes_once(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any, queue: QueueDriver
) -> None:
    fault(with_sandbox, status=503, count=1)
    response = api.post("/v1/posts", post_body(account["id"]))
    assert response.status == 202
    post = response.json
    assert post["status"] == "queued" and post["nextAttemptAt"]
    assert "publish.deferred" in [w["code"] for w in post["warnings"]]
    assert sandbox_posts(with_sandbox) == []
    deadline = time.monotonic() + 15
    while api.get(f"/v1/posts/{post['id']}").json["status"] != "published" and time.monotonic() < deadline:
        queue.drain()
        time.sleep(0.3)
    final = api.get(f"/v1/posts/{post['id']}").json
    assert final["status"] == "published" and final["attempts"] == 2
    assert len(sandbox_posts(with_sandbox)) == 1


def test_outcome_unknown_on_bluesky_retries_without_a_duplicate(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any, queue: QueueDriver
) -> None:
    fault(with_sandbox, status=500, count=1, mode="after_commit")
    response = api.post("/v1/posts", post_body(account["id"]))
    assert response.status == 202
    deadline = time.monotonic() + 15
    while api.get(f"/v1/posts/{response.json['id']}").json["status"] != "published" and time.monotonic() < deadline:
        queue.drain()
        time.sleep(0.3)
    final = api.get(f"/v1/posts/{response.json['id']}").json
    assert final["status"] == "published"
    records = sandbox_posts(with_sandbox)
    assert len(records) == 1 and final["uri"] == records[0]["uri"]


def test_content_refused_is_502_and_stored_rejected(api: ApiClient, account: dict[str, Any], with_sandbox: Any) -> None:
    fault(with_sandbox, status=400, count=1)
    response = api.post("/v1/posts", post_body(account["id"]))
    assert response.status == 502
    error = response.json["error"]
    assert error["code"] == "platform_rejected" and error["platform"] == "bluesky"
    assert error["platformResponse"]["error"]
    stored = api.get(f"/v1/posts/{error['postId']}").json
    assert stored["status"] == "rejected" and stored["error"]["code"] == "platform_rejected"
    assert api.get(f"/v1/accounts/{account['id']}").json["lastError"]["message"]


def test_token_refused_twice_fails_with_auth_error(api: ApiClient, account: dict[str, Any], with_sandbox: Any) -> None:
    fault(with_sandbox, status=401, count=2)
    response = api.post("/v1/posts", post_body(account["id"]))
    assert response.status == 502
    assert response.json["error"]["code"] == "platform_auth_failed"
    assert api.get(f"/v1/posts/{response.json['error']['postId']}").json["status"] == "failed"


def test_token_refused_once_is_refreshed_and_published(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any
) -> None:
    fault(with_sandbox, status=401, count=1)
    response = api.post("/v1/posts", post_body(account["id"]))
    assert response.status == 201
    assert len(sandbox_posts(with_sandbox)) == 1


def test_revoked_sessions_fall_back_to_a_fresh_login(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any
) -> None:
    assert api.post("/v1/posts", post_body(account["id"], "one")).status == 201
    httpx.post(f"{with_sandbox.url}/_sandbox/bluesky/revoke-sessions", json={"handle": HANDLE}).raise_for_status()
    from crosspost.api.services import reset_services
    from crosspost.composition import reset_dependencies

    reset_dependencies()  # a cold container: no cached token
    reset_services()
    assert api.post("/v1/posts", post_body(account["id"], "two")).status == 201
    assert len(sandbox_posts(with_sandbox)) == 2


# ---- scheduling ------------------------------------------------------------------------------


def test_future_post_gets_a_schedule_a_lead_time_early_and_an_early_record_is_held(
    api: ApiClient, account: dict[str, Any], aws: dict[str, str], queue: QueueDriver
) -> None:
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    response = api.post("/v1/posts", post_body(account["id"], scheduledAt=iso(when)))
    assert response.status == 202 and response.json["status"] == "queued"
    post_id = response.json["id"]
    schedule = boto3.client("scheduler").get_schedule(Name=post_id, GroupName=aws["SCHEDULE_GROUP"])
    assert schedule["ScheduleExpression"] == f"at({(when - timedelta(seconds=60)).strftime('%Y-%m-%dT%H:%M:%S')})"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == aws["PUBLISH_QUEUE_ARN"]
    assert json.loads(schedule["Target"]["Input"])["postId"] == post_id
    # The schedule fires early (AWS may fire anywhere in its window): the record is held, not published.
    queue.send(json.loads(schedule["Target"]["Input"]))
    result = queue.deliver(queue.receive())
    assert len(result["batchItemFailures"]) == 1
    assert api.get(f"/v1/posts/{post_id}").json["status"] == "queued"
    assert queue.receive() == []  # invisible until its time


def test_a_record_hours_early_is_dropped_as_stale(api: ApiClient, account: dict[str, Any], queue: QueueDriver) -> None:
    """A record far ahead of its post's time belongs to an older schedule (the post was moved
    later and has a schedule of its own): holding it for hours would only burn receives."""
    post_id = api.post("/v1/posts", post_body(account["id"], scheduledAt=in_seconds(7200))).json["id"]
    queue.send({"postId": post_id})
    assert queue.deliver(queue.receive())["batchItemFailures"] == []
    assert api.get(f"/v1/posts/{post_id}").json["status"] == "queued"


def test_reschedule_moves_the_schedule_and_cancel_deletes_it(
    api: ApiClient, account: dict[str, Any], aws: dict[str, str]
) -> None:
    post_id = api.post("/v1/posts", post_body(account["id"], scheduledAt=in_seconds(7200))).json["id"]
    later = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    moved = api.patch(f"/v1/posts/{post_id}", {"scheduledAt": iso(later)})
    assert moved.status == 200 and moved.json["scheduledAt"] == iso(later)
    scheduler = boto3.client("scheduler")
    expression = scheduler.get_schedule(Name=post_id, GroupName=aws["SCHEDULE_GROUP"])["ScheduleExpression"]
    assert expression == f"at({(later - timedelta(seconds=60)).strftime('%Y-%m-%dT%H:%M:%S')})"
    canceled = api.delete(f"/v1/posts/{post_id}")
    assert canceled.status == 200 and canceled.json["status"] == "canceled"
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name=post_id, GroupName=aws["SCHEDULE_GROUP"])
    again = api.delete(f"/v1/posts/{post_id}")
    assert (again.status, again.json["error"]["rule"]) == (409, "post.status")
    assert api.patch(f"/v1/posts/{post_id}", {"scheduledAt": in_seconds(9000)}).status == 409


def test_scheduled_post_is_published_by_the_publisher_not_early(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any, queue: QueueDriver
) -> None:
    scheduled_at = in_seconds(2.5)
    response = api.post("/v1/posts", post_body(account["id"], scheduledAt=scheduled_at))
    assert response.status == 202
    post_id = response.json["id"]
    deadline = time.monotonic() + 15
    while api.get(f"/v1/posts/{post_id}").json["status"] == "queued" and time.monotonic() < deadline:
        queue.drain()
        time.sleep(0.2)
    final = api.get(f"/v1/posts/{post_id}").json
    assert final["status"] == "published"
    assert final["publishedAt"] >= scheduled_at  # never early (ISO strings with Z compare in order)
    assert len(sandbox_posts(with_sandbox)) == 1


def test_a_canceled_post_is_never_published(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any, queue: QueueDriver
) -> None:
    post_id = api.post("/v1/posts", post_body(account["id"], scheduledAt=in_seconds(1.5))).json["id"]
    assert api.delete(f"/v1/posts/{post_id}").json["status"] == "canceled"
    queue.send({"postId": post_id})  # a message already in flight when it was canceled
    time.sleep(2)
    queue.drain()
    assert api.get(f"/v1/posts/{post_id}").json["status"] == "canceled"
    assert sandbox_posts(with_sandbox) == []


def test_scheduled_at_must_be_in_the_future(api: ApiClient, account: dict[str, Any]) -> None:
    response = api.post("/v1/posts", post_body(account["id"], scheduledAt=in_seconds(-5)))
    assert (response.status, response.json["error"]["rule"]) == (400, "scheduledAt.future")


def test_malformed_queue_messages_are_dropped_not_retried(queue: QueueDriver, aws: dict[str, str]) -> None:
    queue.send({"nope": True})
    queue.send({"postId": "post_unknown"})
    assert queue.deliver(queue.receive())["batchItemFailures"] == []


# ---- lists, isolation, disconnect ------------------------------------------------------------


def test_posts_list_newest_first_with_filters(api: ApiClient, account: dict[str, Any]) -> None:
    ids = [
        api.post("/v1/posts", post_body(account["id"], f"p{i}", scheduledAt=in_seconds(3600))).json["id"]
        for i in range(3)
    ]
    listed = api.get("/v1/posts").json["posts"]
    assert [p["id"] for p in listed] == ids[::-1]
    assert len(api.get("/v1/posts", query="status=queued&limit=2").json["posts"]) == 2
    assert api.get("/v1/posts", query="status=published").json["posts"] == []
    assert len(api.get("/v1/posts", query=f"accountId={account['id']}").json["posts"]) == 3


def test_other_workspace_sees_404_and_nothing_in_lists(
    api: ApiClient, account: dict[str, Any], with_sandbox: Any
) -> None:
    from crosspost.admin import mint_workspace_key

    post_id = api.post("/v1/posts", post_body(account["id"], scheduledAt=in_seconds(3600))).json["id"]
    other = ApiClient(mint_workspace_key("other")["apiKey"])
    assert other.get(f"/v1/accounts/{account['id']}").status == 404
    assert other.delete(f"/v1/accounts/{account['id']}").status == 404
    assert other.get(f"/v1/posts/{post_id}").status == 404
    assert other.delete(f"/v1/posts/{post_id}").status == 404
    assert other.patch(f"/v1/posts/{post_id}", {"scheduledAt": in_seconds(7200)}).status == 404
    assert other.post("/v1/posts", post_body(account["id"])).status == 404
    assert other.get("/v1/accounts").json["accounts"] == []
    assert other.get("/v1/posts", query=f"accountId={account['id']}").json["posts"] == []
    assert api.get(f"/v1/posts/{post_id}").json["status"] == "queued"


def test_disconnect_deletes_the_secret_and_cancels_queued_posts(
    api: ApiClient, account: dict[str, Any], aws: dict[str, str]
) -> None:
    post_id = api.post("/v1/posts", post_body(account["id"], scheduledAt=in_seconds(3600))).json["id"]
    secrets = boto3.client("secretsmanager")
    accounts_only = [{"Key": "name", "Values": [aws["SECRETS_PREFIX"]]}]  # not the platform apps secret
    assert len(secrets.list_secrets(Filters=accounts_only)["SecretList"]) == 1
    assert api.delete(f"/v1/accounts/{account['id']}").status == 204
    assert secrets.list_secrets(Filters=accounts_only)["SecretList"] == []
    assert api.get(f"/v1/accounts/{account['id']}").status == 404
    assert api.get(f"/v1/posts/{post_id}").json["status"] == "canceled"
    assert connect(api).status == 201  # the secret's name is free again at once


# ---- secrets never leak ----------------------------------------------------------------------


def test_no_secret_in_any_response_or_log_line(
    api: ApiClient,
    workspace: dict[str, str],
    with_sandbox: Any,
    queue: QueueDriver,
    captured_logs: io.StringIO,
    aws: dict[str, str],
) -> None:
    responses = [connect(api)]
    account_id = responses[0].json["id"]
    responses.append(api.post("/v1/posts", post_body(account_id)))
    fault(with_sandbox, status=503, count=1)
    responses.append(api.post("/v1/posts", post_body(account_id, "deferred")))
    fault(with_sandbox, status=400, count=1)
    responses.append(api.post("/v1/posts", post_body(account_id, "refused")))
    fault(with_sandbox, status=401, count=2)
    responses.append(api.post("/v1/posts", post_body(account_id, "auth")))
    time.sleep(2.5)
    queue.drain()
    responses += [
        api.get("/v1/accounts"),
        api.get(f"/v1/accounts/{account_id}"),
        api.get("/v1/posts"),
        api.post("/v1/api-keys", {"name": "x"}),
    ]
    new_key = responses[-1].json["key"]
    accounts_only = [{"Key": "name", "Values": [aws["SECRETS_PREFIX"]]}]  # not the platform apps secret
    secret_name = boto3.client("secretsmanager").list_secrets(Filters=accounts_only)["SecretList"][0]["Name"]
    tokens = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_name)["SecretString"])
    secrets = [APP_PASSWORD, workspace["apiKey"], tokens["accessToken"], tokens["refreshToken"]]
    everything = "\n".join(r.text for r in responses[:-1]) + "\n" + captured_logs.getvalue()
    for secret in secrets:
        assert secret not in everything
    assert new_key not in captured_logs.getvalue()
    assert captured_logs.getvalue(), "the scenario should have logged something"
