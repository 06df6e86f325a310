"""Token refresh (DESIGN.md "Token refresh"): one ``TokenRefresher`` for the publisher path (a
token found expired, or refused once) and for the refresher Lambda (tokens renewed ahead of time).

Refreshing invalidates the previous token on several platforms (X and Pinterest rotate refresh
tokens), so two processes must never refresh one account at once:
- a short per-account *refresh lease* on the account row (a conditional update) decides who
  refreshes;
- the winner re-reads the secret fresh first: if its version moved since the caller read it,
  someone already refreshed and that token is used as it is;
- the new tokens are written only if the version read is still current
  (``TokenVault.put(expected_version=...)``);
- a caller that loses the lease waits briefly for the winner's new version, else raises a
  retryable ``PlatformUnavailableError`` (the post is retried later, never failed for it).

A refresh the platform refuses for good (``AuthExpiredError``) records the account's
``lastError`` and takes the account out of the refresher's index until it is reconnected.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, ParamSpec, TypeVar

from crosspost.aws.stores import AccountStore
from crosspost.aws.token_vault import StaleTokenVersionError, TokenVault, VersionedTokens
from crosspost.clock import now
from crosspost.errors import AuthExpiredError, PlatformUnavailableError
from crosspost.models.domain import Account, LastError
from crosspost.observability import logger, metrics
from crosspost.platforms.base import PlatformAdapter
from crosspost.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

REFRESH_IN_PROGRESS_RULE: Final = "token.refresh_in_progress"
REFRESH_SOURCE: Final = "refresh"  # LastError.source of a refresh failure


async def _to_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking AWS call off the event loop (the publisher passes its own, batch-sized pool)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class RefreshOutcome(StrEnum):
    REFRESHED = "refreshed"
    NOT_DUE = "not_due"  # refreshed by someone else since the index was read
    BUSY = "busy"  # another process holds the lease


class TokenRefresher:
    def __init__(
        self,
        accounts: AccountStore,
        vault: TokenVault,
        *,
        lease_seconds: float,
        wait_seconds: float,
        poll_seconds: float = 0.5,
        io: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self.accounts = accounts
        self.vault = vault
        self.lease = timedelta(seconds=lease_seconds)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._io: Callable[..., Awaitable[Any]] = io or _to_thread

    async def refresh(self, adapter: PlatformAdapter, account: Account, current: VersionedTokens) -> VersionedTokens:
        """Fresh tokens for ``account``, whose caller holds ``current`` (found expired or refused).
        Raises ``AuthExpiredError`` when the platform refuses the refresh (the user must
        reconnect), ``PlatformUnavailableError`` when another process is refreshing and its
        tokens did not arrive in time, or whatever retryable error the platform gave."""
        token = uuid.uuid4().hex
        held = await self._take_lease(account, token)
        if held is None:
            return await self._await_other(account, current)
        released = False
        try:
            latest: VersionedTokens = await self._io(self.vault.get, account.secret_name, fresh=True)
            if latest.version != current.version:
                return latest  # refreshed since the caller read it: that token is the valid one
            stored = await self._refresh_held(adapter, held, latest, token)
            released = True
            return stored
        except AuthExpiredError:
            released = True  # recorded with the failure
            raise
        finally:
            if not released:
                await self._release(account.id, token)

    async def refresh_if_due(self, adapter: PlatformAdapter, account: Account, due_before: datetime) -> RefreshOutcome:
        """The refresher Lambda's refresh: renew ahead of time unless another process holds the
        lease or renewed the tokens since the (eventually consistent) index was read."""
        token = uuid.uuid4().hex
        held = await self._take_lease(account, token)
        if held is None:
            return RefreshOutcome.BUSY
        released = False
        try:
            if held.refresh_due_at is None or held.refresh_due_at > due_before:
                return RefreshOutcome.NOT_DUE
            latest: VersionedTokens = await self._io(self.vault.get, account.secret_name, fresh=True)
            await self._refresh_held(adapter, held, latest, token)
            released = True
            return RefreshOutcome.REFRESHED
        except AuthExpiredError:
            released = True
            raise
        finally:
            if not released:
                await self._release(account.id, token)

    # ---- under the lease ------------------------------------------------------------------------

    async def _refresh_held(
        self, adapter: PlatformAdapter, account: Account, latest: VersionedTokens, token: str
    ) -> VersionedTokens:
        """Refresh with the lease held; the lease is released on return and on AuthExpiredError."""
        try:
            fresh = await adapter.refresh(latest.tokens)
        except AuthExpiredError as exc:
            error = LastError(
                message=f"Refreshing the token failed: {exc.message}",
                occurred_at=now(),
                code=exc.code,
                rule=exc.rule,
                source=REFRESH_SOURCE,
            )
            await self._io(self.accounts.record_refresh_failure, account.id, token, error)
            metrics.add_metric(name="TokenRefreshFailed", unit="Count", value=1)
            logger.warning(
                "token refresh refused",
                extra={"account_id": account.id, "platform": account.platform, "rule": exc.rule},
            )
            raise
        try:
            stored: VersionedTokens = await self._io(
                self.vault.put, account.secret_name, fresh, expected_version=latest.version
            )
        except StaleTokenVersionError:
            # Only when the lease ran out mid-call and another refresher wrote first: theirs stands.
            stored = await self._io(self.vault.get, account.secret_name, fresh=True)
            await self._release(account.id, token)
            return stored
        last = account.last_error
        await self._io(
            self.accounts.record_refreshed,
            account.id,
            token,
            token_expires_at=fresh.connection_expires_at,
            refresh_due_at=fresh.refresh_after,
            at=now(),
            clear_error=last is not None and last.source == REFRESH_SOURCE,
        )
        metrics.add_metric(name="TokenRefreshed", unit="Count", value=1)
        logger.info("token refreshed", extra={"account_id": account.id, "platform": account.platform})
        return stored

    async def _take_lease(self, account: Account, token: str) -> Account | None:
        """The account's row with the lease ours, or None when another process holds it."""
        at = now()
        held, exists = await self._io(
            self.accounts.take_refresh_lease, account.id, token=token, until=at + self.lease, at=at
        )
        if not exists:
            raise AuthExpiredError(
                "The account was disconnected.", platform=account.platform, rule="account.disconnected"
            )
        result: Account | None = held
        return result

    async def _release(self, account_id: str, token: str) -> None:
        await self._io(self.accounts.release_refresh_lease, account_id, token)

    async def _await_other(self, account: Account, current: VersionedTokens) -> VersionedTokens:
        """Another process holds the lease: wait for its new version of the secret."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            latest: VersionedTokens = await self._io(self.vault.get, account.secret_name, fresh=True)
            if latest.version != current.version:
                return latest
            if time.monotonic() + self.poll_seconds > deadline:
                break
            await asyncio.sleep(self.poll_seconds)
        raise PlatformUnavailableError(
            "Another process is refreshing this account's token; try again shortly.",
            platform=account.platform,
            rule=REFRESH_IN_PROGRESS_RULE,
            retry_after=self.lease.total_seconds(),
        )


# ---- the refresher Lambda's run -------------------------------------------------------------------


@dataclass
class RefreshReport:
    due: int = 0
    refreshed: int = 0
    not_due: int = 0
    busy: int = 0
    auth_lost: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class DueTokenRefresh:
    """Renews, with bounded concurrency, every account whose refreshDueAt falls within the
    window (settings.refresh_window_seconds) of now."""

    def __init__(
        self,
        settings: Settings,
        accounts: AccountStore,
        refresher: TokenRefresher,
        adapters: Callable[[str], PlatformAdapter],
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        self.refresher = refresher
        self.adapters = adapters

    async def run(self) -> RefreshReport:
        due_before = now() + timedelta(seconds=self.settings.refresh_window_seconds)
        due: list[Account] = await asyncio.to_thread(
            self.accounts.refresh_due_before, due_before, limit=self.settings.refresh_batch_max
        )
        report = RefreshReport(due=len(due))
        slots = asyncio.Semaphore(self.settings.refresh_concurrency)

        async def one(account: Account) -> None:
            async with slots:
                try:
                    outcome = await self.refresher.refresh_if_due(self.adapters(account.platform), account, due_before)
                except AuthExpiredError:
                    report.auth_lost += 1
                except Exception as exc:  # one account's failure never stops the others
                    report.failed += 1
                    logger.warning(
                        "token refresh failed",
                        extra={
                            "account_id": account.id,
                            "platform": account.platform,
                            "error": type(exc).__name__,
                            "rule": getattr(exc, "rule", None),
                        },
                    )
                else:
                    setattr(report, outcome.value, getattr(report, outcome.value) + 1)

        await asyncio.gather(*(one(account) for account in due))
        logger.info("token refresh run", extra=report.as_dict())
        return report
