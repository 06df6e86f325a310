"""Entry point of every API function (connect, complete, accounts, posts, profiles).

API Gateway routes each function only its own routes; they share one resolver definition.
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crosspost.api.app import handle
from crosspost.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle(event, context)
