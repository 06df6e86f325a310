"""Composition for the API routes: services built once per process from ``dependencies()``."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.event_handler.api_gateway import Router

from crosspost.composition import dependencies
from crosspost.services.accounts import AccountService
from crosspost.services.posts import PostService
from crosspost.services.workspaces import ApiKeyAuthenticator, Caller


@lru_cache(maxsize=1)
def authenticator() -> ApiKeyAuthenticator:
    deps = dependencies()
    return ApiKeyAuthenticator(deps.api_keys, deps.settings.api_key_cache_seconds)


@lru_cache(maxsize=1)
def account_service() -> AccountService:
    d = dependencies()
    return AccountService(d.settings, d.workspaces, d.accounts, d.posts, d.vault, d.scheduler)


@lru_cache(maxsize=1)
def post_service() -> PostService:
    d = dependencies()
    return PostService(d.settings, d.accounts, d.posts, d.vault, d.scheduler, d.queue)


def caller(router: Router) -> Caller:
    """The authenticated caller of this request (set by ``crosspost.api.app.handle``)."""
    found = router.context.get("caller")
    assert isinstance(found, Caller), "route reached without authentication"
    return found


def reset_services() -> None:
    for cached in (authenticator, account_service, post_service):
        cached.cache_clear()
