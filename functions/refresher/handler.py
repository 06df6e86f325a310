"""Refresher: renews OAuth tokens ahead of time, invoked by a rate schedule (EventBridge Scheduler)."""

import asyncio
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from crosspost.composition import dependencies
from crosspost.observability import logger, metrics
from crosspost.platforms.http import new_client
from crosspost.platforms.registry import adapter_for
from crosspost.services.token_refresh import DueTokenRefresh, RefreshReport, TokenRefresher


async def _run() -> RefreshReport:
    deps = dependencies()
    s = deps.settings
    async with new_client(s.platform_timeout_seconds) as http:
        refresher = TokenRefresher(
            deps.accounts, deps.vault, lease_seconds=s.refresh_lease_seconds, wait_seconds=s.refresh_wait_seconds
        )
        run = DueTokenRefresh(
            s, deps.accounts, refresher, lambda platform: adapter_for(platform, http, deps.platform_config(platform))
        )
        return await run.run()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return asyncio.run(_run()).as_dict()
