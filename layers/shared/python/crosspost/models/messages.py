"""What travels through the publish queue (and the Scheduler's input)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PublishMessage(BaseModel):
    """Body of a publish-queue record: the post to publish and when it is due.

    ``dueAt`` lets the publisher hold a record that arrives early (schedules fire a lead time
    before ``scheduledAt``) without reading the post first.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    postId: str
    dueAt: str | None = None
