"""SQS event-source emulator: Lambda's poller for the publish queue.

Receives up to ``batch_size`` messages (with every system and message attribute), invokes the
function with them in the Lambda SQS event shape, and deletes exactly the records that did not
fail, following Lambda's ReportBatchItemFailures rules: records listed in ``batchItemFailures``
stay; a response naming an unknown, empty or missing ``itemIdentifier`` fails the whole batch;
a handler that raises fails the whole batch. Records that stay come back after their visibility
timeout (or whatever the function set with ChangeMessageVisibility), and moto's redrive policy
moves a message to the DLQ on the receive after its ``maxReceiveCount``-th, as SQS does.

It short-polls with a small idle sleep rather than long-polling: moto's long poll only notices a
message whose visibility or delay ends when its one-second wait runs out, which would add up to
a second to every held or delayed record (the real service answers a long poll at once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.lambda_events import sqs_record

log = logging.getLogger(__name__)


def failed_ids(result: Any, batch_ids: set[str]) -> set[str] | None:
    """The message ids to keep, from a handler's partial batch response; None = the whole batch
    failed (a malformed response, which Lambda treats as a failure of every record)."""
    if not isinstance(result, dict) or result.get("batchItemFailures") is None:
        return set()  # null / empty response: complete success
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    kept: set[str] = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(item, str) or item not in batch_ids:
            return None
        kept.add(item)
    return kept


class SqsEventSource:
    """Feeds ``queue_url`` to ``invoke`` (the function) in a daemon thread (``start``/``stop``),
    or one batch per ``poll_once()`` call."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        batch_size: int = 10,
        idle_interval: float = 0.1,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._invoke = invoke
        self._batch_size = batch_size
        self._idle_interval = idle_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-sqs-source", daemon=True)

    def start(self) -> SqsEventSource:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling; a batch being processed finishes first (as Lambda lets an invocation end)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.poll_once()
            except (ClientError, BotoCoreError) as exc:
                log.warning("sqs source: %s", exc)
                delivered = 0
            if not delivered:
                self._stop.wait(self._idle_interval)

    def poll_once(self) -> int:
        """Receive one batch, invoke, delete what succeeded; the number of records delivered."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self._queue_arn) for m in messages]}
        try:
            result = self._invoke(event)
        except Exception as exc:  # the function failed: every record returns after its visibility timeout
            log.warning("sqs source: the function failed (%s); %d record(s) will be retried", exc, len(messages))
            return len(messages)
        keep = failed_ids(result, {m["MessageId"] for m in messages})
        if keep is None:
            log.warning("sqs source: malformed batchItemFailures %r; the whole batch will be retried", result)
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in keep]
        if done:
            response = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            for failure in response.get("Failed", []):
                log.warning("sqs source: delete failed: %s", failure)
        return len(messages)
