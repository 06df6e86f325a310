"""Started OAuth connect flows: one item per ``state`` value, single use, expiring.

Expiry is enforced twice: DynamoDB's TTL deletes the item some time after ``ttl`` (up to days
later, so it is housekeeping only), and every read checks ``expiresAt`` itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from crosspost.aws.base import TableStore, is_conditional_failure
from crosspost.aws.items import from_item, to_item
from crosspost.models.domain import OAuthState


class OAuthStateStore(TableStore):
    """pk = ``state``; ``ttl`` (epoch seconds) is the table's TTL attribute."""

    def put(self, state: OAuthState) -> None:
        record: dict[str, Any] = state.to_record()
        record["ttl"] = int(state.expires_at.timestamp())
        self.ddb.put_item(
            TableName=self.table_name,
            Item=to_item(record),
            # 256 random bits never collide; the condition makes sure a state is never overwritten
            ConditionExpression="attribute_not_exists(#s)",
            ExpressionAttributeNames={"#s": "state"},
        )

    def consume(
        self,
        state: str,
        *,
        platform: str,
        at: datetime,
        workspace_id: str | None = None,
        profile_id: str | None = None,
    ) -> OAuthState | None:
        """Delete the state and return it, in one conditional write, if it exists, belongs to
        ``platform`` (and ``workspace_id``/``profile_id`` when given) and has not expired; else
        None and nothing changes. Two racing consumers: exactly one gets it."""
        condition = "attribute_exists(#s) AND platform = :p AND expiresAt > :now"
        values: dict[str, Any] = {":p": platform, ":now": at}
        if workspace_id is not None:
            condition += " AND workspaceId = :w"
            values[":w"] = workspace_id
        if profile_id is not None:
            condition += " AND profileId = :pr"
            values[":pr"] = profile_id
        try:
            response = self.ddb.delete_item(
                TableName=self.table_name,
                Key=to_item({"state": state}),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise
        item = response.get("Attributes")
        return OAuthState.from_record(from_item(item)) if item else None
