"""Never lose a post, never post twice, publish on the second (issue #6), through the public
surfaces only: the API handler (HTTP API events), the publisher, the DLQ consumer and the sweeper
(SQS and schedule events), on moto, against the Bluesky sandbox.

Settings that would make a test slow (attempts, backoff, grace) come from the environment, as
the deployed functions read them. Time is never faked; where a test needs a lease to have run
out, it moves ``leaseUntil`` into the past in DynamoDB (the one thing the API cannot do).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from crosspost.clock import iso, parse_iso
from crosspost.errors import OutcomeUnknownError
from crosspost.platforms.base import PublishRequest, PublishResult, TokenSet
from crosspost.platforms.bluesky import BlueskyAdapter
from crosspost.resources import DEAD_LETTERS, SWEEPER, Env
from crosspost.services import faults
from crosspost.services.publishing import OUTCOME_UNKNOWN_REMEDIATION, OUTCOME_UNKNOWN_RULE
from local.functions import load_handler
from local.lambda_events import LambdaContext
from local.provision import dlq_arn, dlq_url
from local.sandbox import bluesky as sandbox_bluesky
from tests.integration.harness import ApiClient, QueueDriver

# ---- helpers -------------------------------------------------------------------------------------


def reset_caches() -> None:
    from crosspost.api.services import reset_services
    from crosspost.aws.clients import reset_clients
    from crosspost.composition import reset_dependencies
    from crosspost.settings import reset_settings

    reset_settings()
    reset_dependencies()
    reset_services()
    reset_clients()


@pytest.fixture
def setenv(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``setenv(NAME=value, ...)`` (None unsets): the functions read it on their next invocation."""

    def apply(**values: str | None) -> None:
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_caches()

    return apply


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url

    def posts(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_sandbox/bluesky/posts").json()["posts"])

    def fault(self, **spec: Any) -> None:
        httpx.post(f"{self.url}/_sandbox/bluesky/faults", json=spec).raise_for_status()

    def pending_faults(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.url}/_sandbox/bluesky/faults").json()["faults"])


@pytest.fixture
def sandbox(with_sandbox: Any) -> Sandbox:
    return Sandbox(with_sandbox.url)


@pytest.fixture
def account(api: ApiClient, sandbox: Sandbox) -> dict[str, Any]:
    credentials = {"handle": sandbox_bluesky.SEED_HANDLE, "appPassword": sandbox_bluesky.SEED_APP_PASSWORD}
    response = api.post("/v1/accounts/connect", {"platform": "bluesky", "credentials": credentials})
    assert response.status == 201, response.json
    return dict(response.json)


def body(account: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    return {"account": {"platform": "bluesky", "id": account["id"]}, "text": text, **extra}


def in_seconds(seconds: float) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def wait_until(when: str, extra: float = 0.05) -> None:
    time.sleep(max(0.0, (parse_iso(when) - datetime.now(UTC)).total_seconds() + extra))


def due_post(api: ApiClient, account: dict[str, Any], text: str) -> str:
    """A scheduled post that is due now; its record (DelaySeconds) is in the queue."""
    scheduled_at = in_seconds(2)  # the API refuses < 1 s ahead; leave room for a loaded machine
    response = api.post("/v1/posts", body(account, text, scheduledAt=scheduled_at))
    assert response.status == 202, response.json
    wait_until(scheduled_at)
    return str(response.json["id"])


def get(api: ApiClient, post_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/posts/{post_id}").json)


def settle(api: ApiClient, queue: QueueDriver, post_id: str, timeout: float = 15) -> dict[str, Any]:
    """Play the publisher until the post is no longer queued or publishing."""
    deadline = time.monotonic() + timeout
    while (post := get(api, post_id))["status"] in ("queued", "publishing") and time.monotonic() < deadline:
        queue.drain()
        time.sleep(0.1)
    return post


def expire_lease(aws: dict[str, str], post_id: str) -> None:
    """What waiting out PUBLISH_LEASE_SECONDS would do."""
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=aws[Env.POSTS_TABLE.value],
        Key={"id": {"S": post_id}},
        UpdateExpression="SET leaseUntil = :past",
        ExpressionAttributeValues={":past": {"S": iso(datetime.now(UTC) - timedelta(seconds=1))}},
    )


def sweep() -> dict[str, int]:
    handler = load_handler(SWEEPER.code_dir)
    result: dict[str, int] = handler({}, LambdaContext(function_name=SWEEPER.name, timeout_seconds=60))
    return result


class DeadLetterDriver(QueueDriver):
    """Lambda's SQS event source for the DLQ consumer."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.url, self.arn = dlq_url(env), dlq_arn(env)
        self.handler = load_handler(DEAD_LETTERS.code_dir)

    def dead_letter(self, post_id: str) -> dict[str, Any]:
        """The post's record exhausted its receives: it is in the DLQ; deliver it."""
        self.send({"postId": post_id})
        return self.deliver(self.receive())


@pytest.fixture
def dead_letters(aws: dict[str, str]) -> DeadLetterDriver:
    return DeadLetterDriver(aws)


@pytest.fixture
def fast_retries(setenv: Callable[..., None]) -> None:
    setenv(RETRY_BASE_SECONDS="0.05", RETRY_MAX_SECONDS="1")


@pytest.fixture
def crash_after_platform_call(setenv: Callable[..., None]) -> Iterator[Callable[[], None]]:
    """The publisher dies after the platform's answer, before the record write; call to stop."""
    setenv(CROSSPOST_FAULT_INJECTION=f"{faults.CRASH_AFTER_PLATFORM_CALL}:1")
    yield lambda: setenv(CROSSPOST_FAULT_INJECTION=None)


def crashed_post(
    api: ApiClient, account: dict[str, Any], queue: QueueDriver, sandbox: Sandbox, stop: Callable[[], None], text: str
) -> dict[str, Any]:
    """A post the platform holds while crosspost still shows it ``publishing`` (the publisher died)."""
    post_id = due_post(api, account, text)
    messages = queue.receive()
    assert len(messages) == 1
    result = queue.deliver(messages)
    stop()
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [messages[0]["MessageId"]]
    post = get(api, post_id)
    assert post["status"] == "publishing" and post["attempts"] == 1
    assert [p["record"]["text"] for p in sandbox.posts()] == [text]  # it went out
    return post


def no_second_put(sandbox: Sandbox) -> None:
    """A sentinel: a refusal for the next publishing call. It stays pending unless someone re-sends."""
    sandbox.fault(status=400, count=1)


# ---- 1. retries --------------------------------------------------------------------------------


def test_given_a_platform_down_longer_than_the_attempts_when_retried_then_failed_with_the_last_error(
    api: ApiClient, account: dict[str, Any], sandbox: Sandbox, queue: QueueDriver, setenv: Callable[..., None]
) -> None:
    # Given at most 3 attempts, a short backoff, and Bluesky answering 503 to the next 10 calls
    setenv(MAX_PUBLISH_ATTEMPTS="3", RETRY_BASE_SECONDS="0.05", RETRY_MAX_SECONDS="1")
    sandbox.fault(status=503, count=10)
    # When a post is published now (attempt 1 inline, deferred to the queue)
    response = api.post("/v1/posts", body(account, "down for a while"))
    assert response.status == 202 and response.json["status"] == "queued"
    assert response.json["attempts"] == 1 and response.json["nextAttemptAt"]
    # Then the publisher retries through the record's visibility and gives up after attempt 3
    final = settle(api, queue, response.json["id"])
    assert final["status"] == "failed"
    assert final["attempts"] == 3  # real platform calls: exactly the 3 the sandbox answered
    assert sandbox.pending_faults()[0]["count"] == 10 - 3
    assert final["error"]["code"] == "platform_unavailable"
    assert final["error"]["rule"] == "bluesky.unavailable"
    assert final["error"]["message"].startswith("Gave up after 3 attempts: ")
    assert final["nextAttemptAt"] is None
    assert sandbox.posts() == []
    assert api.get(f"/v1/accounts/{account['id']}").json["lastError"]["message"].startswith("Gave up")


def test_given_a_429_with_retry_after_when_deferred_then_it_waits_at_least_that_long(
    api: ApiClient, account: dict[str, Any], sandbox: Sandbox, queue: QueueDriver, fast_retries: None
) -> None:
    # Given a backoff of ~0.05 s but a platform that says "retry after 2 s"
    sandbox.fault(status=429, count=1, retryAfter=2)
    response = api.post("/v1/posts", body(account, "rate limited"))
    post = response.json
    assert response.status == 202 and post["status"] == "queued"
    # Then Retry-After is the floor of the delay, and the record stays invisible until then
    waited = (parse_iso(post["nextAttemptAt"]) - parse_iso(post["updatedAt"])).total_seconds()
    assert 2.0 <= waited < 2.5
    assert queue.receive() == []
    final = settle(api, queue, post["id"])
    assert final["status"] == "published" and final["attempts"] == 2
    assert final["publishedAt"] >= post["nextAttemptAt"]
    assert len(sandbox.posts()) == 1


def test_given_a_retry_from_the_queue_then_the_record_is_held_by_its_visibility_for_the_backoff(
    api: ApiClient, account: dict[str, Any], sandbox: Sandbox, queue: QueueDriver, setenv: Callable[..., None]
) -> None:
    setenv(RETRY_BASE_SECONDS="1.5", RETRY_MAX_SECONDS="1.5")  # jitter ±20 %, capped: 1.2–1.5 s
    post_id = due_post(api, account, "retried by the publisher")
    sandbox.fault(status=503, count=1)
    # When the publisher's attempt is not sent
    result = queue.deliver(queue.receive())
    # Then the record is reported back, the post is queued with its next attempt, and the record
    # is invisible until then (ChangeMessageVisibility to the delay, rounded up)
    assert len(result["batchItemFailures"]) == 1
    post = get(api, post_id)
    assert post["status"] == "queued" and post["attempts"] == 1
    assert queue.receive() == []
    again = _receive_within(queue, 3.0)
    assert time.time() >= parse_iso(post["nextAttemptAt"]).timestamp()
    queue.deliver(again)
    assert get(api, post_id)["status"] == "published"


def _receive_within(queue: QueueDriver, seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while not (messages := queue.receive()):
        assert time.monotonic() < deadline, "the record never came back"
        time.sleep(0.05)
    return messages


# ---- 2. exactly once ---------------------------------------------------------------------------


def test_given_finished_posts_when_their_records_come_again_then_nothing_happens(
    api: ApiClient, account: dict[str, Any], sandbox: Sandbox, queue: QueueDriver
) -> None:
    # Given one post in each finished state
    published = api.post("/v1/posts", body(account, "published once")).json["id"]
    sandbox.fault(status=400, count=1)
    rejected = api.post("/v1/posts", body(account, "refused")).json["error"]["postId"]
    sandbox.fault(status=401, count=2)
    failed = api.post("/v1/posts", body(account, "auth lost")).json["error"]["postId"]
    canceled = api.post("/v1/posts", body(account, "never", scheduledAt=in_seconds(3600))).json["id"]
    assert api.delete(f"/v1/posts/{canceled}").status == 200
    finished = {pid: get(api, pid) for pid in (published, rejected, failed, canceled)}
    assert [p["status"] for p in finished.values()] == ["published", "rejected", "failed", "canceled"]
    records = sandbox.posts()
    # When a record for each is delivered again (a redelivery, a late schedule)
    for post_id in finished:
        queue.send({"postId": post_id})
    result = queue.deliver(queue.receive())
    # Then every record completes and nothing changes: no platform call, no write
    assert result["batchItemFailures"] == []
    assert {pid: get(api, pid) for pid in finished} == finished
    assert sandbox.posts() == records


def test_given_the_publisher_dies_after_the_platform_call_when_the_sweep_hands_it_back_then_no_duplicate(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    crash_after_platform_call: Callable[[], None],
) -> None:
    # Given a post the platform holds while the publisher died before recording it
    crashed = crashed_post(api, account, queue, sandbox, crash_after_platform_call, "crash after the call")
    # When its lease runs out and the sweep hands it to the publisher (its own record would come
    # back after the queue's visibility timeout, minutes later)
    assert sweep() == {"requeued": 0, "leaseExpired": 0}  # a live lease is left alone
    expire_lease(aws, crashed["id"])
    assert sweep() == {"requeued": 0, "leaseExpired": 1}
    queue.drain()
    # Then Bluesky's idempotent create is re-sent at the same record key: the same record
    final = get(api, crashed["id"])
    [record] = sandbox.posts()
    assert final["status"] == "published" and final["uri"] == record["uri"]
    assert final["attempts"] == 2


@pytest.fixture
def without_idempotent_create(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Bluesky as a platform whose creates are not idempotent (any future adapter's case);
    ``lookup=False`` also takes away its way to find a post."""

    def apply(lookup: bool) -> None:
        capabilities = dataclasses.replace(BlueskyAdapter.capabilities, idempotent_create=False, lookup=lookup)
        monkeypatch.setattr(BlueskyAdapter, "capabilities", capabilities)
        if not lookup:

            async def cannot_tell(self: BlueskyAdapter, tokens: TokenSet, request: PublishRequest) -> None:
                return None

            monkeypatch.setattr(BlueskyAdapter, "find_published", cannot_tell)

    return apply


@pytest.mark.parametrize("lookup", [True, False], ids=["platform-with-lookup", "platform-without-lookup"])
def test_given_a_non_idempotent_platform_when_a_lease_expires_then_it_is_looked_up_never_re_sent(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    crash_after_platform_call: Callable[[], None],
    without_idempotent_create: Callable[[bool], None],
    lookup: bool,
) -> None:
    crashed = crashed_post(api, account, queue, sandbox, crash_after_platform_call, f"lookup {lookup}")
    without_idempotent_create(lookup)
    no_second_put(sandbox)
    # When its lease has run out and a record comes for it
    expire_lease(aws, crashed["id"])
    queue.send({"postId": crashed["id"]})
    queue.drain()
    # Then nothing is re-sent: published if the platform shows it, else failed as outcome unknown
    assert len(sandbox.posts()) == 1 and len(sandbox.pending_faults()) == 1
    final = get(api, crashed["id"])
    assert final["attempts"] == 1  # a look-up is not an attempt
    if lookup:
        assert final["status"] == "published" and final["uri"] == sandbox.posts()[0]["uri"]
    else:
        assert final["status"] == "failed"
        assert final["error"]["rule"] == OUTCOME_UNKNOWN_RULE
        assert final["error"]["remediation"] == OUTCOME_UNKNOWN_REMEDIATION
        assert "check the platform before re-posting" in final["error"]["remediation"].lower()


@pytest.mark.parametrize("lookup", [True, False], ids=["platform-with-lookup", "platform-without-lookup"])
def test_given_a_non_idempotent_platform_when_a_create_gets_no_answer_then_it_is_reconciled(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    without_idempotent_create: Callable[[bool], None],
    lookup: bool,
) -> None:
    # Given a platform that took the post but whose answer was lost (a read timeout, a 504)
    without_idempotent_create(lookup)
    original = BlueskyAdapter.publish

    async def sent_without_answer(self: BlueskyAdapter, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        await original(self, tokens, request)
        raise OutcomeUnknownError("no answer", platform="bluesky", rule="bluesky.timeout")

    monkeypatch.setattr(BlueskyAdapter, "publish", sent_without_answer)
    # When it is published now
    response = api.post("/v1/posts", body(account, f"no answer {lookup}"))
    # Then it is never sent again: published if the platform shows it, else failed as unknown (202)
    assert len(sandbox.posts()) == 1
    post = get(api, response.json["id"])
    if lookup:
        # DESIGN.md "Flows" answers 202 here; publish-now answers 201 for any published post
        assert response.status in (201, 202) and post["status"] == "published"
        assert post["uri"] == sandbox.posts()[0]["uri"]
    else:
        assert response.status == 202 and post["status"] == "failed"
        assert post["error"]["rule"] == OUTCOME_UNKNOWN_RULE
        assert post["error"]["remediation"] == OUTCOME_UNKNOWN_REMEDIATION


# ---- 3. precision --------------------------------------------------------------------------------


def test_given_an_early_record_then_it_is_held_to_the_second_and_never_published_early(
    api: ApiClient, account: dict[str, Any], sandbox: Sandbox, queue: QueueDriver
) -> None:
    # Given a post due in 2.5 s and its record arriving now (a schedule fires a lead time early)
    scheduled_at = in_seconds(2.5)
    post_id = api.post("/v1/posts", body(account, "on the second", scheduledAt=scheduled_at)).json["id"]
    queue.sqs.purge_queue(QueueUrl=queue.url)  # only the early record below
    queue.send({"postId": post_id, "dueAt": scheduled_at})
    early = queue.receive()
    # When the publisher gets it
    held_at = time.time()
    result = queue.deliver(early)
    # Then it is held (a batch item failure), invisible for the remaining seconds rounded up
    assert len(result["batchItemFailures"]) == 1
    assert get(api, post_id)["status"] == "queued" and sandbox.posts() == []
    remaining = parse_iso(scheduled_at).timestamp() - held_at
    back = _receive_within(queue, remaining + 2.0)
    assert time.time() >= parse_iso(scheduled_at).timestamp()  # never early
    assert time.time() - held_at <= math.ceil(remaining) + 1.0
    queue.deliver(back)
    queue.drain()
    final = get(api, post_id)
    assert final["status"] == "published" and final["publishedAt"] >= scheduled_at
    assert len(sandbox.posts()) == 1


# ---- DLQ consumer ------------------------------------------------------------------------------


def test_given_a_queued_post_never_sent_when_its_record_is_dead_lettered_then_it_fails(
    api: ApiClient, account: dict[str, Any], sandbox: Sandbox, queue: QueueDriver, dead_letters: DeadLetterDriver
) -> None:
    post_id = due_post(api, account, "dead lettered")
    queue.sqs.purge_queue(QueueUrl=queue.url)  # its record exhausted its receives: now in the DLQ
    result = dead_letters.dead_letter(post_id)
    assert result["batchItemFailures"] == []
    final = get(api, post_id)
    assert final["status"] == "failed" and final["error"]["rule"] == "publish.dlq"
    assert final["error"]["message"].startswith("crosspost gave up on this post")
    assert sandbox.posts() == []
    # and a dead letter of a finished post does nothing
    assert dead_letters.dead_letter(post_id)["batchItemFailures"] == []
    assert get(api, post_id) == final


def test_given_a_queued_post_whose_earlier_attempt_landed_when_dead_lettered_then_it_is_published(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    dead_letters: DeadLetterDriver,
    fast_retries: None,
) -> None:
    """A 5xx after Bluesky stored the post reads as "not sent, retry": the DLQ consumer asks the
    platform before it fails anything, so a live post is never reported failed."""
    sandbox.fault(status=500, count=1, mode="after_commit")
    response = api.post("/v1/posts", body(account, "stored despite the 500"))
    assert response.status == 202 and response.json["status"] == "queued"
    queue.sqs.purge_queue(QueueUrl=queue.url)
    wait_until(response.json["nextAttemptAt"])
    dead_letters.dead_letter(response.json["id"])
    final = get(api, response.json["id"])
    [record] = sandbox.posts()
    assert final["status"] == "published" and final["uri"] == record["uri"]


def test_given_a_post_under_a_live_lease_when_dead_lettered_then_it_waits_for_the_lease(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    dead_letters: DeadLetterDriver,
    crash_after_platform_call: Callable[[], None],
) -> None:
    crashed = crashed_post(api, account, queue, sandbox, crash_after_platform_call, "dead letter under lease")
    # When a dead letter for it arrives while a publisher holds its lease
    result = dead_letters.dead_letter(crashed["id"])
    # Then the record is reported back (it returns after the DLQ's visibility timeout), the post untouched
    assert len(result["batchItemFailures"]) == 1
    assert get(api, crashed["id"]) == crashed
    # And once the lease is over, the consumer finds the post on the platform: published, not re-sent
    expire_lease(aws, crashed["id"])
    no_second_put(sandbox)
    assert dead_letters.dead_letter(crashed["id"])["batchItemFailures"] == []
    final = get(api, crashed["id"])
    assert final["status"] == "published" and final["uri"] == sandbox.posts()[0]["uri"]
    assert len(sandbox.posts()) == 1 and len(sandbox.pending_faults()) == 1


def test_given_an_expired_lease_on_a_platform_without_lookup_when_dead_lettered_then_outcome_unknown(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    dead_letters: DeadLetterDriver,
    crash_after_platform_call: Callable[[], None],
    without_idempotent_create: Callable[[bool], None],
) -> None:
    crashed = crashed_post(api, account, queue, sandbox, crash_after_platform_call, "unknown in the DLQ")
    without_idempotent_create(False)
    expire_lease(aws, crashed["id"])
    dead_letters.dead_letter(crashed["id"])
    final = get(api, crashed["id"])
    assert final["status"] == "failed" and final["error"]["rule"] == OUTCOME_UNKNOWN_RULE
    assert final["error"]["remediation"] == OUTCOME_UNKNOWN_REMEDIATION
    assert len(sandbox.posts()) == 1


# ---- 4. reconcile sweep ---------------------------------------------------------------------------


def test_given_a_queued_post_that_lost_its_message_when_past_due_and_grace_then_the_sweep_requeues_it(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    setenv: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    setenv(SWEEP_GRACE_SECONDS="0.5")
    scheduled_at = in_seconds(1.2)
    post_id = api.post("/v1/posts", body(account, "lost message", scheduledAt=scheduled_at)).json["id"]
    queue.sqs.purge_queue(QueueUrl=queue.url)  # the message is gone
    # Not yet past due + grace: left alone
    assert sweep()["requeued"] == 0
    wait_until(scheduled_at, extra=0.6)
    capsys.readouterr()
    # When the sweep runs past due + grace
    assert sweep() == {"requeued": 1, "leaseExpired": 0}
    # Then it is counted as a metric, and the publisher publishes it from the new message
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(m.get("SweepRequeued") == [1.0] for m in metrics), metrics
    queue.drain()
    final = get(api, post_id)
    assert final["status"] == "published" and final["publishedAt"] >= scheduled_at
    assert len(sandbox.posts()) == 1
    assert sweep() == {"requeued": 0, "leaseExpired": 0}
