"""Entry point of every API function (connect, complete, accounts, posts, profiles).

API Gateway routes each function only its own routes; they share one resolver definition.
"""

import gc

# Cold start: the imports below create a few hundred thousand objects that live as long as the
# container, and the cyclic GC would scan them again and again while they pile up (full
# collections, ~30 ms of a cold start). Collect nothing while importing, then move the survivors
# out of the GC's sight (gc.freeze) so later collections only look at what requests allocate.
gc.disable()

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402

from crosspost.api.app import handle  # noqa: E402
from crosspost.observability import logger, metrics  # noqa: E402

gc.freeze()
gc.enable()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle(event, context)
