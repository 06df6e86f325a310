"""Posts: preflight, store, then publish now (inline, within a budget) or schedule."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from crosspost.aws.scheduling import PostScheduler, PublishQueue
from crosspost.aws.stores import AccountStore, PostStore
from crosspost.aws.token_vault import TokenVault
from crosspost.clock import iso, now
from crosspost.errors import (
    ConflictError,
    CrosspostError,
    ErrorDetail,
    NotFoundError,
    ValidationFailedError,
)
from crosspost.ids import new_post_id
from crosspost.models.api.posts import CreatePostRequest
from crosspost.models.domain import Account, Post, PostStatus, Warning_
from crosspost.models.messages import PublishMessage
from crosspost.platforms.base import PlatformConfig, PublishRequest
from crosspost.platforms.registry import adapter_class
from crosspost.services.preflight import OPTION_BLOCKS, preflight, preflight_error
from crosspost.settings import Settings

if TYPE_CHECKING:
    from crosspost.services.media import MediaService, PreparedMedia
    from crosspost.services.publishing import Attempt

# A scheduled post due sooner than lead + this skips the Scheduler and rides SQS DelaySeconds.
_SCHEDULER_MIN_AHEAD = timedelta(seconds=60)


class PublishFailedError(CrosspostError):
    """Publish-now ended in ``rejected`` or ``failed``: 502 with the platform's code."""

    status = 502

    def __init__(self, post: Post) -> None:
        assert post.error is not None
        super().__init__(
            post.error.message,
            rule=post.error.rule,
            platform=post.platform,
            platform_response=post.error.platform_response,
        )
        self.code = post.error.code  # type: ignore[misc]
        self.post_id = post.id


@dataclass
class CreatedPost:
    post: Post
    http_status: int
    warnings: list[Warning_] = field(default_factory=list)


@dataclass
class CheckedPost:
    """A request that passed the preflight: its warnings, and its media ready to store."""

    warnings: list[Warning_]
    media: list[PreparedMedia]


class PostService:
    def __init__(
        self,
        settings: Settings,
        accounts: AccountStore,
        posts: PostStore,
        vault: TokenVault,
        scheduler: PostScheduler,
        queue: PublishQueue,
        configs: Callable[[str], PlatformConfig] | None = None,
        media: MediaService | None = None,
    ) -> None:
        self.configs = configs
        self._media = media
        self.settings = settings
        self.accounts = accounts
        self.posts = posts
        self.vault = vault
        self.scheduler = scheduler
        self.queue = queue

    @property
    def media(self) -> MediaService:
        """Built on first use: a post without media never touches the media table or bucket."""
        if self._media is None:
            from crosspost.aws.media import MediaBucket, MediaStore
            from crosspost.services.media import MediaService

            s = self.settings
            self._media = MediaService(s, MediaStore(s.media_table), MediaBucket(s.media_bucket))
        return self._media

    # ---- validate / create -----------------------------------------------------------------

    def validate(self, workspace_id: str, request: CreatePostRequest) -> list[Warning_]:
        account = self._account(workspace_id, request)
        return self._preflight(workspace_id, account, request).warnings

    def create(self, workspace_id: str, request: CreatePostRequest) -> CreatedPost:
        started = time.monotonic()
        account = self._account(workspace_id, request)
        checked = self._preflight(workspace_id, account, request)
        warnings = checked.warnings
        # Inline bytes become media objects now that every rule passed; the post keeps their ids.
        media = self.media.store_post_media(workspace_id, checked.media) if checked.media else []
        at = now()
        post = Post(
            id=new_post_id(),
            workspace_id=workspace_id,
            profile_id=account.profile_id,
            account_id=account.id,
            platform=account.platform,
            status=PostStatus.QUEUED,
            text=request.text,
            media=media,
            first_comment=request.first_comment.text if request.first_comment else None,
            options=_options(request),
            scheduled_at=request.scheduled_at,
            created_at=at,
            updated_at=at,
            warnings=warnings,
        )
        self.posts.create(post)
        if post.scheduled_at is not None:
            self._schedule(post, post.scheduled_at, create=True)
            return CreatedPost(post, 202)
        return self._publish_now(post, account, started)

    def _account(self, workspace_id: str, request: CreatePostRequest) -> Account:
        account = self.accounts.get(request.account.id)
        if account is None or account.workspace_id != workspace_id or account.platform != request.account.platform:
            raise NotFoundError("No such account.", rule="account.unknown", field="account.id")
        return account

    def _preflight(self, workspace_id: str, account: Account, request: CreatePostRequest) -> CheckedPost:
        """Every stage-A rule (and stage B wherever the media's type and size are known), all
        failures reported at once; nothing is stored."""
        if request.scheduled_at is not None and request.scheduled_at < now() + timedelta(seconds=1):
            raise ValidationFailedError(
                "scheduledAt must be at least one second in the future.",
                rule="scheduledAt.future",
                field="scheduledAt",
            )
        details: list[ErrorDetail] = []
        prepared: list[PreparedMedia] = []
        if request.media:
            checked_media = self.media.check(workspace_id, request.media)
            details += checked_media.details
            prepared = checked_media.media
        adapter = adapter_class(account.platform)
        draft = PublishRequest(
            post_id="",
            text=request.text,
            created_at=now(),
            media=tuple(m.item for m in prepared),
            first_comment=request.first_comment.text if request.first_comment else None,
            options=_options(request),
            account_block=account.platform_block or {},
        )
        details += preflight(adapter, draft, {b for b in OPTION_BLOCKS if getattr(request, b) is not None})
        if details:
            raise preflight_error(details, account.platform)
        warnings: list[Warning_] = []
        if request.first_comment and not adapter.capabilities.first_comment:
            warnings.append(
                Warning_(
                    code="first_comment.unsupported",
                    message=f"{account.platform} has no first comment; it was ignored.",
                )
            )
        return CheckedPost(warnings, prepared)

    # ---- publish now -----------------------------------------------------------------------

    def _publish_now(self, post: Post, account: Account, started: float) -> CreatedPost:
        """Publish within what is left of the request budget (API Gateway cuts at 30 s). Adapters
        get a deadline a margin before the budget ends and hand back ``PublishProgress`` at it;
        the timeout is only the backstop for an adapter that overruns."""
        # Imported here: only publish-now needs the HTTP client and the event loop.
        import asyncio

        from crosspost.platforms.http import new_client
        from crosspost.services.publishing import Outcome, PublishingService

        s = self.settings
        budget_ends = started + s.publish_now_budget_seconds
        deadline = budget_ends - s.publish_deadline_margin_seconds

        async def run() -> Attempt:
            async with new_client(s.platform_timeout_seconds) as http:
                service = PublishingService(
                    s, self.posts, self.accounts, self.vault, http, configs=self.configs, media=None
                )
                # the account was read for this request a moment ago: not read again
                publish = service.publish(post.id, account=account, deadline=deadline)
                return await asyncio.wait_for(publish, max(1.0, budget_ends - time.monotonic()))

        try:
            attempt = asyncio.run(run())
        except TimeoutError:
            # Still `publishing` under its lease: the publisher takes it over when the lease ends.
            self.queue.send(PublishMessage(postId=post.id), delay_seconds=s.publish_lease_seconds + 1)
            current = self.posts.get(post.id) or post
            return CreatedPost(current, 202, [_processing_warning()])

        result = attempt.post or post
        if attempt.outcome is Outcome.PROCESSING:
            # The platform is still processing: the publisher looks again after check_after. A fresh
            # message (not a held one) so long processing never eats into the redrive count.
            from crosspost.services.publishing import look_again

            follow_up, delay = look_again(attempt)
            self.queue.send(follow_up, delay_seconds=delay)
            return CreatedPost(result, 202, [_processing_warning()])
        if attempt.outcome is Outcome.PUBLISHED:
            # Found by reconciling an outcome-unknown failure: 202, the post as it stands (DESIGN.md).
            return CreatedPost(result, 202 if attempt.reconciled else 201)
        if attempt.outcome is Outcome.RETRY:
            self.queue.send(
                PublishMessage(postId=post.id, dueAt=iso(result.due_at)),
                delay_seconds=math.ceil(attempt.delay_seconds),
            )
            deferred = Warning_(
                code="publish.deferred",
                message="The platform is unavailable right now; the post will be retried.",
            )
            return CreatedPost(result, 202, [deferred])
        if attempt.outcome in (Outcome.REJECTED, Outcome.FAILED) and not _outcome_unknown(result):
            raise PublishFailedError(result)
        return CreatedPost(result, 202)

    # ---- scheduling ------------------------------------------------------------------------

    def _schedule(self, post: Post, due: datetime, *, create: bool) -> None:
        """Fire a lead time early (AWS fires anywhere in a 60 s window; the publisher holds an
        early record until the exact second). Soon-due posts ride SQS DelaySeconds instead."""
        message = PublishMessage(postId=post.id, dueAt=iso(due))
        lead = timedelta(seconds=self.settings.schedule_lead_seconds)
        ahead = due - now()
        if ahead > lead + _SCHEDULER_MIN_AHEAD:
            fire_at = due - lead
            if create or not self.scheduler.update(post.id, fire_at, message):
                self.scheduler.create(post.id, fire_at, message)
            return
        if not create:
            self.scheduler.delete(post.id)
        self.queue.send(message, delay_seconds=max(0, math.floor(ahead.total_seconds())))

    # ---- read / cancel / reschedule ----------------------------------------------------------

    def get(self, workspace_id: str, post_id: str) -> Post:
        post = self.posts.get(post_id)
        if post is None or post.workspace_id != workspace_id:
            raise NotFoundError("No such post.", rule="post.unknown")
        return post

    def cancel(self, workspace_id: str, post_id: str) -> Post:
        post = self.get(workspace_id, post_id)
        canceled = replace(post, status=PostStatus.CANCELED, updated_at=now())
        if post.status is not PostStatus.QUEUED or not self.posts.transition(canceled, expected=PostStatus.QUEUED):
            raise _not_queued(post_id, self.posts)
        # The publisher re-checks the status, so a message already in flight does nothing.
        self.scheduler.delete(post.id)
        return canceled

    def reschedule(self, workspace_id: str, post_id: str, scheduled_at: datetime) -> Post:
        if scheduled_at < now() + timedelta(seconds=1):
            raise ValidationFailedError(
                "scheduledAt must be at least one second in the future.",
                rule="scheduledAt.future",
                field="scheduledAt",
            )
        post = self.get(workspace_id, post_id)
        moved = replace(post, scheduled_at=scheduled_at, next_attempt_at=None, updated_at=now())
        if post.status is not PostStatus.QUEUED or not self.posts.transition(moved, expected=PostStatus.QUEUED):
            raise _not_queued(post_id, self.posts)
        self._schedule(moved, scheduled_at, create=False)
        return moved


def _options(request: CreatePostRequest) -> dict[str, object]:
    return {b: getattr(request, b).model_dump(by_alias=True) for b in OPTION_BLOCKS if getattr(request, b)}


def _processing_warning() -> Warning_:
    return Warning_(
        code="publish.processing",
        message="Publishing takes longer than the request allows; it continues in the background.",
    )


def _outcome_unknown(post: Post) -> bool:
    return post.error is not None and post.error.rule == "publish.outcome_unknown"


def _not_queued(post_id: str, posts: PostStore) -> ConflictError:
    current = posts.get(post_id)
    status = current.status.value if current else "unknown"
    return ConflictError(f"The post is {status}; only queued posts can change.", rule="post.status")
