"""EventBridge Scheduler (one-time schedules per post) and the publish queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from crosspost.aws.clients import client
from crosspost.models.messages import PublishMessage


class PostScheduler:
    """One ``at()`` schedule per post, named after it, in the app's schedule group, targeting
    the publish queue and deleting itself after it fires."""

    def __init__(self, group: str, queue_arn: str, role_arn: str) -> None:
        self.group = group
        self.queue_arn = queue_arn
        self.role_arn = role_arn

    @property
    def scheduler(self) -> Any:
        return client("scheduler")

    def _definition(self, post_id: str, fire_at: datetime, message: PublishMessage) -> dict[str, Any]:
        # UpdateSchedule replaces the whole definition, so create and update send the same fields.
        return {
            "Name": post_id,
            "GroupName": self.group,
            "ScheduleExpression": f"at({fire_at.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": self.queue_arn,
                "RoleArn": self.role_arn,
                "Input": message.to_json(),
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            },
        }

    def create(self, post_id: str, fire_at: datetime, message: PublishMessage) -> None:
        self.scheduler.create_schedule(**self._definition(post_id, fire_at, message))

    def update(self, post_id: str, fire_at: datetime, message: PublishMessage) -> bool:
        """Move a schedule; False if it no longer exists (already fired)."""
        try:
            self.scheduler.update_schedule(**self._definition(post_id, fire_at, message))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return False
            raise
        return True

    def delete(self, post_id: str) -> None:
        try:
            self.scheduler.delete_schedule(Name=post_id, GroupName=self.group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise


class PublishQueue:
    MAX_DELAY_SECONDS = 900  # SQS DelaySeconds maximum

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def sqs(self) -> Any:
        return client("sqs")

    def send(self, message: PublishMessage, *, delay_seconds: int = 0) -> None:
        self.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=message.to_json(),
            DelaySeconds=max(0, min(self.MAX_DELAY_SECONDS, delay_seconds)),
        )

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(43200, seconds))
        )
