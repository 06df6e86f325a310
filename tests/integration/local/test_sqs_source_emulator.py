"""The SQS event-source emulator against moto: Lambda's event shape, partial batch responses,
visibility timeouts and the redrive policy."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from local.sqs_source import SqsEventSource, failed_ids
from tests.integration.local.queues import Queue


class Publisher:
    """A stub publisher: records each event, fails the records whose body is in ``fail``."""

    def __init__(self, fail: set[str] | None = None, raises: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail or set()
        self.raises = raises

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if self.raises:
            raise RuntimeError("the whole invocation failed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.fail
            ]
        }

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["Records"]]


def _send(sqs: Any, queue: Queue, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _source(sqs: Any, queue: Queue, publisher: Callable[[dict[str, Any]], Any]) -> SqsEventSource:
    return SqsEventSource(sqs, queue.url, queue.arn, publisher, idle_interval=0.05)


def test_records_have_lambdas_sqs_event_shape(sqs: Any, make_queue: Callable[..., Queue]) -> None:
    queue = make_queue()
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody='{"postId": "post_1"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "publish"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    publisher = Publisher()
    assert _source(sqs, queue, publisher).poll_once() == 1
    (record,) = publisher.records
    assert record["body"] == '{"postId": "post_1"}'
    assert record["messageId"] and record["receiptHandle"]
    assert record["md5OfBody"] == hashlib.md5(b'{"postId": "post_1"}').hexdigest()  # noqa: S324
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == "us-east-1"
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= attributes.keys()
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "publish",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"


def test_batches_hold_at_most_ten_records(sqs: Any, make_queue: Callable[..., Queue]) -> None:
    queue = make_queue()
    _send(sqs, queue, *[f"m{i}" for i in range(13)])
    publisher = Publisher()
    source = _source(sqs, queue, publisher)
    while source.poll_once():
        pass
    assert all(len(e["Records"]) <= 10 for e in publisher.events)
    assert sorted(r["body"] for r in publisher.records) == sorted(f"m{i}" for i in range(13))
    assert _count(sqs, queue.url) == 0


def test_only_records_not_reported_as_failures_are_deleted_and_failures_come_back(
    sqs: Any, make_queue: Callable[..., Queue]
) -> None:
    # Given three records, one of which the publisher reports in batchItemFailures
    queue = make_queue(visibility_timeout=1)
    _send(sqs, queue, "ok-1", "retry", "ok-2")
    publisher = Publisher(fail={"retry"})
    source = _source(sqs, queue, publisher)
    assert source.poll_once() == 3
    # Then only the failed record is left, invisible until its visibility timeout ends
    assert _count(sqs, queue.url) == 1
    assert source.poll_once() == 0
    time.sleep(1.1)
    # And it comes back, received for the second time
    publisher.fail = set()
    assert source.poll_once() == 1
    (again,) = publisher.events[-1]["Records"]
    assert again["body"] == "retry"
    assert again["attributes"]["ApproximateReceiveCount"] == "2"
    assert _count(sqs, queue.url) == 0


def test_a_handler_exception_deletes_nothing(sqs: Any, make_queue: Callable[..., Queue]) -> None:
    queue = make_queue(visibility_timeout=1)
    _send(sqs, queue, "a", "b")
    source = _source(sqs, queue, Publisher(raises=True))
    assert source.poll_once() == 2
    assert _count(sqs, queue.url) == 2
    time.sleep(1.1)
    publisher = Publisher()
    source = _source(sqs, queue, publisher)
    assert source.poll_once() == 2
    assert {r["attributes"]["ApproximateReceiveCount"] for r in publisher.records} == {"2"}


def test_a_record_past_max_receive_count_moves_to_the_dlq(sqs: Any, make_queue: Callable[..., Queue]) -> None:
    # Given a queue whose redrive policy allows two receives, and a record that always fails
    queue = make_queue(visibility_timeout=1, max_receive_count=2)
    _send(sqs, queue, "poison")
    publisher = Publisher(fail={"poison"})
    source = _source(sqs, queue, publisher)
    # When it has been received twice, making it visible at once each time (as a hold of 0 s would)
    for _ in range(2):
        assert source.poll_once() == 1
        receipt = publisher.events[-1]["Records"][0]["receiptHandle"]
        sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=receipt, VisibilityTimeout=0)
    # Then the next receive moves it to the DLQ instead of delivering it a third time
    assert source.poll_once() == 0
    assert len(publisher.events) == 2
    moved = sqs.receive_message(QueueUrl=queue.dlq_url, MessageSystemAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]
    assert _count(sqs, queue.url) == 0


def test_the_publisher_can_hold_a_record_with_change_message_visibility(
    sqs: Any, make_queue: Callable[..., Queue]
) -> None:
    # The publisher holds an early record by changing its visibility, then reports it failed.
    queue = make_queue(visibility_timeout=30)
    _send(sqs, queue, "early")

    def hold(event: dict[str, Any]) -> dict[str, Any]:
        record = event["Records"][0]
        sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=1)
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}

    source = _source(sqs, queue, hold)
    assert source.poll_once() == 1
    assert source.poll_once() == 0
    time.sleep(1.1)  # back after the hold, not after the queue's 30 s
    publisher = Publisher()
    assert _source(sqs, queue, publisher).poll_once() == 1
    assert publisher.records[0]["attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, {"m1"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"wrongKey": "m1"}]}, None),
        ({"batchItemFailures": "m1"}, None),
    ],
)
def test_partial_batch_responses_follow_lambdas_rules(result: Any, expected: set[str] | None) -> None:
    # None: Lambda treats the whole batch as failed
    assert failed_ids(result, {"m1", "m2"}) == expected


def test_a_malformed_response_keeps_the_whole_batch(sqs: Any, make_queue: Callable[..., Queue]) -> None:
    queue = make_queue()
    _send(sqs, queue, "a", "b")
    source = _source(sqs, queue, lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]})
    assert source.poll_once() == 2
    assert _count(sqs, queue.url) == 2


def test_the_background_thread_delivers_and_stops(sqs: Any, make_queue: Callable[..., Queue]) -> None:
    queue = make_queue()
    delivered = threading.Event()

    def publisher(event: dict[str, Any]) -> None:
        delivered.set()

    source = _source(sqs, queue, publisher).start()
    try:
        _send(sqs, queue, "hello")
        assert delivered.wait(5)
    finally:
        source.stop()
    assert not source._thread.is_alive()
    assert _count(sqs, queue.url) == 0
