"""Wiring: builds the stores and clients from settings, once per process.

Handlers call ``dependencies()``; services receive what they need as arguments, so tests can
hand them fakes or moto-backed stores alike.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from crosspost.settings import Settings, get_settings

if TYPE_CHECKING:
    from crosspost.aws.app_credentials import AppCredentialStore
    from crosspost.aws.oauth_states import OAuthStateStore
    from crosspost.aws.scheduling import PostScheduler, PublishQueue
    from crosspost.aws.stores import AccountStore, ApiKeyStore, PostStore, WorkspaceStore
    from crosspost.aws.token_vault import TokenVault
    from crosspost.platforms.base import PlatformConfig


class Dependencies:
    """The stores of one process. Each is built (and its module imported) on first use: a cold
    start pays only for what its request touches (issue #8); stores make their boto3 clients on
    their first call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def workspaces(self) -> WorkspaceStore:
        from crosspost.aws.stores import WorkspaceStore

        return WorkspaceStore(self.settings.workspaces_table)

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        from crosspost.aws.stores import ApiKeyStore

        return ApiKeyStore(self.settings.api_keys_table)

    @cached_property
    def accounts(self) -> AccountStore:
        from crosspost.aws.stores import AccountStore

        return AccountStore(self.settings.accounts_table)

    @cached_property
    def posts(self) -> PostStore:
        from crosspost.aws.stores import PostStore

        return PostStore(self.settings.posts_table)

    @cached_property
    def vault(self) -> TokenVault:
        from crosspost.aws.token_vault import TokenVault

        return TokenVault(self.settings.secrets_prefix, self.settings.token_cache_seconds)

    @cached_property
    def scheduler(self) -> PostScheduler:
        from crosspost.aws.scheduling import PostScheduler

        s = self.settings
        return PostScheduler(s.schedule_group, s.publish_queue_arn, s.scheduler_role_arn)

    @cached_property
    def queue(self) -> PublishQueue:
        from crosspost.aws.scheduling import PublishQueue

        return PublishQueue(self.settings.publish_queue_url)

    @cached_property
    def apps(self) -> AppCredentialStore:
        from crosspost.aws.app_credentials import AppCredentialStore

        return AppCredentialStore(self.settings.platform_apps_secret)

    @cached_property
    def oauth_states(self) -> OAuthStateStore:
        from crosspost.aws.oauth_states import OAuthStateStore

        return OAuthStateStore(self.settings.oauth_states_table)

    def platform_config(self, platform: str) -> PlatformConfig:
        """What an adapter or auth strategy of ``platform`` needs from this deployment."""
        from crosspost.platforms.base import PlatformConfig

        return PlatformConfig(
            base_url=self.settings.platform_base_urls.get(platform),
            load_app=lambda: self.apps.get(platform),
        )


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    return Dependencies(get_settings())


def reset_dependencies() -> None:
    dependencies.cache_clear()
