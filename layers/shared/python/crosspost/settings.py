"""Typed settings, read from environment variables once per process.

Every environment variable crosspost reads is named in ``crosspost.resources.Env`` and read
here, nowhere else. Tests and the local stack set the variables and call ``reset_settings()``.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crosspost.resources import Env


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "dev"
    accounts_table: str
    posts_table: str
    workspaces_table: str
    api_keys_table: str
    oauth_states_table: str
    idempotency_table: str
    # Per-API-key request counters; empty (or rate_limit_per_minute 0) turns the limit off.
    rate_limits_table: str = ""
    publish_queue_url: str
    publish_queue_arn: str = ""
    media_bucket: str = ""
    # Media rows (POST /v1/media, inline bytes of posts); set in every function like every table.
    media_table: str = ""
    # A presigned upload (POST /v1/media without bytes) may declare up to this many bytes.
    media_max_upload_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    # A media URL fetched at publish: at most this many bytes (less where the platform's own limit
    # is lower), within this many seconds (every redirect and byte included).
    media_fetch_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    media_fetch_timeout_seconds: float = Field(default=20.0, gt=0)
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    secrets_prefix: str = "crosspost/accounts/"
    # The API's own public URL, used for the OAuth callback redirect_uri.
    public_base_url: str = ""
    # Where a connect flow may send the browser (exact origins+paths, prefix match).
    redirect_uri_allow_list: tuple[str, ...] = ()
    # Local stack only: origins (scheme://host:port) that pass the public-URL guard although they
    # are on loopback, so the sandbox can stand in for platforms. Always empty in AWS.
    local_allowed_origins: tuple[str, ...] = ()
    bluesky_default_service: str = "https://bsky.social"
    # Local stack only: platform -> base URL replacing every host of that platform (the sandbox,
    # "{sandbox}/{platform}"). Empty in AWS: the real hosts.
    platform_base_urls: dict[str, str] = Field(default_factory=dict)
    # The Secrets Manager secret holding every platform app's OAuth client:
    # {"twitter": {"clientId": "...", "clientSecret": "..."}, ...} (README "Platform apps").
    platform_apps_secret: str = ""
    # Token refresher (DESIGN.md "Token refresh"): each run renews the accounts whose refreshDueAt
    # falls before now + this window; at least the run's rate (15 min), so none slips between runs.
    refresh_window_seconds: float = Field(default=1800.0, ge=0)
    refresh_concurrency: int = Field(default=8, ge=1, le=64)
    refresh_batch_max: int = Field(default=500, ge=1)
    # The per-account refresh lease: longer than one refresh call (platform timeout) with room.
    refresh_lease_seconds: float = Field(default=30.0, gt=0)
    # How long a caller that lost the lease waits for the winner's new token before giving up
    # with a retryable error.
    refresh_wait_seconds: float = Field(default=8.0, ge=0)
    # Scheduling precision (DESIGN.md "Precision"): schedules fire this early, the publisher holds.
    schedule_lead_seconds: int = Field(default=60, ge=0, le=600)
    max_publish_attempts: int = Field(default=5, ge=1, le=15)
    publish_now_budget_seconds: float = Field(default=20.0, gt=0)
    publish_lease_seconds: int = Field(default=120, ge=10)
    # How long the publisher lets one record's platform work run before an adapter hands back
    # PublishProgress (PublishRequest.deadline): well under the publisher's 90 s timeout, leaving
    # room for the writes that follow. Publish-now uses what is left of publish_now_budget_seconds.
    publisher_work_seconds: float = Field(default=60.0, gt=0)
    # Kept free at the end of a budget for the writes after the platform call.
    publish_deadline_margin_seconds: float = Field(default=3.0, ge=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    token_cache_seconds: float = Field(default=60.0, ge=0)
    # Requests per API key per minute, across every function (429 beyond); 0 = no limit.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    platform_timeout_seconds: float = Field(default=10.0, gt=0)
    # Reconcile sweep: a queued post this far past its dueAt has lost its message. dueAt already
    # includes the backoff (nextAttemptAt) and holds end at dueAt, so this only has to cover what
    # may legitimately lag behind it (Scheduler window, queue backlog); a false alarm costs one
    # duplicate message, which the claim makes harmless.
    sweep_grace_seconds: float = Field(default=300.0, ge=0)
    # Test-only fault hooks (comma separated names); production never sets it.
    fault_injection: tuple[str, ...] = ()
    aws_endpoint_url: str | None = None

    @field_validator("redirect_uri_allow_list", "local_allowed_origins", "fault_injection", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _csv(value) if isinstance(value, str) or value is None else value

    @field_validator("platform_base_urls", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """ "twitter=http://...,facebook=http://..." → dict."""
        if not isinstance(value, str):
            return value
        pairs = (item.partition("=") for item in _csv(value))
        return {name.strip(): url.strip() for name, _, url in pairs if name.strip() and url.strip()}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        fields = {
            name: env[Env[name.upper()].value]
            for name in cls.model_fields
            if name.upper() in Env.__members__ and Env[name.upper()].value in env
        }
        if Env.STAGE.value in env:
            fields["stage"] = env[Env.STAGE.value]
        return cls.model_validate(fields)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
