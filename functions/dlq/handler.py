"""DLQ consumer: ends the posts of publish records that exhausted their receives."""

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from crosspost.composition import dependencies
from crosspost.observability import logger, metrics
from crosspost.platforms.http import loop_client
from crosspost.services.dead_letters import process_dead_letter
from crosspost.services.publishing import PublishingService

# A batch whose every record waits for a live lease is normal here: report the items, don't raise.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


async def record_handler(record: SQSRecord) -> str:
    deps = dependencies()
    http = loop_client(deps.settings.platform_timeout_seconds)
    service = PublishingService(
        deps.settings, deps.posts, deps.accounts, deps.vault, http, configs=deps.platform_config
    )
    return await process_dead_letter(record, service)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
