"""Publishing one post: the one path both publish-now and the queue publisher take.

What keeps a post from going out twice (DESIGN.md "Failures"):
- a post is *claimed* before any platform call: a conditional write queued → publishing with a
  fresh claim token and a lease; every later write names that token, so a publisher that lost
  its claim cannot overwrite what another one recorded;
- a redelivered message for a post that is not ``queued`` does nothing (or waits for a live
  lease to end);
- a lease that expired while ``publishing`` is taken over: re-sent only where the platform's
  create is idempotent (Bluesky's derived rkey), otherwise reconciled (``find_published``) or
  failed as ``publish.outcome_unknown``; never blindly re-sent.

Failures are sorted three ways: not sent (retry later with backoff), sent with an unknown
outcome (reconcile), definitive (published / rejected / failed).

Long platform-side work (containers, video processing): an adapter that is still waiting at
``PublishRequest.deadline`` returns ``PublishProgress``. Its ``state`` is stored on the post
(``Post.progress``), the post stays ``publishing`` with its lease ending when the platform should
be asked again, and the caller sends a fresh message for then (``Outcome.PROCESSING``). Whoever
takes the post over after that lease calls ``publish`` again with ``progress``: the adapter's
contract is to resume (check the platform's state before any step that is not idempotent), so this
re-call is safe whatever ``idempotent_create`` says.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from crosspost.aws.stores import AccountStore, PostStore
from crosspost.aws.token_vault import TokenVault, VersionedTokens
from crosspost.clock import iso, now
from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformError,
)
from crosspost.models.domain import Account, LastError, Post, PostError, PostStatus, Warning_
from crosspost.models.messages import PublishMessage
from crosspost.observability import logger, metrics
from crosspost.platforms.base import (
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
)
from crosspost.platforms.registry import adapter_for
from crosspost.resources import PUBLISHER_BATCH_SIZE
from crosspost.services.token_refresh import TokenRefresher
from crosspost.settings import Settings

if TYPE_CHECKING:
    import httpx

    from crosspost.services.faults import FaultInjector
    from crosspost.services.media import MediaResolver

P = ParamSpec("P")
T = TypeVar("T")

OUTCOME_UNKNOWN_RULE = "publish.outcome_unknown"
OUTCOME_UNKNOWN_REMEDIATION = "Check the platform before re-posting: the post may be there already."
_TOKEN_SKEW = timedelta(seconds=30)


class Outcome(StrEnum):
    PUBLISHED = "published"
    RETRY = "retry"  # not sent; back to queued, look again after ``delay_seconds``
    HELD = "held"  # not due yet, or another publisher holds a live lease
    # the platform is still processing (PublishProgress): look again after ``delay_seconds``
    PROCESSING = "processing"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to do: unknown post, or already terminal


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    post: Post | None
    delay_seconds: float = 0.0
    error: PlatformError | None = None
    # PUBLISHED found by a look-up after an outcome-unknown failure, not confirmed by the create call
    reconciled: bool = False


# The blocking AWS calls of a batch's records run here. asyncio's default executor has
# min(32, cpus + 4) threads, 6 where os.cpu_count() is 2 (as on Lambda), so records of a batch
# of 10 would wait for a thread; with one per record none does. Threads start on first use.
_AWS_THREADS = ThreadPoolExecutor(max_workers=PUBLISHER_BATCH_SIZE, thread_name_prefix="aws")


async def _io(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking AWS call off the event loop, so the records of a batch overlap
    (``asyncio.to_thread`` on a pool sized to the batch: context variables go along)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_AWS_THREADS, call)


def backoff_seconds(attempt: int, retry_after: float | None, *, base: float, cap: float) -> float:
    """2 s × 2^(attempt−1), ±20 % jitter, capped; the platform's Retry-After is a floor."""
    delay: float = min(cap, base * 2 ** max(0, attempt - 1) * random.uniform(0.8, 1.2))
    return max(delay, retry_after or 0.0)


def publish_request(
    post: Post,
    *,
    account: Account | None = None,
    media: tuple[MediaItem, ...] | None = None,
    deadline: float | None = None,
) -> PublishRequest:
    """The adapter's view of ``post``. ``media``: resolved for sending (``MediaResolver``); without
    it, the media as far as the post row describes them (enough for a look-up)."""
    from crosspost.services.media import described

    return PublishRequest(
        post_id=post.id,
        text=post.text,
        created_at=post.created_at,
        media=media if media is not None else tuple(described(m) for m in post.media),
        first_comment=post.first_comment,
        options=post.options,
        progress=post.progress,
        deadline=deadline,
        account_block=(account.platform_block if account else None) or {},
    )


class PublishingService:
    def __init__(
        self,
        settings: Settings,
        posts: PostStore,
        accounts: AccountStore,
        vault: TokenVault,
        http: httpx.AsyncClient,
        faults: FaultInjector | None = None,
        configs: Callable[[str], PlatformConfig] | None = None,
        media: MediaResolver | None = None,
    ) -> None:
        self.settings = settings
        self.posts = posts
        self.accounts = accounts
        self.vault = vault
        self.http = http
        self.faults = faults  # test-only (crosspost.services.faults); None in production
        self.configs = configs or (lambda platform: PlatformConfig())
        self._media = media
        # One refresh per account at a time, across publishers and the refresher Lambda.
        self.refresher = TokenRefresher(
            accounts,
            vault,
            lease_seconds=settings.refresh_lease_seconds,
            wait_seconds=settings.refresh_wait_seconds,
            io=_io,
        )

    def _adapter(self, platform: str) -> PlatformAdapter:
        return adapter_for(platform, self.http, self.configs(platform))

    @property
    def media(self) -> MediaResolver:
        """Built on first use: a post without media never touches the media bucket."""
        if self._media is None:
            from crosspost.aws.media import MediaBucket
            from crosspost.services.media import MediaResolver

            self._media = MediaResolver(self.settings, MediaBucket(self.settings.media_bucket), self.http, _io)
        return self._media

    async def publish(self, post_id: str, *, account: Account | None = None, deadline: float | None = None) -> Attempt:
        """``account``: the post's account when the caller has just read it (publish-now).
        ``deadline`` (time.monotonic()): when platform work must hand back ``PublishProgress``;
        default ``publisher_work_seconds`` from now."""
        if deadline is None:
            deadline = time.monotonic() + self.settings.publisher_work_seconds
        at = now()
        # The claim is the read: one conditional write takes a due queued post, and a refusal
        # comes back with the stored post, which says why (not due, held, finished).
        claimed, post = await _io(
            self.posts.claim_due,
            post_id,
            claim_token=uuid.uuid4().hex,
            lease_until=at + timedelta(seconds=self.settings.publish_lease_seconds),
            at=at,
        )
        if claimed is not None:
            return await self._publish_claimed(claimed, deadline, account)
        if post is None:
            return Attempt(Outcome.SKIPPED, None)
        if post.status is PostStatus.QUEUED:
            wait = (post.due_at - at).total_seconds()
            if wait > 0:
                return Attempt(Outcome.HELD, post, wait)
            return await self._claim_and_publish(post, at, deadline)  # due, but a row without dueAt
        if post.status is PostStatus.PUBLISHING:
            if post.lease_until and post.lease_until > at:
                return Attempt(Outcome.HELD, post, (post.lease_until - at).total_seconds())
            return await self._take_over(post, at, deadline)
        return Attempt(Outcome.SKIPPED, post)

    async def give_up(self, post_id: str, *, rule: str, message: str) -> Attempt:
        """End a post whose publish message exhausted its deliveries (the DLQ consumer).

        A post under a live lease is its publisher's to finish (HELD until the lease ends); a
        queued post that is not due yet has a newer message or schedule (SKIPPED). Otherwise the
        post is claimed without a platform call and looked up: ``published`` if the platform shows
        it; ``failed`` with ``rule`` if the platform says it is not there, or if the post was
        queued (a queued post's failures were all "not sent"); ``failed`` as outcome unknown if
        it was left ``publishing`` and the platform cannot tell. Never re-sent from here.

        A post waiting for its platform (``progress``) has its own look-again message: it is left to
        that message until the sweep's grace after its lease has passed too (the message is lost, or
        every resume crashed); then it ends like any other, looked up with its progress."""
        at = now()
        post = await _io(self.posts.get, post_id)
        if post is None or post.status.terminal:
            return Attempt(Outcome.SKIPPED, post)
        if post.status is PostStatus.PUBLISHING and post.lease_until:
            grace = timedelta(seconds=self.settings.sweep_grace_seconds if post.progress is not None else 0)
            if post.lease_until + grace > at:
                return Attempt(Outcome.HELD, post, (post.lease_until + grace - at).total_seconds())
        if post.status is PostStatus.QUEUED and post.due_at > at:
            return Attempt(Outcome.SKIPPED, post)
        claimed = await self._claim(post, at, platform_call=False)
        if claimed is None:  # moved meanwhile: whoever moved it decides
            return Attempt(Outcome.SKIPPED, post)
        adapter = self._adapter(post.platform)
        account = await _io(self.accounts.get, post.account_id)
        conclusive, found = (False, None) if account is None else await self._look_up(adapter, account, claimed)
        if found is not None and account is not None:
            return await self._published(claimed, account, found)
        if post.status is PostStatus.PUBLISHING and not conclusive:
            error = _outcome_unknown_error(None)
        else:
            last = post.error
            error = PostError(
                code=last.code if last else "internal_error",
                rule=rule,
                message=message + (f" Last error: {last.message}" if last else ""),
                platform_response=last.platform_response if last else None,
            )
        return await self._finish(claimed, PostStatus.FAILED, error=error, account=account)

    # ---- claiming ------------------------------------------------------------------------------

    async def _claim(self, post: Post, at: datetime, *, platform_call: bool = True) -> Post | None:
        """Take the post for publishing. ``attempts`` counts real platform calls only."""
        claimed = replace(
            post,
            status=PostStatus.PUBLISHING,
            claim_token=uuid.uuid4().hex,
            lease_until=at + timedelta(seconds=self.settings.publish_lease_seconds),
            attempts=post.attempts + (1 if platform_call else 0),
            next_attempt_at=None,
            updated_at=at,
        )
        held_by = post.claim_token if post.status is PostStatus.PUBLISHING else None
        won = await _io(self.posts.transition, claimed, expected=post.status, claim_token=held_by)
        return claimed if won else None

    async def _claim_and_publish(self, post: Post, at: datetime, deadline: float) -> Attempt:
        claimed = await self._claim(post, at)
        if claimed is None:  # someone else moved it first
            return Attempt(Outcome.SKIPPED, post)
        return await self._publish_claimed(claimed, deadline)

    async def _take_over(self, post: Post, at: datetime, deadline: float) -> Attempt:
        """A lease ran out while ``publishing``: its publisher died or gave up mid-call, or the
        platform was still processing (``progress``) and it is time to look again."""
        adapter = self._adapter(post.platform)
        if post.progress is not None:
            # The adapter resumes from its stored state (its contract), whatever idempotent_create
            # says; looking again is not a new attempt (attempts bound retries of failures).
            claimed = await self._claim(post, at, platform_call=False)
            if claimed is None:
                return Attempt(Outcome.SKIPPED, post)
            return await self._publish_claimed(claimed, deadline)
        # Re-sending is safe only where the platform keys the record on the post.
        resend = adapter.capabilities.idempotent_create
        claimed = await self._claim(post, at, platform_call=resend)
        if claimed is None:
            return Attempt(Outcome.SKIPPED, post)
        metrics.add_metric(name="LeaseTakeovers", unit="Count", value=1)
        if resend:
            return await self._publish_claimed(claimed, deadline)
        return await self._reconcile(claimed, adapter, cause=None)

    # ---- publishing ----------------------------------------------------------------------------

    async def _publish_claimed(self, post: Post, deadline: float, account: Account | None = None) -> Attempt:
        adapter = self._adapter(post.platform)
        if account is None or account.id != post.account_id:
            account = await _io(self.accounts.get, post.account_id)
        if account is None:
            error = PostError(
                code="platform_auth_failed",
                rule="account.disconnected",
                message="The account was disconnected before the post went out.",
            )
            return await self._finish(post, PostStatus.FAILED, error=error)
        try:
            # Media first: a file that is unreachable or over a limit fails here, before any
            # platform call (rejected with its rule, or retried when it may pass later).
            media = await self.media.resolve(post, adapter.capabilities) if post.media else ()
            request = publish_request(post, account=account, media=media, deadline=deadline)
            result = await self._call_with_refresh(adapter, account, request)
        except OutcomeUnknownError as exc:
            return await self._reconcile(post, adapter, cause=exc, account=account)
        except PlatformError as exc:
            return await self._platform_failure(post, account, exc, adapter)
        if isinstance(result, PublishProgress):
            return await self._processing(post, result)
        if self.faults is not None:
            self.faults.after_platform_call(post.id, result.uri)
        return await self._published(post, account, result)

    async def _processing(self, post: Post, progress: PublishProgress) -> Attempt:
        """The platform is still at work: keep the post ``publishing`` with the adapter's state,
        its lease ending when the platform should be asked again. Nobody works on it meanwhile, so
        the lease is not a claim but a time: whoever picks the post up after it (the message the
        caller sends now, or the sweep if that message is lost) resumes from ``progress``."""
        at = now()
        check_after = max(1.0, progress.check_after)
        waiting = replace(
            post,
            progress=progress.state,
            lease_until=at + timedelta(seconds=check_after),
            updated_at=at,
        )
        if not await _io(self.posts.transition, waiting, expected=PostStatus.PUBLISHING, claim_token=post.claim_token):
            return Attempt(Outcome.SKIPPED, post)
        metrics.add_metric(name="PublishProcessing", unit="Count", value=1)
        logger.info("publish processing", extra={"post_id": post.id, "check_after": round(check_after, 1)})
        return Attempt(Outcome.PROCESSING, waiting, check_after)

    async def _call_with_refresh(
        self, adapter: PlatformAdapter, account: Account, request: PublishRequest
    ) -> PublishResult | PublishProgress:
        tokens = await _io(self.vault.get, account.secret_name)
        expires = tokens.tokens.access_expires_at
        if expires is not None and expires - _TOKEN_SKEW <= now():
            tokens = await self._refresh(adapter, account, tokens)
        try:
            return await adapter.publish(tokens.tokens, request)
        except AuthExpiredError as refused:
            # Refresh once, then give up (the account then shows lastError). When the refresh is
            # refused too, the publish's own error says more (e.g. a permission the user withdrew,
            # on a platform whose tokens cannot be refreshed at all), so that one is recorded.
            try:
                tokens = await self._refresh(adapter, account, tokens)
            except AuthExpiredError:
                raise refused from None
            return await adapter.publish(tokens.tokens, request)

    async def _refresh(self, adapter: PlatformAdapter, account: Account, current: VersionedTokens) -> VersionedTokens:
        # Under the account's refresh lease; a token another process refreshed meanwhile is reused.
        return await self.refresher.refresh(adapter, account, current)

    async def _reconcile(
        self,
        post: Post,
        adapter: PlatformAdapter,
        *,
        cause: PlatformError | None,
        account: Account | None = None,
    ) -> Attempt:
        """Sent, outcome unknown: publish only what the platform shows; never re-send blindly."""
        account = account or await _io(self.accounts.get, post.account_id)
        if account is not None:
            _, found = await self._look_up(adapter, account, post)
            if found is not None:
                return await self._published(post, account, found, reconciled=True)
        error = _outcome_unknown_error(cause)
        return await self._finish(post, PostStatus.FAILED, error=error, account=account, cause=cause)

    async def _look_up(
        self, adapter: PlatformAdapter, account: Account, post: Post
    ) -> tuple[bool, PublishResult | None]:
        """Ask the platform whether the post went out: ``(conclusive, found)``. Conclusive when
        the adapter can look posts up (``capabilities.lookup``) and the look-up worked, so a None
        then means "not there"; otherwise None means "cannot tell"."""
        request = publish_request(post, account=account)
        try:
            tokens = await _io(self.vault.get, account.secret_name)
            try:
                found = await adapter.find_published(tokens.tokens, request)
            except AuthExpiredError:
                tokens = await self._refresh(adapter, account, tokens)
                found = await adapter.find_published(tokens.tokens, request)
        except PlatformError:
            return False, None
        return adapter.capabilities.lookup or found is not None, found

    async def _platform_failure(
        self, post: Post, account: Account, exc: PlatformError, adapter: PlatformAdapter
    ) -> Attempt:
        error = PostError(code=exc.code, rule=exc.rule, message=exc.message, platform_response=exc.platform_response)
        exhausted = exc.retryable and post.attempts >= self.settings.max_publish_attempts
        if (exhausted or (not exc.retryable and post.attempts > 1)) and adapter.capabilities.lookup:
            # About to end the post unpublished. A "not sent" failure of an idempotent create (a 5xx
            # or a timeout on Bluesky's putRecord: retried, not reconciled) may have landed all the
            # same, this time or in an earlier attempt: ask the platform before saying it did not.
            _, found = await self._look_up(adapter, account, post)
            if found is not None:
                return await self._published(post, account, found, reconciled=True)
        if exhausted:
            error = replace(error, message=f"Gave up after {post.attempts} attempts: {exc.message}")
        if exc.retryable and post.attempts < self.settings.max_publish_attempts:
            delay = backoff_seconds(
                post.attempts,
                exc.retry_after,
                base=self.settings.retry_base_seconds,
                cap=self.settings.retry_max_seconds,
            )
            at = now()
            queued = replace(
                post,
                status=PostStatus.QUEUED,
                next_attempt_at=at + timedelta(seconds=delay),
                lease_until=None,
                error=error,
                updated_at=at,
            )
            if not await _io(
                self.posts.transition, queued, expected=PostStatus.PUBLISHING, claim_token=post.claim_token
            ):
                return Attempt(Outcome.SKIPPED, post)
            metrics.add_metric(name="PublishRetries", unit="Count", value=1)
            logger.info("publish deferred", extra={"post_id": post.id, "delay": round(delay, 1), "code": exc.code})
            return Attempt(Outcome.RETRY, queued, delay, exc)
        status = PostStatus.REJECTED if isinstance(exc, ContentRejectedError) else PostStatus.FAILED
        return await self._finish(post, status, error=error, account=account, cause=exc)

    async def _published(
        self, post: Post, account: Account, result: PublishResult, *, reconciled: bool = False
    ) -> Attempt:
        at = now()
        published = replace(
            post,
            status=PostStatus.PUBLISHED,
            published_at=at,
            uri=result.uri,
            cid=result.cid,
            url=result.url,
            first_comment_uri=result.first_comment_uri,
            first_comment_cid=result.first_comment_cid,
            warnings=post.warnings + [Warning_(code=w.code, message=w.message) for w in result.warnings],
            lease_until=None,
            error=None,
            progress=None,
            updated_at=at,
        )
        if not await _io(
            self.posts.transition, published, expected=PostStatus.PUBLISHING, claim_token=post.claim_token
        ):
            return Attempt(Outcome.SKIPPED, post)
        await _io(self.accounts.record_success, account.id, at)
        metrics.add_metric(name="Published", unit="Count", value=1)
        lag = (at - (post.scheduled_at or post.created_at)).total_seconds()
        metrics.add_metric(name="PublishLagSeconds", unit="Seconds", value=max(0.0, lag))
        logger.info("published", extra={"post_id": post.id, "platform": post.platform, "attempts": post.attempts})
        return Attempt(Outcome.PUBLISHED, published, reconciled=reconciled)

    async def _finish(
        self,
        post: Post,
        status: PostStatus,
        *,
        error: PostError,
        account: Account | None = None,
        cause: PlatformError | None = None,
    ) -> Attempt:
        at = now()
        final = replace(post, status=status, error=error, lease_until=None, progress=None, updated_at=at)
        if not await _io(self.posts.transition, final, expected=PostStatus.PUBLISHING, claim_token=post.claim_token):
            return Attempt(Outcome.SKIPPED, post)
        if account is not None:
            last = LastError(message=error.message, occurred_at=at, code=error.code, rule=error.rule)
            await _io(self.accounts.record_error, account.id, last)
        metrics.add_metric(
            name="PublishFailed" if status is PostStatus.FAILED else "PublishRejected", unit="Count", value=1
        )
        logger.warning("publish ended", extra={"post_id": post.id, "status": status.value, "rule": error.rule})
        outcome = Outcome.REJECTED if status is PostStatus.REJECTED else Outcome.FAILED
        return Attempt(outcome, final, error=cause)


# SQS delays a message at most 15 minutes.
_MAX_DELAY_SECONDS = 900


def look_again(attempt: Attempt) -> tuple[PublishMessage, int]:
    """After ``Outcome.PROCESSING``: the message (and its delay) that brings the post back when the
    platform should be asked again. It carries the lease end as ``dueAt``, which tells it apart from
    a duplicate (``queue_worker``); a wait over 15 minutes brings it back early and it is held."""
    assert attempt.post is not None and attempt.outcome is Outcome.PROCESSING
    lease = attempt.post.lease_until
    message = PublishMessage(postId=attempt.post.id, dueAt=iso(lease) if lease else None)
    return message, min(_MAX_DELAY_SECONDS, max(1, math.ceil(attempt.delay_seconds)))


def _outcome_unknown_error(cause: PlatformError | None) -> PostError:
    return PostError(
        code="platform_unavailable",
        rule=OUTCOME_UNKNOWN_RULE,
        message="The platform did not confirm the post and it cannot be looked up.",
        remediation=OUTCOME_UNKNOWN_REMEDIATION,
        platform_response=cause.platform_response if cause else None,
    )
