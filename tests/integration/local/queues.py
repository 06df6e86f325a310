"""A queue with a dead-letter queue, as the emulator tests need it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str
    dlq_url: str


def _arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def create_queue(sqs: Any, name: str, visibility_timeout: int, max_receive_count: int) -> Queue:
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    redrive = {"deadLetterTargetArn": _arn(sqs, dlq_url), "maxReceiveCount": str(max_receive_count)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return Queue(url=url, arn=_arn(sqs, url), dlq_url=dlq_url)
