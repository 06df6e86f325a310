"""Create crosspost's AWS resources in moto, from the same definitions the CDK stack uses.

Used by the local stack (against moto's server) and by the integration tests (inside
``mock_aws``). Returns the environment variables the functions read, exactly as CDK sets them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from crosspost.resources import (
    QUEUES,
    TABLES,
    Env,
    TableDef,
    platform_apps_secret_name,
    schedule_group_name,
    secrets_prefix,
)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


def _table_args(table: TableDef, prefix: str) -> dict[str, Any]:
    keys = [table.partition, *([table.sort] if table.sort else [])]
    attributes = {k.name: k.type.value for k in keys}
    gsis = []
    for index in table.indexes:
        index_keys = [index.partition, *([index.sort] if index.sort else [])]
        attributes.update({k.name: k.type.value for k in index_keys})
        gsis.append(
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": k.name, "KeyType": "HASH" if i == 0 else "RANGE"}
                    for i, k in enumerate(index_keys)
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    args: dict[str, Any] = {
        "TableName": table.physical_name(prefix),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": k.name, "KeyType": "HASH" if i == 0 else "RANGE"} for i, k in enumerate(keys)],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
    }
    if gsis:
        args["GlobalSecondaryIndexes"] = gsis
    return args


def provision(prefix: str = "crosspost-local", endpoint_url: str | None = None) -> dict[str, str]:
    """Create every table, the queues, the bucket and the schedule group; return the env."""
    kw: dict[str, Any] = {"region_name": REGION}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    dynamodb = boto3.client("dynamodb", **kw)
    env: dict[str, str] = {}
    for table in TABLES:
        dynamodb.create_table(**_table_args(table, prefix))
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.physical_name(prefix),
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        env[table.env.value] = table.physical_name(prefix)

    sqs = boto3.client("sqs", **kw)
    queue_name, dlq_name = QUEUES.physical_names(prefix)
    dlq_url = sqs.create_queue(
        QueueName=dlq_name, Attributes={"VisibilityTimeout": str(QUEUES.dlq_visibility_timeout_seconds)}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(QUEUES.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(QUEUES.max_receive_count)}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    env[Env.PUBLISH_QUEUE_URL.value] = queue_url
    env[Env.PUBLISH_QUEUE_ARN.value] = queue_arn

    bucket = f"{prefix}-media"
    boto3.client("s3", **kw).create_bucket(Bucket=bucket)
    env[Env.MEDIA_BUCKET.value] = bucket

    group = schedule_group_name(prefix)
    boto3.client("scheduler", **kw).create_schedule_group(Name=group)
    env[Env.SCHEDULE_GROUP.value] = group
    env[Env.SCHEDULER_ROLE_ARN.value] = f"arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-scheduler"
    env[Env.SECRETS_PREFIX.value] = secrets_prefix(prefix)
    # The platform apps secret, empty as the CDK stack creates it (README "Platform apps").
    apps_secret = platform_apps_secret_name(prefix)
    boto3.client("secretsmanager", **kw).create_secret(Name=apps_secret, SecretString="{}")
    env[Env.PLATFORM_APPS_SECRET.value] = apps_secret
    env[Env.STAGE.value] = "local"
    return env


# The platforms whose every host the sandbox stands in for under ``{sandbox}/{platform}`` (Bluesky
# is reached through its service URL instead: BLUESKY_DEFAULT_SERVICE and the DID document).
SANDBOX_BASE_URL_PLATFORMS = ("facebook", "instagram", "threads", "linkedin", "pinterest", "twitter")


def sandbox_platform_base_urls(sandbox_url: str) -> str:
    """PLATFORM_BASE_URLS pointing every OAuth platform at the sandbox."""
    base = sandbox_url.rstrip("/")
    return ",".join(f"{platform}={base}/{platform}" for platform in SANDBOX_BASE_URL_PLATFORMS)


def seed_platform_apps(env: dict[str, str], apps: dict[str, dict[str, str]], endpoint_url: str | None = None) -> None:
    """Write ``apps`` ({"twitter": {"clientId", "clientSecret"}, ...}) into the platform apps secret,
    as an operator does after deploying (the local stack seeds the sandbox's apps)."""
    kw: dict[str, Any] = {"region_name": REGION}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    boto3.client("secretsmanager", **kw).put_secret_value(
        SecretId=env[Env.PLATFORM_APPS_SECRET.value], SecretString=json.dumps(apps)
    )


def dlq_url(env: dict[str, str]) -> str:
    """The DLQ's URL, derived from the publish queue's (same account and region)."""
    return env[Env.PUBLISH_QUEUE_URL.value].replace(QUEUES.publish_logical_id, QUEUES.dlq_logical_id)


def dlq_arn(env: dict[str, str]) -> str:
    """The DLQ's ARN, derived from the publish queue's."""
    return env[Env.PUBLISH_QUEUE_ARN.value].replace(QUEUES.publish_logical_id, QUEUES.dlq_logical_id)
