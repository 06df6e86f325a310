"""Accounts and their connect flows (API.md "Accounts")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crosspost.clock import now
from crosspost.models.api.common import Response, Wire
from crosspost.models.domain import Account, token_health


class BlueskyCredentials(Wire):
    handle: str = Field(min_length=1, max_length=253)
    app_password: str = Field(min_length=1, max_length=128, repr=False)  # never in a log or traceback


class ConnectCredentialsRequest(Wire):
    profile_id: str | None = Field(default=None, max_length=64)
    platform: str = Field(min_length=1, max_length=32)
    credentials: BlueskyCredentials
    service: str | None = Field(default=None, max_length=2048)


class ConnectStartRequest(Wire):
    profile_id: str | None = Field(default=None, max_length=64)
    redirect_uri: str | None = Field(default=None, max_length=2048)
    extended_scopes: bool = False


class CompleteConnectRequest(Wire):
    """Finish a connect flow. OAuth platforms: ``{profileId?, code, state}``; Bluesky:
    ``{profileId?, handle, appPassword, service?}`` (the route checks which shape its platform takes)."""

    profile_id: str | None = Field(default=None, max_length=64)
    code: str | None = Field(default=None, min_length=1, max_length=4096, repr=False)
    state: str | None = Field(default=None, min_length=1, max_length=256)
    handle: str | None = Field(default=None, min_length=1, max_length=253)
    app_password: str | None = Field(default=None, min_length=1, max_length=128, repr=False)  # never logged
    service: str | None = Field(default=None, max_length=2048)


class LastErrorResponse(Response):
    message: str
    occurred_at: datetime


class AccountResponse(Response):
    id: str
    profile_id: str
    platform: str
    platform_account_id: str
    username: str
    display_name: str | None
    profile_image_url: str | None
    profile_url: str | None
    created_at: datetime
    updated_at: datetime
    token_expires_at: datetime | None
    token_status: str
    token_expires_in: str | None
    last_successful_post: datetime | None
    last_error: LastErrorResponse | None

    @classmethod
    def from_domain(cls, a: Account) -> dict[str, Any]:
        health = token_health(a.token_expires_at, now())
        body = cls(
            id=a.id,
            profile_id=a.profile_id,
            platform=a.platform,
            platform_account_id=a.platform_account_id,
            username=a.username,
            display_name=a.display_name,
            profile_image_url=a.profile_image_url,
            profile_url=a.profile_url,
            created_at=a.created_at,
            updated_at=a.updated_at,
            token_expires_at=a.token_expires_at,
            token_status=health.status,
            token_expires_in=health.expires_in,
            last_successful_post=a.last_successful_post,
            last_error=LastErrorResponse(message=a.last_error.message, occurred_at=a.last_error.occurred_at)
            if a.last_error
            else None,
        ).body()
        if a.platform_block is not None:  # platform blocks appear only on their platform's rows
            body[a.platform] = a.platform_block
        return body


class SkippedAccountResponse(Response):
    platform_account_id: str
    rule: str


class ConnectedAccountResponse(AccountResponse):
    """A connected account; ``accounts`` and ``skipped`` when one flow yields several rows."""

    accounts: list[AccountResponse] | None = None
    skipped: list[SkippedAccountResponse] | None = None


class ConnectMethodResponse(Response):
    """How a platform connects when it is not OAuth (Bluesky: credentials)."""

    method: Literal["credentials"]
    fields: list[str]


class ConnectStartResponse(Response):
    """An OAuth connect flow started: send the user's browser to ``authorizationUrl``."""

    authorization_url: str
    state: str
    expires_at: datetime


class AccountListResponse(Response):
    accounts: list[AccountResponse]
    next_cursor: str | None
