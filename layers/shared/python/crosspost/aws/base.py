"""Shared plumbing of the DynamoDB stores: queries with cursors, conditional-write outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from crosspost.aws.clients import client
from crosspost.aws.items import decode_cursor, encode_cursor, from_item, to_item


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def is_conditional_failure(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


class TableStore:
    """A store over one table. Subclasses add the entity's access patterns."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def ddb(self) -> Any:
        return client("dynamodb")

    def _get(self, key: dict[str, Any], *, consistent: bool = False) -> dict[str, Any] | None:
        response = self.ddb.get_item(TableName=self.table_name, Key=key, ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def _query_up_to(self, *, index: str, key_condition: str, values: dict[str, Any], limit: int) -> list[Any]:
        """Up to ``limit`` items of an index query, in index order, across DynamoDB's pages
        (the internal reads of the sweep and the refresher: no cursor, no filter)."""
        items: list[Any] = []
        start: dict[str, Any] | None = None
        while len(items) < limit:
            args: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": index,
                "KeyConditionExpression": key_condition,
                "ExpressionAttributeValues": to_item(values),
                "Limit": limit - len(items),
            }
            if start:
                args["ExclusiveStartKey"] = start
            response = self.ddb.query(**args)
            items.extend(from_item(i) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return items

    def _query_page(
        self,
        *,
        index: str | None,
        key_condition: str,
        values: dict[str, Any],
        cursor: str | None,
        cursor_keys: set[str],
        scope: dict[str, str],
        limit: int,
        newest_first: bool = False,
        filter_expression: str | None = None,
        names: dict[str, str] | None = None,
        equals: dict[str, str | None] | None = None,
    ) -> Page:
        """One page of a query. ``equals`` adds an equality filter per attribute whose value is
        not None (list filters such as ?status=). With a filter, DynamoDB may return fewer than
        ``limit`` items per call, so this keeps reading until the page is full or the partition ends."""
        filters = [filter_expression] if filter_expression else []
        names = dict(names or {})
        values = dict(values)
        for i, (attribute, value) in enumerate((equals or {}).items()):
            if value is not None:
                filters.append(f"#f{i} = :f{i}")
                names[f"#f{i}"] = attribute
                values.update(to_item({f":f{i}": value}))
        filter_expression = " AND ".join(filters) or None
        start = decode_cursor(cursor, cursor_keys, scope=scope)
        items: list[dict[str, Any]] = []
        while True:
            args: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": key_condition,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": not newest_first,
                "Limit": limit - len(items),
            }
            if index:
                args["IndexName"] = index
            if start:
                args["ExclusiveStartKey"] = start
            if filter_expression:
                args["FilterExpression"] = filter_expression
            if names:
                args["ExpressionAttributeNames"] = names
            response = self.ddb.query(**args)
            items.extend(from_item(i) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start or len(items) >= limit:
                break
        return Page(items, encode_cursor(start))
