"""What the publisher does with one publish-queue record.

A record whose post is not due yet (schedules fire a lead time early) is *held*: its visibility
is set to the remaining seconds, rounded up so it is never early, and it is reported as a batch
item failure so SQS delivers it again then. A retryable failure is handled the same way with
the backoff delay. Everything else completes the record: a permanent failure is recorded on
the post, never left to poison the queue.

A post whose platform is still processing (``Outcome.PROCESSING``: an Instagram container, an X
video) gets a *new* message delayed by the adapter's ``check_after``, and this record completes.
Holding this record instead would count every look as a receive, and a long video would reach the
DLQ's ``maxReceiveCount`` while nothing is wrong.
"""

from __future__ import annotations

import asyncio
import math

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from crosspost.aws.scheduling import PublishQueue
from crosspost.models.messages import PublishMessage
from crosspost.observability import logger
from crosspost.services.publishing import Outcome, PublishingService, look_again

# A record held longer than this is stale (its post was rescheduled later, and the new time
# has its own schedule): let it go instead of holding it for hours.
MAX_HOLD_SECONDS = 900


class RecordNotDone(Exception):
    """Report the record as a batch item failure; its visibility says when it comes back."""


async def process_record(record: SQSRecord, service: PublishingService, queue: PublishQueue) -> str:
    try:
        message = PublishMessage.from_json(record.body)
    except ValueError:
        logger.error("dropping a malformed publish message", extra={"message_id": record.message_id})
        return "malformed"
    attempt = await service.publish(message.postId)
    if attempt.outcome is Outcome.PROCESSING:
        # SQS delays at most 15 minutes: a longer wait comes back early and is held until the lease ends.
        follow_up, delay = look_again(attempt)
        await asyncio.to_thread(queue.send, follow_up, delay_seconds=delay)
        return attempt.outcome.value
    if attempt.outcome in (Outcome.HELD, Outcome.RETRY):
        if attempt.outcome is Outcome.HELD and attempt.post is not None and attempt.post.progress is not None:
            # Waiting for the platform. The message sent for that carries dueAt (and is held when
            # a wait over 15 minutes brings it back early); any other is a duplicate (a sweep that
            # overlapped): let it go, or the post would be looked at twice per interval from now on.
            if message.dueAt is None:
                return "duplicate"
        elif attempt.outcome is Outcome.HELD and attempt.delay_seconds > MAX_HOLD_SECONDS:
            logger.info("dropping a stale early message", extra={"post_id": message.postId})
            return "stale"
        seconds = max(1, math.ceil(attempt.delay_seconds))
        await asyncio.to_thread(queue.change_visibility, record.receipt_handle, seconds)
        raise RecordNotDone(f"{message.postId}: {attempt.outcome.value}, back in {seconds}s")
    return attempt.outcome.value
