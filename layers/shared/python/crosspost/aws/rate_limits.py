"""Per-API-key request counters in DynamoDB: one conditional UpdateItem per request.

A counter item per (key id, fixed window): ``ADD hits :one`` only while ``hits < :limit``. The
increment and the check are one atomic conditional write, so every Lambda instance counts into
the same item and the limit holds across concurrent functions without locks or reads. Items
carry a TTL (the window's end plus a margin) and DynamoDB deletes them afterwards.

Cost: one write request unit per authenticated request (a refused one too: DynamoDB bills a
failed conditional write), i.e. about $1.25 per million requests on demand in us-east-1, next
to $1.00 per million for the HTTP API itself; no read, no extra round trip on the way in beyond
this one call (~5 ms in-region).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from crosspost.aws.base import is_conditional_failure
from crosspost.aws.clients import client

# Counter items outlive their window by this much before TTL may delete them (TTL is lazy anyway;
# the key names the window, so a late deletion never merges two windows).
_TTL_MARGIN_SECONDS = 300


class RateLimitStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def ddb(self) -> Any:
        return client("dynamodb")

    def hit(self, counter: str, *, limit: int, window_end: int) -> bool:
        """Count one request in ``counter``; False (and nothing counted) when ``limit`` requests
        were counted there already. ``window_end``: unix seconds when the window closes."""
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": counter}},
                UpdateExpression="ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":ttl": {"N": str(window_end + _TTL_MARGIN_SECONDS)},
                },
                ReturnValues="NONE",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True
