"""Sweeper: the reconcile sweep, invoked by a rate schedule (EventBridge Scheduler)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from crosspost.composition import dependencies
from crosspost.observability import logger, metrics
from crosspost.services.sweep import SweepService


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    deps = dependencies()
    return SweepService(deps.settings, deps.posts, deps.queue).run().as_dict()
