"""The README's walkthrough over HTTP against the running local stack (API.md is the contract):
connect the sandbox's Bluesky account, publish now, schedule, reschedule, survive an outage,
and a second workspace that sees nothing of the first."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e import stack_process
from tests.e2e.helpers import RunningStack, client, iso_in, sandbox_records, unique_text, wait_for

pytestmark = pytest.mark.e2e

PUBLISH_TIMEOUT_SECONDS = 20.0


def _create(api: httpx.Client, account_id: str, text: str, **extra: object) -> httpx.Response:
    return api.post("/v1/posts", json={"account": {"platform": "bluesky", "id": account_id}, "text": text, **extra})


def _published(api: httpx.Client, post_id: str) -> dict[str, object]:
    """Poll the post until it is published (bounded); the post."""

    def check() -> dict[str, object] | None:
        post = api.get(f"/v1/posts/{post_id}").json()
        assert post["status"] in ("queued", "publishing", "published"), post
        return post if post["status"] == "published" else None

    result: dict[str, object] = wait_for(check, PUBLISH_TIMEOUT_SECONDS)
    return result


def test_the_api_answers_with_a_request_id_and_refuses_a_missing_key(local_stack: RunningStack) -> None:
    with client(local_stack.base_url, None) as anonymous:
        spec = anonymous.get("/v1/openapi.json")
        refused = anonymous.get("/v1/accounts")
    assert spec.status_code == 200 and "/v1/posts" in spec.json()["paths"]
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert refused.json()["error"]["requestId"] == refused.headers["x-request-id"]


def test_connecting_the_sandbox_account_creates_it_once(
    api: httpx.Client, first_connect: httpx.Response, local_stack: RunningStack
) -> None:
    # Given the sandbox's seeded Bluesky account, connected with its app password
    assert first_connect.status_code == 201, first_connect.text
    account = first_connect.json()
    assert account["platform"] == "bluesky"
    assert account["username"] == local_stack.bluesky["handle"]
    assert account["platformAccountId"].startswith("did:")
    assert local_stack.bluesky["appPassword"] not in first_connect.text
    # When it is connected again, the same row is updated
    again = api.post("/v1/accounts/connect", json={"platform": "bluesky", "credentials": local_stack.bluesky})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == account["id"]


def test_the_account_list_shows_a_token_that_needs_no_date(api: httpx.Client, account_id: str) -> None:
    listed = api.get("/v1/accounts")
    assert listed.status_code == 200
    (account,) = [a for a in listed.json()["accounts"] if a["id"] == account_id]
    assert account["tokenStatus"] == "unknown"
    assert account["tokenExpiresAt"] is None


def test_publish_now_returns_the_platform_record(api: httpx.Client, account_id: str, sandbox: httpx.Client) -> None:
    text = unique_text("Hello from the walkthrough")
    response = _create(api, account_id, text)
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published"
    assert post["uri"].startswith("at://") and post["cid"] and post["url"].startswith("https://")
    assert post["publishedAt"].endswith("Z")
    (record,) = sandbox_records(sandbox, text)
    assert record["uri"] == post["uri"]
    # And the post reads back the same
    assert api.get(f"/v1/posts/{post['id']}").json()["uri"] == post["uri"]


def test_a_scheduled_post_goes_out_at_its_time(api: httpx.Client, account_id: str, sandbox: httpx.Client) -> None:
    # Given a post scheduled three seconds ahead
    text = unique_text("Scheduled")
    scheduled_at = iso_in(3)
    response = _create(api, account_id, text, scheduledAt=scheduled_at)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    assert sandbox_records(sandbox, text) == []
    # Then it is published, never before its time, exactly once
    post = _published(api, response.json()["id"])
    assert post["scheduledAt"] == scheduled_at
    assert str(post["publishedAt"]) >= scheduled_at
    assert len(sandbox_records(sandbox, text)) == 1


def test_a_rescheduled_post_goes_out_at_its_new_time(api: httpx.Client, account_id: str, sandbox: httpx.Client) -> None:
    # Given a post scheduled ten minutes ahead (an EventBridge schedule)
    text = unique_text("Rescheduled")
    response = _create(api, account_id, text, scheduledAt=iso_in(600))
    assert response.status_code == 202, response.text
    post_id = response.json()["id"]
    # When it is moved to a few seconds from now
    new_time = iso_in(3)
    moved = api.patch(f"/v1/posts/{post_id}", json={"scheduledAt": new_time})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "queued"
    assert moved.json()["scheduledAt"] == new_time
    # Then it is published at the new time, once
    post = _published(api, post_id)
    assert str(post["publishedAt"]) >= new_time
    assert len(sandbox_records(sandbox, text)) == 1


def test_an_outage_defers_publish_now_and_the_queue_publishes_it_once(
    api: httpx.Client, account_id: str, sandbox: httpx.Client
) -> None:
    # Given the simulated Bluesky answers the next publishing call with 503
    fault = sandbox.post("/_sandbox/bluesky/faults", json={"status": 503, "count": 1})
    assert fault.status_code == 200, fault.text
    # When a post is published now, it is handed to the retry queue
    text = unique_text("Deferred")
    response = _create(api, account_id, text)
    assert response.status_code == 202, response.text
    deferred = response.json()
    assert deferred["status"] == "queued"
    assert "publish.deferred" in [w["code"] for w in deferred["warnings"]]
    # Then the publisher publishes it, and the platform holds exactly one record
    post = _published(api, deferred["id"])
    assert post["uri"]
    records = sandbox_records(sandbox, text)
    assert len(records) == 1 and records[0]["uri"] == post["uri"]


def test_make_key_gives_a_new_workspace_that_sees_nothing_of_this_one(
    local_stack: RunningStack, account_id: str, api: httpx.Client
) -> None:
    other = stack_process.mint_key(local_stack.state_file)
    with client(local_stack.base_url, other["apiKey"]) as stranger:
        assert stranger.get(f"/v1/accounts/{account_id}").status_code == 404
        assert stranger.get(f"/v1/accounts/{account_id}").json()["error"]["code"] == "not_found"
        assert stranger.get("/v1/accounts").json()["accounts"] == []
    # And this workspace still sees its account
    assert api.get(f"/v1/accounts/{account_id}").status_code == 200
