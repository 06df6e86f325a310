"""Accounts: connecting (credentials flow), reading with token health, disconnecting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from crosspost.clock import now
from crosspost.errors import ConflictError, NotFoundError, ValidationFailedError
from crosspost.models.domain import Account, PostStatus, token_health
from crosspost.platforms.registry import PLATFORMS
from crosspost.services.url_guard import check_public_url
from crosspost.services.workspaces import resolve_profile

if TYPE_CHECKING:  # listing accounts needs neither the vault, the scheduler nor the adapter interface
    from crosspost.aws.scheduling import PostScheduler
    from crosspost.aws.stores import AccountStore, PostStore, WorkspaceStore
    from crosspost.aws.token_vault import TokenVault
    from crosspost.platforms.base import ConnectedAccount
    from crosspost.settings import Settings

_ACCOUNT_NAMESPACE = uuid.UUID("8d2f3c1e-6a0b-4f3e-9b7c-2c4e5f6a7b8c")


def account_id_for(workspace_id: str, platform: str, platform_account_id: str) -> str:
    """Deterministic: two racing connects of one platform account cannot create two rows
    (the create is conditional on the id not existing)."""
    return str(uuid.uuid5(_ACCOUNT_NAMESPACE, f"{workspace_id}#{platform}#{platform_account_id}"))


@dataclass
class ConnectResult:
    accounts: list[tuple[Account, bool]] = field(default_factory=list)  # (row, created)
    skipped: list[str] = field(default_factory=list)  # platformAccountIds connected elsewhere


class AccountService:
    def __init__(
        self,
        settings: Settings,
        workspaces: WorkspaceStore,
        accounts: AccountStore,
        posts: PostStore,
        vault: TokenVault,
        scheduler: PostScheduler,
    ) -> None:
        self.settings = settings
        self.workspaces = workspaces
        self.accounts = accounts
        self.posts = posts
        self.vault = vault
        self.scheduler = scheduler

    # ---- connect --------------------------------------------------------------------------

    def connect_with_credentials(
        self,
        workspace_id: str,
        *,
        platform: str,
        profile_id: str | None,
        credentials: dict[str, str],
        service: str | None,
    ) -> ConnectResult:
        profile = resolve_profile(self.workspaces, workspace_id, profile_id)
        service_url = check_public_url(
            service or self.settings.bluesky_default_service,
            rule=f"{platform}.service.forbidden",
            field="service",
            allowed_origins=self.settings.local_allowed_origins,
        )

        import asyncio

        from crosspost.platforms.http import new_client
        from crosspost.platforms.registry import credentials_auth_for

        async def login() -> ConnectedAccount:
            async with new_client(self.settings.platform_timeout_seconds) as http:
                auth = credentials_auth_for(platform, http)
                if auth is None:  # the route checks first; this guards direct callers
                    raise ValidationFailedError("Not a credentials platform.", rule="platform", field="platform")
                return await auth.login({**credentials, "service": service_url})

        connected = asyncio.run(login())
        # The account's own PDS comes from its DID document: it must pass the same guard.
        pds = connected.tokens.extra.get("service")
        if isinstance(pds, str) and pds.rstrip("/") != service_url:
            check_public_url(
                pds,
                rule=f"{platform}.service.forbidden",
                field="service",
                allowed_origins=self.settings.local_allowed_origins,
            )
        return self._upsert(workspace_id, profile.id, [connected])

    def upsert_connected(self, workspace_id: str, profile_id: str, found: list[ConnectedAccount]) -> ConnectResult:
        """Store what a connect flow (credentials or OAuth) discovered: API.md "Finish a connect flow"."""
        return self._upsert(workspace_id, profile_id, found)

    def _upsert(self, workspace_id: str, profile_id: str, found: list[ConnectedAccount]) -> ConnectResult:
        result = ConnectResult()
        for connected in found:
            existing = self.accounts.find_by_platform_account(
                workspace_id, connected.platform, connected.platform_account_id
            )
            if existing is not None and existing.profile_id != profile_id:
                result.skipped.append(connected.platform_account_id)
                continue
            result.accounts.append(self._write(workspace_id, profile_id, connected, existing))
        if not result.accounts:
            raise ConflictError(
                "This account is already connected to another profile of this workspace.",
                rule="account.already_connected",
            )
        return result

    def _write(
        self, workspace_id: str, profile_id: str, connected: ConnectedAccount, existing: Account | None
    ) -> tuple[Account, bool]:
        at = now()
        account_id = (
            existing.id if existing else account_id_for(workspace_id, connected.platform, connected.platform_account_id)
        )
        secret_name = self.vault.secret_name(workspace_id, account_id)
        # Secret first: a crash after it leaves an unreferenced secret that the next connect
        # overwrites, never an account row without tokens.
        self.vault.store(secret_name, connected.tokens, {"workspaceId": workspace_id, "accountId": account_id})
        account = Account(
            id=account_id,
            workspace_id=workspace_id,
            profile_id=profile_id,
            platform=connected.platform,
            platform_account_id=connected.platform_account_id,
            username=connected.username,
            display_name=connected.display_name,
            profile_image_url=connected.profile_image_url,
            profile_url=connected.profile_url,
            created_at=existing.created_at if existing else at,
            updated_at=at,
            token_expires_at=connected.tokens.connection_expires_at,
            refresh_due_at=connected.tokens.refresh_after,
            last_successful_post=existing.last_successful_post if existing else None,
            platform_block=connected.platform_block,
            secret_name=secret_name,
        )
        if existing:
            self.accounts.replace(account)
            return account, False
        if self.accounts.create(account):
            return account, True
        self.accounts.replace(account)  # a racing connect created it first: rotate instead
        return account, False

    # ---- read / disconnect -----------------------------------------------------------------

    def get(self, workspace_id: str, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError("No such account.", rule="account.unknown")
        return account

    def list_accounts(
        self,
        workspace_id: str,
        *,
        limit: int,
        cursor: str | None,
        profile_id: str | None,
        platform: str | None,
        token_status: str | None,
    ) -> tuple[list[Account], str | None]:
        if platform is not None and platform not in PLATFORMS:
            raise ValidationFailedError(f"Unknown platform '{platform}'.", rule="platform", field="platform")
        if token_status is None:
            return self.accounts.list_page(
                workspace_id, limit=limit, cursor=cursor, profile_id=profile_id, platform=platform
            )
        # tokenStatus depends on the clock, so it is filtered here, page by page.
        at = now()
        matching: list[Account] = []
        while True:
            # never read more than the page still needs, so the cursor never skips a match
            page, cursor = self.accounts.list_page(
                workspace_id, limit=limit - len(matching), cursor=cursor, profile_id=profile_id, platform=platform
            )
            matching.extend(a for a in page if token_health(a.token_expires_at, at).status == token_status)
            if len(matching) >= limit or cursor is None:
                return matching, cursor

    def disconnect(self, workspace_id: str, account_id: str) -> None:
        account = self.get(workspace_id, account_id)
        for post in self.posts.queued_for_account(account.id):
            canceled = replace(post, status=PostStatus.CANCELED, updated_at=now())
            if self.posts.transition(canceled, expected=PostStatus.QUEUED):
                self.scheduler.delete(post.id)
        self.vault.delete(account.secret_name)
        self.accounts.delete(account.id)
