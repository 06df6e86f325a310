"""Wiring: builds the stores and clients from settings, once per process.

Handlers call ``dependencies()``; services receive what they need as arguments, so tests can
hand them fakes or moto-backed stores alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from crosspost.aws.app_credentials import AppCredentialStore
from crosspost.aws.oauth_states import OAuthStateStore
from crosspost.aws.scheduling import PostScheduler, PublishQueue
from crosspost.aws.stores import AccountStore, ApiKeyStore, PostStore, WorkspaceStore
from crosspost.aws.token_vault import TokenVault
from crosspost.platforms.base import PlatformConfig
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
    apps: AppCredentialStore
    oauth_states: OAuthStateStore

    def platform_config(self, platform: str) -> PlatformConfig:
        """What an adapter or auth strategy of ``platform`` needs from this deployment."""
        return PlatformConfig(
            base_url=self.settings.platform_base_urls.get(platform),
            load_app=lambda: self.apps.get(platform),
        )


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
        apps=AppCredentialStore(s.platform_apps_secret),
        oauth_states=OAuthStateStore(s.oauth_states_table),
    )


def reset_dependencies() -> None:
    dependencies.cache_clear()
