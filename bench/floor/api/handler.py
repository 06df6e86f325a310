"""The floor of an API cold start: GET /v1/accounts with the mandated libraries alone (README.md)."""

import gc

gc.disable()

import os  # noqa: E402

from aws_lambda_powertools import Logger, Metrics  # noqa: E402
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from crosspost.aws.clients import client  # noqa: E402

logger = Logger()
metrics = Metrics(namespace="Crosspost")
app = APIGatewayHttpResolver(enable_validation=True)


class AccountRow(BaseModel):
    id: str
    platform: str


@app.get("/v1/accounts")
def list_accounts() -> list[AccountRow]:
    # what crosspost's request does with DynamoDB: read the API key, count the request, query the rows
    dynamodb = client("dynamodb")
    key = {"keyHash": {"S": os.environ["FLOOR_KEY_HASH"]}}
    for _ in range(3):
        dynamodb.get_item(TableName=os.environ["FLOOR_TABLE"], Key=key)
    return [AccountRow(id="a1", platform="bluesky")]


gc.freeze()
gc.enable()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
