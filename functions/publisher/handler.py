"""Publisher: consumes the publish queue; the records of a batch publish concurrently."""

import gc

# Cold start: no cyclic GC while the imports below build objects that live as long as the
# container; then freeze them out of the GC's sight (see functions/api/handler.py).
gc.disable()

from aws_lambda_powertools.utilities.batch import (  # noqa: E402
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402

from crosspost.composition import dependencies  # noqa: E402
from crosspost.observability import logger, metrics  # noqa: E402
from crosspost.platforms.http import loop_client  # noqa: E402
from crosspost.services import faults  # noqa: E402
from crosspost.services.publishing import PublishingService  # noqa: E402
from crosspost.services.queue_worker import process_record  # noqa: E402

gc.freeze()
gc.enable()

# A batch whose every record is held (not due yet) is normal here: report the items, don't raise.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


async def record_handler(record: SQSRecord) -> str:
    deps = dependencies()
    http = loop_client(deps.settings.platform_timeout_seconds)
    # faults: test-only crash injection (CROSSPOST_FAULT_INJECTION), None unless the local stack sets it
    injector = faults.parse(deps.settings.fault_injection)
    service = PublishingService(
        deps.settings, deps.posts, deps.accounts, deps.vault, http, injector, configs=deps.platform_config
    )
    return await process_record(record, service, deps.queue)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
