"""The reconcile sweep (DESIGN.md "Reconcile sweep"), run on a rate schedule.

Two kinds of post can be left behind with nobody coming for them:

- a ``queued`` post whose message is gone (a schedule or send that failed after the post was
  stored, a record dropped by mistake): found by its ``dueAt`` (``nextAttemptAt``, else
  ``scheduledAt``, else ``createdAt``) lying more than ``sweep_grace_seconds`` in the past;
- a ``publishing`` post whose lease ran out: its publisher died between the claim and the
  record write (a crash, a timeout), perhaps after the platform accepted the post.

The sweep hands both back to the publisher with a fresh message and decides nothing itself: the
publisher's conditional claim makes a duplicate message harmless, and its take-over resolves an
expired lease as "outcome unknown" (re-sent only where the create is idempotent, else looked up on
the platform, else ``failed`` with ``publish.outcome_unknown``). So the sweeper needs no secrets,
never calls a platform and never writes a post; it reads one sparse index and sends messages.

A ``publishing`` post with ``progress`` is waiting for its platform (a container, a video): its
lease ends when the platform should be asked again, and a delayed message is already on its way
for then. Only one still untouched ``sweep_grace_seconds`` after that has lost its message; the
publisher's take-over then resumes it from its progress.

"Schedules delete themselves after firing, so 'no schedule' is not a sign of a lost post": the
sweep looks only at times, never at schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crosspost.aws.scheduling import PublishQueue
from crosspost.aws.stores import PostStore
from crosspost.clock import iso, now
from crosspost.models.domain import PostStatus
from crosspost.models.messages import PublishMessage
from crosspost.observability import logger, metrics
from crosspost.settings import Settings

# Per kind and run: a run stays well inside its timeout, and the next run takes the rest.
MAX_POSTS_PER_RUN = 500


@dataclass(frozen=True)
class SweepReport:
    requeued: int  # queued posts past due + grace, enqueued again
    lease_expired: int  # publishing posts past their lease, handed to the publisher's take-over

    def as_dict(self) -> dict[str, int]:
        return {"requeued": self.requeued, "leaseExpired": self.lease_expired}


class SweepService:
    def __init__(self, settings: Settings, posts: PostStore, queue: PublishQueue) -> None:
        self.settings = settings
        self.posts = posts
        self.queue = queue

    def run(self, at: datetime | None = None) -> SweepReport:
        at = at or now()
        grace = timedelta(seconds=self.settings.sweep_grace_seconds)
        requeued = 0
        for post in self.posts.active_due_before(PostStatus.QUEUED, at - grace, limit=MAX_POSTS_PER_RUN):
            self.queue.send(PublishMessage(postId=post.id, dueAt=iso(post.due_at)))
            requeued += 1
            logger.warning(
                "sweep: a queued post past due had no message; enqueued again",
                extra={"post_id": post.id, "due_at": iso(post.due_at), "overdue_s": _seconds(at - post.due_at)},
            )
        lease_expired = 0
        # A publishing post's dueAt lies before its claim, so "due before now" holds every one;
        # the lease decides. Publishing posts are few at any moment (those being published).
        for post in self.posts.active_due_before(PostStatus.PUBLISHING, at, limit=MAX_POSTS_PER_RUN):
            if post.lease_until is not None and post.lease_until > at:
                continue
            if post.progress is not None and post.lease_until is not None and post.lease_until > at - grace:
                continue  # its look-again message is due about now
            self.queue.send(PublishMessage(postId=post.id))
            lease_expired += 1
            logger.warning(
                "sweep: a publishing post outlived its lease; handed to the publisher's take-over",
                extra={"post_id": post.id, "lease_until": iso(post.lease_until) if post.lease_until else None},
            )
        metrics.add_metric(name="SweepRequeued", unit="Count", value=requeued)
        metrics.add_metric(name="SweepLeaseExpired", unit="Count", value=lease_expired)
        return SweepReport(requeued, lease_expired)


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)
