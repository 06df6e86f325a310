"""What the DLQ consumer does with one dead-lettered publish record.

A record lands in the DLQ after ``maxReceiveCount`` receives (holds, retries, crashes). Its post
must still end (DESIGN.md "Publisher": "A record that exhausts its receives lands in the DLQ and
its post ends failed"); ``PublishingService.give_up`` decides how, after asking the platform
where it can. The one case left alone is a post under a live lease: another publisher is in the
middle of publishing it (a duplicate message of this post was dead-lettered, not the one being
worked on), and failing it under that publisher would record ``failed`` for a post that is about
to be live. Its record is reported as not done and comes back after the DLQ's visibility timeout,
by which time the lease holder has finished, or its lease has run out and ``give_up`` takes over.
A post waiting for its platform (``progress``: a container, a video still processing) is left
alone the same way, a little longer: its look-again message is on its way (``give_up``).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from crosspost.models.messages import PublishMessage
from crosspost.observability import logger, metrics
from crosspost.services.publishing import Outcome, PublishingService
from crosspost.services.queue_worker import RecordNotDone

DEAD_LETTER_RULE = "publish.dlq"
DEAD_LETTER_MESSAGE = (
    "crosspost gave up on this post: its publish message was delivered too many times without an outcome."
)


async def process_dead_letter(record: SQSRecord, service: PublishingService) -> str:
    try:
        message = PublishMessage.from_json(record.body)
    except ValueError:
        logger.error("dropping a malformed dead letter", extra={"message_id": record.message_id})
        return "malformed"
    metrics.add_metric(name="DeadLetters", unit="Count", value=1)
    attempt = await service.give_up(message.postId, rule=DEAD_LETTER_RULE, message=DEAD_LETTER_MESSAGE)
    if attempt.outcome is Outcome.HELD:
        raise RecordNotDone(f"{message.postId}: under a live lease; looked at again later")
    logger.warning(
        "dead letter resolved",
        extra={"post_id": message.postId, "outcome": attempt.outcome.value, "receives": _receives(record)},
    )
    return attempt.outcome.value


def _receives(record: SQSRecord) -> str | None:
    return record.attributes.approximate_receive_count
