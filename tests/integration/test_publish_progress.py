"""Long platform-side work (PublishProgress): publish-now answers 202 ``publishing`` with
``publish.processing``, the publisher looks again after ``check_after`` and finishes the post; a
take-over resumes from the stored progress (never a blind re-send), and the sweep and the DLQ
consumer leave a post that is waiting for its platform alone until its look-again is overdue.

The platform is the Bluesky sandbox behind an adapter that first reports "still processing" (as an
Instagram container or an X video would) and, once called with the progress it left, really
publishes. Its creates are declared not idempotent, so only the progress contract makes a re-call
safe. Through the public surfaces only: the API handler, the publisher, the sweeper, the DLQ consumer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from crosspost.errors import OutcomeUnknownError, PlatformUnavailableError
from crosspost.platforms.base import PublishProgress, PublishRequest, PublishResult, TokenSet
from crosspost.platforms.bluesky import BlueskyAdapter
from crosspost.resources import Env
from tests.integration.harness import ApiClient, QueueDriver
from tests.integration.test_reliability import (
    DeadLetterDriver,
    Sandbox,
    body,
    expire_lease,
    get,
    reset_caches,
    sweep,
)
from tests.integration.test_reliability import account as account
from tests.integration.test_reliability import sandbox as sandbox


@dataclass
class SlowPlatform:
    """How the fake processing behaves, and what the adapter saw."""

    polls_before_done: int = 1
    check_after: float = 1.0
    fail_on_poll: int | None = None  # this poll raises "try later" (not sent)
    calls: list[PublishRequest] = field(default_factory=list)
    lookups: list[PublishRequest] = field(default_factory=list)
    deadlines: list[float] = field(default_factory=list)


@pytest.fixture
def slow_platform(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> Iterator[SlowPlatform]:
    platform = SlowPlatform()
    monkeypatch.setattr(
        BlueskyAdapter,
        "capabilities",
        dataclasses.replace(BlueskyAdapter.capabilities, idempotent_create=False, lookup=True),
    )
    original = BlueskyAdapter.publish

    async def processing(self: BlueskyAdapter, tokens: TokenSet, request: PublishRequest) -> Any:
        platform.calls.append(request)
        assert request.deadline is not None
        platform.deadlines.append(request.deadline - time.monotonic())
        polls = -1 if request.progress is None else int(request.progress["polls"])
        if request.progress is not None:
            assert request.progress["container"] == "c-1"  # what the first call left
        if platform.fail_on_poll is not None and polls + 1 == platform.fail_on_poll:
            platform.fail_on_poll = None
            raise PlatformUnavailableError("try later", platform="bluesky", rule="bluesky.unavailable")
        if polls + 1 < platform.polls_before_done:
            return PublishProgress({"container": "c-1", "polls": polls + 1}, check_after=platform.check_after)
        return await original(self, tokens, request)

    find_original = BlueskyAdapter.find_published

    async def find(self: BlueskyAdapter, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        platform.lookups.append(request)
        return await find_original(self, tokens, request)

    monkeypatch.setattr(BlueskyAdapter, "publish", processing)
    monkeypatch.setattr(BlueskyAdapter, "find_published", find)
    yield platform


def post_item(aws: dict[str, str], post_id: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=aws[Env.POSTS_TABLE.value], Key={"id": {"S": post_id}}, ConsistentRead=True
    )["Item"]
    return item


def receive_within(queue: QueueDriver, seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if messages := queue.receive():
            return messages
        time.sleep(0.1)
    return []


def processing_post(api: ApiClient, account: dict[str, Any], text: str) -> dict[str, Any]:
    response = api.post("/v1/posts", body(account, text))
    assert response.status == 202, response.json
    post = dict(response.json)
    assert post["status"] == "publishing" and post["attempts"] == 1
    assert [w["code"] for w in post["warnings"]] == ["publish.processing"]
    return post


def test_given_a_platform_still_processing_when_posted_now_then_202_publishing_and_the_publisher_finishes_it(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    slow_platform: SlowPlatform,
) -> None:
    slow_platform.polls_before_done = 3
    post = processing_post(api, account, "a long video")
    assert "progress" in post_item(aws, post["id"])  # the adapter's state is kept on the post
    assert sandbox.posts() == []
    # When the publisher looks again after check_after, twice still processing, then done
    for _ in range(3):
        messages = receive_within(queue, 5)
        assert len(messages) == 1 and '"dueAt"' in messages[0]["Body"]
        result = queue.deliver(messages)
        assert result["batchItemFailures"] == []  # a look is a new message, never a held one
    # Then it is published once, resumed every time from the progress the adapter left
    final = get(api, post["id"])
    assert final["status"] == "published" and final["uri"] == sandbox.posts()[0]["uri"]
    assert final["attempts"] == 1  # looking again is not another attempt
    assert [r.progress for r in slow_platform.calls] == [
        None,
        {"container": "c-1", "polls": 0},
        {"container": "c-1", "polls": 1},
        {"container": "c-1", "polls": 2},
    ]
    assert "progress" not in post_item(aws, post["id"])
    assert queue.receive() == []
    # Deadlines: publish-now the request budget (20 s) minus a margin; the publisher its work budget
    assert 10 < slow_platform.deadlines[0] <= 17.05
    assert all(40 < d <= 60.05 for d in slow_platform.deadlines[1:])


def test_given_a_post_waiting_for_its_platform_when_its_lease_ends_without_its_message_then_a_take_over_resumes_it(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    slow_platform: SlowPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow_platform.check_after = 600  # its own message would come much later
    post = processing_post(api, account, "resumed by a take-over")
    # While it waits, the sweep leaves it alone, and a stray message is let go
    assert sweep()["leaseExpired"] == 0
    queue.send({"postId": post["id"]})
    [stray] = queue.receive()
    assert queue.deliver([stray])["batchItemFailures"] == []
    assert len(slow_platform.calls) == 1 and get(api, post["id"])["status"] == "publishing"
    # When its lease has run out and the grace is over, the sweep hands it back
    expire_lease(aws, post["id"])
    monkeypatch.setenv("SWEEP_GRACE_SECONDS", "0")
    reset_caches()
    assert sweep()["leaseExpired"] == 1
    queue.drain()
    # Then the adapter is called again with its progress (not looked up, not failed as unknown)
    final = get(api, post["id"])
    assert final["status"] == "published" and len(sandbox.posts()) == 1
    assert [r.progress for r in slow_platform.calls] == [None, {"container": "c-1", "polls": 0}]
    assert slow_platform.lookups == []


def test_given_a_not_sent_failure_while_resuming_then_the_retry_keeps_the_progress(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    slow_platform: SlowPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETRY_BASE_SECONDS", "0.05")
    reset_caches()
    slow_platform.polls_before_done, slow_platform.fail_on_poll = 2, 1
    post = processing_post(api, account, "a retry in the middle")
    queue.deliver(receive_within(queue, 5))  # the resume fails with "try later"
    waiting = get(api, post["id"])
    assert waiting["status"] == "queued" and waiting["error"]["rule"] == "bluesky.unavailable"
    assert "progress" in post_item(aws, post["id"])
    deadline = time.monotonic() + 20
    while get(api, post["id"])["status"] != "published" and time.monotonic() < deadline:
        queue.drain()
        time.sleep(0.1)
    assert get(api, post["id"])["status"] == "published" and len(sandbox.posts()) == 1
    # the retry after the failed resume started from the same progress, not from scratch
    assert [r.progress for r in slow_platform.calls] == [
        None,
        {"container": "c-1", "polls": 0},
        {"container": "c-1", "polls": 0},
        {"container": "c-1", "polls": 1},
    ]


def test_given_a_post_waiting_for_its_platform_when_its_record_is_dead_lettered_then_it_is_left_to_finish(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    queue: QueueDriver,
    aws: dict[str, str],
    slow_platform: SlowPlatform,
    dead_letters: DeadLetterDriver,
) -> None:
    slow_platform.check_after = 600
    post = processing_post(api, account, "dead letter while processing")
    # its platform is still at work: the record comes back later
    assert len(dead_letters.dead_letter(post["id"])["batchItemFailures"]) == 1
    # the lease ended a second ago: its look-again message is due about now, still left alone
    expire_lease(aws, post["id"])
    assert len(dead_letters.dead_letter(post["id"])["batchItemFailures"]) == 1
    assert get(api, post["id"])["status"] == "publishing" and slow_platform.lookups == []


def test_given_a_post_waiting_for_its_platform_long_past_its_lease_when_dead_lettered_then_it_ends_after_a_look_up(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    aws: dict[str, str],
    slow_platform: SlowPlatform,
    dead_letters: DeadLetterDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow_platform.check_after = 600
    post = processing_post(api, account, "lost while processing")
    expire_lease(aws, post["id"])
    monkeypatch.setenv("SWEEP_GRACE_SECONDS", "0")
    reset_caches()
    assert dead_letters.dead_letter(post["id"])["batchItemFailures"] == []
    final = get(api, post["id"])
    assert final["status"] == "failed" and final["error"]["rule"] == "publish.dlq"
    # the look-up was told what the platform had been doing
    assert [r.progress for r in slow_platform.lookups] == [{"container": "c-1", "polls": 0}]
    assert "progress" not in post_item(aws, post["id"])


def test_given_an_outcome_unknown_that_reconciles_to_published_when_posted_now_then_202(
    api: ApiClient,
    account: dict[str, Any],
    sandbox: Sandbox,
    slow_platform: SlowPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = BlueskyAdapter.publish

    async def sent_without_answer(self: BlueskyAdapter, tokens: TokenSet, request: PublishRequest) -> Any:
        slow_platform.polls_before_done = 0
        await original(self, tokens, request)
        raise OutcomeUnknownError("no answer", platform="bluesky", rule="bluesky.timeout")

    monkeypatch.setattr(BlueskyAdapter, "publish", sent_without_answer)
    response = api.post("/v1/posts", body(account, "reconciled"))
    # DESIGN.md "Flows": an outcome-unknown failure answers 202 with the post as it stands
    assert response.status == 202 and response.json["status"] == "published", response.json
    assert response.json["uri"] == sandbox.posts()[0]["uri"]


@pytest.fixture
def dead_letters(aws: dict[str, str]) -> DeadLetterDriver:
    return DeadLetterDriver(aws)
