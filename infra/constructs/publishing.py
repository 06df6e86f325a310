"""The publish queue, its dead-letter queue, and the publisher's subscription to it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from crosspost import resources


class PublishingConstruct(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        super().__init__(scope, construct_id)
        defs = resources.QUEUES
        queue_name, dlq_name = defs.physical_names(prefix)
        self.dead_letter_queue = sqs.Queue(
            self,
            defs.dlq_logical_id,
            queue_name=dlq_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(defs.dlq_retention_days),
            # At least the DLQ consumer's timeout (Lambda checks it when mapping the queue).
            visibility_timeout=Duration.seconds(defs.dlq_visibility_timeout_seconds),
        )
        self.queue = sqs.Queue(
            self,
            defs.publish_logical_id,
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # At least the publisher's timeout, or a record still being published is received twice.
            visibility_timeout=Duration.seconds(defs.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue,
                # Holds (early records) and retries are receives too: resources.py sizes this.
                max_receive_count=defs.max_receive_count,
            ),
        )

    def subscribe_publisher(self, publisher: lambda_.IFunction) -> None:
        """Deliver the queue to the publisher in batches; failures are reported per record.

        The event source grants the publisher receive/delete/ChangeMessageVisibility on the
        queue: it changes a record's visibility to hold an early one and to back off a retry.
        """
        publisher.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=resources.PUBLISHER_BATCH_SIZE,
                # No batching window: a post is due within about a second of scheduledAt, so the
                # poller must hand over a record as soon as it is visible.
                max_batching_window=Duration.seconds(0),
                report_batch_item_failures=True,
            )
        )

    def subscribe_dead_letter_consumer(self, consumer: lambda_.IFunction) -> None:
        """Deliver dead letters to the DLQ consumer, which ends their posts. A record whose post
        is under a live lease is reported as failed and comes back after the DLQ's visibility
        timeout (the DLQ has no redrive of its own: it waits there until its retention ends)."""
        consumer.add_event_source(
            event_sources.SqsEventSource(
                self.dead_letter_queue,
                batch_size=resources.PUBLISHER_BATCH_SIZE,
                max_batching_window=Duration.seconds(0),
                report_batch_item_failures=True,
            )
        )
