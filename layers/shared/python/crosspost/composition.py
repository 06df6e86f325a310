"""Wiring: builds the stores and clients from settings, once per process.

Handlers call ``dependencies()``; services receive what they need as arguments, so tests can
hand them fakes or moto-backed stores alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from crosspost.aws.scheduling import PostScheduler, PublishQueue
from crosspost.aws.stores import AccountStore, ApiKeyStore, PostStore, WorkspaceStore
from crosspost.aws.token_vault import TokenVault
from crosspost.settings import Settings, get_settings


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    workspaces: WorkspaceStore
    api_keys: ApiKeyStore
    accounts: AccountStore
    posts: PostStore
    vault: TokenVault
    scheduler: PostScheduler
    queue: PublishQueue


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    s = get_settings()
    return Dependencies(
        settings=s,
        workspaces=WorkspaceStore(s.workspaces_table),
        api_keys=ApiKeyStore(s.api_keys_table),
        accounts=AccountStore(s.accounts_table),
        posts=PostStore(s.posts_table),
        vault=TokenVault(s.secrets_prefix, s.token_cache_seconds),
        scheduler=PostScheduler(s.schedule_group, s.publish_queue_arn, s.scheduler_role_arn),
        queue=PublishQueue(s.publish_queue_url),
    )


def reset_dependencies() -> None:
    dependencies.cache_clear()
