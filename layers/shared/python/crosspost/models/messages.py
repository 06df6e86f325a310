"""What travels through the publish queue (and the Scheduler's input).

A dataclass with its own JSON, not pydantic: the publisher and the DLQ consumer read these, and
their cold start should not import pydantic (issue #8)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PublishMessage:
    """Body of a publish-queue record: the post to publish and when it is due.

    ``dueAt`` lets the publisher hold a record that arrives early (schedules fire a lead time
    before ``scheduledAt``) without reading the post first.
    """

    # camelCase attributes: they are the JSON keys, and callers build PublishMessage(postId=..., dueAt=...)
    postId: str
    dueAt: str | None = None

    def to_json(self) -> str:
        """``{"postId":"…","dueAt":…}``, compact, ``dueAt`` written as null when absent (as the
        messages sent so far are)."""
        return json.dumps({"postId": self.postId, "dueAt": self.dueAt}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str | bytes) -> PublishMessage:
        """The message in a record body; ValueError for anything else (other keys are ignored).
        The error never quotes the body."""
        try:
            data: Any = json.loads(body)
        except ValueError:  # bad JSON or bad UTF-8 (the decoder errors quote the body: dropped)
            raise ValueError("a publish message must be JSON") from None
        if not isinstance(data, dict):
            raise ValueError("a publish message must be a JSON object")
        post_id, due_at = data.get("postId"), data.get("dueAt")
        if not isinstance(post_id, str):
            raise ValueError("a publish message needs a string postId")
        if due_at is not None and not isinstance(due_at, str):
            raise ValueError("a publish message's dueAt must be a string or null")
        return cls(postId=post_id, dueAt=due_at)
