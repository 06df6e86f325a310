"""The floor of a publisher cold start: one SQS record with the mandated libraries alone (README.md)."""

import gc

gc.disable()

import os  # noqa: E402

import httpx  # noqa: E402
from aws_lambda_powertools import Logger, Metrics  # noqa: E402
from aws_lambda_powertools.utilities.batch import (  # noqa: E402
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402

from crosspost.aws.clients import client  # noqa: E402

logger = Logger()
metrics = Metrics(namespace="Crosspost")
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

gc.freeze()
gc.enable()


async def record_handler(record: SQSRecord) -> str:
    # the publisher's AWS calls (claim the post, read the account, its tokens, record the result)
    # and one platform call
    dynamodb = client("dynamodb")
    key = {"keyHash": {"S": os.environ["FLOOR_KEY_HASH"]}}
    dynamodb.get_item(TableName=os.environ["FLOOR_TABLE"], Key=key)
    dynamodb.get_item(TableName=os.environ["FLOOR_TABLE"], Key=key)
    client("secretsmanager").get_secret_value(SecretId=os.environ["FLOOR_SECRET"])
    async with httpx.AsyncClient() as http:
        (await http.get(os.environ["FLOOR_URL"])).raise_for_status()
    dynamodb.get_item(TableName=os.environ["FLOOR_TABLE"], Key=key)
    return "published"


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
