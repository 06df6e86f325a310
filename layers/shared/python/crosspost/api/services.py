"""Composition for the API routes: services built once per process from ``dependencies()``."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Router

from crosspost.composition import dependencies
from crosspost.services.workspaces import ApiKeyAuthenticator, Caller

if TYPE_CHECKING:  # imported where used: a cold start pays only for the routes it serves
    from crosspost.services.accounts import AccountService
    from crosspost.services.media import MediaService
    from crosspost.services.oauth import OAuthService
    from crosspost.services.posts import PostService
    from crosspost.services.rate_limit import RateLimiter


@lru_cache(maxsize=1)
def authenticator() -> ApiKeyAuthenticator:
    deps = dependencies()
    return ApiKeyAuthenticator(deps.api_keys, deps.settings.api_key_cache_seconds)


@lru_cache(maxsize=1)
def rate_limiter() -> RateLimiter:
    """The per-API-key limit (one conditional DynamoDB write per authenticated request)."""
    from crosspost.aws.rate_limits import RateLimitStore
    from crosspost.services.rate_limit import RateLimiter

    s = dependencies().settings
    return RateLimiter(RateLimitStore(s.rate_limits_table) if s.rate_limits_table else None, s.rate_limit_per_minute)


@lru_cache(maxsize=1)
def account_service() -> AccountService:
    from crosspost.services.accounts import AccountService

    d = dependencies()
    return AccountService(d.settings, d.workspaces, d.accounts, d.posts, d.vault, d.scheduler)


@lru_cache(maxsize=1)
def oauth_service() -> OAuthService:
    from crosspost.services.oauth import OAuthService

    d = dependencies()
    return OAuthService(d.settings, d.workspaces, d.oauth_states, account_service(), d.platform_config)


@lru_cache(maxsize=1)
def post_service() -> PostService:
    from crosspost.services.posts import PostService

    d = dependencies()
    # its media service is built on first use: a cold start that never sees media does not import it
    return PostService(d.settings, d.accounts, d.posts, d.vault, d.scheduler, d.queue, configs=d.platform_config)


@lru_cache(maxsize=1)
def media_service() -> MediaService:
    """Media uploads, and a post's media at create. The stores are cheap to build: their boto3
    clients are made on first call, so posts without media never create an S3 client."""
    from crosspost.aws.media import MediaBucket, MediaStore
    from crosspost.services.media import MediaService

    s = dependencies().settings
    return MediaService(s, MediaStore(s.media_table), MediaBucket(s.media_bucket))


def caller(router: Router) -> Caller:
    """The authenticated caller of this request (set by ``crosspost.api.app.handle``)."""
    found = router.context.get("caller")
    assert isinstance(found, Caller), "route reached without authentication"
    return found


def reset_services() -> None:
    for cached in (authenticator, rate_limiter, account_service, oauth_service, post_service, media_service):
        cached.cache_clear()
