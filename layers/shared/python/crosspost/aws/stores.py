"""DynamoDB stores, one per table. boto3 lives in ``crosspost.aws`` only; every method speaks
domain models. Conditional writes return False/None when their condition fails, so services
decide what a lost race means."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from crosspost.aws.base import TableStore, is_conditional_failure
from crosspost.aws.items import from_item, to_item, to_value
from crosspost.clock import iso
from crosspost.models.domain import Account, ApiKey, LastError, Post, PostStatus, Profile

_WORKSPACE = "WORKSPACE"
_PROFILE = "PROFILE#"


class WorkspaceStore(TableStore):
    """Workspaces and their profiles: pk = workspaceId, sk = WORKSPACE | PROFILE#<id>."""

    def create_workspace(self, workspace_id: str, created_at: datetime, default_profile: Profile) -> None:
        self.ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item({"pk": workspace_id, "sk": _WORKSPACE, "createdAt": created_at}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self.table_name, "Item": self._profile_item(default_profile)}},
            ]
        )

    @staticmethod
    def _profile_item(profile: Profile) -> dict[str, Any]:
        return to_item({"pk": profile.workspace_id, "sk": _PROFILE + profile.id, **profile.to_record()})

    def put_profile(self, profile: Profile) -> None:
        self.ddb.put_item(TableName=self.table_name, Item=self._profile_item(profile))

    def get_profile(self, workspace_id: str, profile_id: str) -> Profile | None:
        item = self._get(to_item({"pk": workspace_id, "sk": _PROFILE + profile_id}))
        return Profile.from_record(item) if item else None

    def list_profiles(self, workspace_id: str, *, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        page = self._query_page(
            index=None,
            key_condition="pk = :pk AND begins_with(sk, :p)",
            values=to_item({":pk": workspace_id, ":p": _PROFILE}),
            cursor=cursor,
            cursor_keys={"pk", "sk"},
            scope={"pk": workspace_id},
            limit=limit,
        )
        return [Profile.from_record(i) for i in page.items], page.next_cursor

    def delete_profile(self, workspace_id: str, profile_id: str) -> None:
        self.ddb.delete_item(TableName=self.table_name, Key=to_item({"pk": workspace_id, "sk": _PROFILE + profile_id}))


class ApiKeyStore(TableStore):
    def put(self, key: ApiKey) -> None:
        self.ddb.put_item(
            TableName=self.table_name,
            Item=to_item(key.to_record()),
            ConditionExpression="attribute_not_exists(keyHash)",
        )

    def get_by_hash(self, key_hash: str) -> ApiKey | None:
        item = self._get(to_item({"keyHash": key_hash}))
        return ApiKey.from_record(item) if item else None

    def list_page(self, workspace_id: str, *, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        page = self._query_page(
            index="byWorkspace",
            key_condition="workspaceId = :w",
            values=to_item({":w": workspace_id}),
            cursor=cursor,
            cursor_keys={"workspaceId", "id", "keyHash"},
            scope={"workspaceId": workspace_id},
            limit=limit,
            filter_expression="attribute_not_exists(revokedAt)",
        )
        return [ApiKey.from_record(i) for i in page.items], page.next_cursor

    def find(self, workspace_id: str, key_id: str) -> ApiKey | None:
        response = self.ddb.query(
            TableName=self.table_name,
            IndexName="byWorkspace",
            KeyConditionExpression="workspaceId = :w AND id = :i",
            ExpressionAttributeValues=to_item({":w": workspace_id, ":i": key_id}),
        )
        items = response.get("Items", [])
        return ApiKey.from_record(from_item(items[0])) if items else None

    def revoke(self, key_hash: str, revoked_at: datetime) -> None:
        self.ddb.update_item(
            TableName=self.table_name,
            Key=to_item({"keyHash": key_hash}),
            UpdateExpression="SET revokedAt = :t",
            ConditionExpression="attribute_exists(keyHash)",
            ExpressionAttributeValues=to_item({":t": revoked_at}),
        )


def _platform_account_key(workspace_id: str, platform: str, platform_account_id: str) -> str:
    return f"{workspace_id}#{platform}#{platform_account_id}"


class AccountStore(TableStore):
    REFRESH_SHARD = "0"

    def _record(self, account: Account) -> dict[str, Any]:
        record = account.to_record()
        record["createdKey"] = f"{iso(account.created_at)}#{account.id}"
        record["platformAccountKey"] = _platform_account_key(
            account.workspace_id, account.platform, account.platform_account_id
        )
        if account.refresh_due_at is not None:
            # sparse index: only accounts whose tokens are renewed ahead of time are in byRefreshDue
            record["refreshShard"] = self.REFRESH_SHARD
        return record

    def create(self, account: Account) -> bool:
        """False when the row exists already (a racing connect of the same account)."""
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item=to_item(self._record(account)),
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def replace(self, account: Account) -> None:
        """Write the whole row (reconnect: new tokens' expiry, fresh profile data)."""
        self.ddb.put_item(
            TableName=self.table_name,
            Item=to_item(self._record(account)),
            ConditionExpression="attribute_exists(id)",
        )

    def get(self, account_id: str) -> Account | None:
        item = self._get(to_item({"id": account_id}))
        return Account.from_record(item) if item else None

    def find_by_platform_account(self, workspace_id: str, platform: str, platform_account_id: str) -> Account | None:
        response = self.ddb.query(
            TableName=self.table_name,
            IndexName="byPlatformAccount",
            KeyConditionExpression="platformAccountKey = :k",
            ExpressionAttributeValues=to_item(
                {":k": _platform_account_key(workspace_id, platform, platform_account_id)}
            ),
        )
        items = response.get("Items", [])
        return Account.from_record(from_item(items[0])) if items else None

    def list_page(
        self,
        workspace_id: str,
        *,
        limit: int,
        cursor: str | None,
        profile_id: str | None = None,
        platform: str | None = None,
    ) -> tuple[list[Account], str | None]:
        page = self._query_page(
            index="byWorkspace",
            key_condition="workspaceId = :w",
            values=to_item({":w": workspace_id}),
            cursor=cursor,
            cursor_keys={"workspaceId", "createdKey", "id"},
            scope={"workspaceId": workspace_id},
            limit=limit,
            equals={"profileId": profile_id, "platform": platform},
        )
        return [Account.from_record(i) for i in page.items], page.next_cursor

    def count_in_profile(self, workspace_id: str, profile_id: str) -> int:
        accounts, _ = self.list_page(workspace_id, limit=1, cursor=None, profile_id=profile_id)
        return len(accounts)

    def delete(self, account_id: str) -> None:
        self.ddb.delete_item(TableName=self.table_name, Key=to_item({"id": account_id}))

    def record_success(self, account_id: str, at: datetime) -> None:
        self._update_if_exists(account_id, "SET lastSuccessfulPost = :t, updatedAt = :t REMOVE lastError", {":t": at})

    def record_error(self, account_id: str, error: LastError) -> None:
        self._update_if_exists(
            account_id,
            "SET lastError = :e, updatedAt = :t",
            {":e": error.to_record(), ":t": error.occurred_at},
        )

    # ---- token refresh (crosspost.services.token_refresh) ------------------------------------------

    def refresh_due_before(self, before: datetime, *, limit: int) -> list[Account]:
        """Up to ``limit`` accounts whose ``refreshDueAt`` is at or before ``before``, most overdue
        first (the sparse byRefreshDue index). Eventually consistent: the lease re-reads the row."""
        items = self._query_up_to(
            index="byRefreshDue",
            key_condition="refreshShard = :s AND refreshDueAt <= :t",
            values={":s": self.REFRESH_SHARD, ":t": before},
            limit=limit,
        )
        return [Account.from_record(i) for i in items]

    def take_refresh_lease(
        self, account_id: str, *, token: str, until: datetime, at: datetime
    ) -> tuple[Account | None, bool]:
        """Take the account's refresh lease unless someone holds an unexpired one:
        ``(the row as it is now, True)`` (strongly consistent, from the write itself);
        ``(None, True)`` when another process holds the lease; ``(None, False)`` when the account
        is gone (disconnected)."""
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key=to_item({"id": account_id}),
                UpdateExpression="SET refreshLeaseToken = :token, refreshLeaseUntil = :until",
                ConditionExpression=(
                    "attribute_exists(id) AND (attribute_not_exists(refreshLeaseUntil) OR refreshLeaseUntil < :now)"
                ),
                ExpressionAttributeValues=to_item({":token": token, ":until": until, ":now": at}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None, bool(exc.response.get("Item"))
            raise
        return Account.from_record(from_item(response["Attributes"])), True

    def release_refresh_lease(self, account_id: str, token: str) -> None:
        self._update_if_holding(account_id, token, "REMOVE refreshLeaseToken, refreshLeaseUntil", {})

    def record_refreshed(
        self,
        account_id: str,
        token: str,
        *,
        token_expires_at: datetime | None,
        refresh_due_at: datetime | None,
        at: datetime,
        clear_error: bool,
    ) -> None:
        """After a refresh under the lease ``token``: the connection's new expiry and the next
        refresh time (the index entry goes with it when there is none), lease released; the
        refresh failure recorded before, if ``clear_error``."""
        sets = ["updatedAt = :at"]
        removes = ["refreshLeaseToken", "refreshLeaseUntil"]
        values: dict[str, Any] = {":at": at}
        if token_expires_at is not None:
            sets.append("tokenExpiresAt = :exp")
            values[":exp"] = token_expires_at
        else:
            removes.append("tokenExpiresAt")
        if refresh_due_at is not None:
            sets += ["refreshDueAt = :due", "refreshShard = :shard"]
            values.update({":due": refresh_due_at, ":shard": self.REFRESH_SHARD})
        else:
            removes += ["refreshDueAt", "refreshShard"]
        if clear_error:
            removes.append("lastError")
        expression = f"SET {', '.join(sets)} REMOVE {', '.join(removes)}"
        self._update_if_holding(account_id, token, expression, values)

    def record_refresh_failure(self, account_id: str, token: str, error: LastError) -> None:
        """The refresh was refused for good: ``lastError``, out of the refresher's index (the user
        must reconnect; a reconnect puts it back), lease released."""
        self._update_if_holding(
            account_id,
            token,
            "SET lastError = :e, updatedAt = :t"
            " REMOVE refreshDueAt, refreshShard, refreshLeaseToken, refreshLeaseUntil",
            {":e": error.to_record(), ":t": error.occurred_at},
        )

    def _update_if_holding(self, account_id: str, token: str, expression: str, values: dict[str, Any]) -> bool:
        """Apply the update only while the lease ``token`` is still ours (a lease that ran out and
        was taken by another refresher is theirs to finish)."""
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=to_item({"id": account_id}),
                UpdateExpression=expression,
                ConditionExpression="refreshLeaseToken = :lease",
                ExpressionAttributeValues=to_item({**values, ":lease": token}),
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def _update_if_exists(self, account_id: str, expression: str, values: dict[str, Any]) -> None:
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=to_item({"id": account_id}),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:  # the account was disconnected meanwhile: nothing to record
            if not is_conditional_failure(exc):
                raise


_ACTIVE = (PostStatus.QUEUED, PostStatus.PUBLISHING)


class PostStore(TableStore):
    def _record(self, post: Post) -> dict[str, Any]:
        record = post.to_record()
        if post.status in _ACTIVE:
            record["activeStatus"] = post.status.value
            record["dueAt"] = iso(post.due_at)
        return record

    def create(self, post: Post) -> None:
        self.ddb.put_item(
            TableName=self.table_name,
            Item=to_item(self._record(post)),
            ConditionExpression="attribute_not_exists(id)",
        )

    def get(self, post_id: str) -> Post | None:
        # strongly consistent: a post is read right after a write (claim, publish-now, GET after POST)
        item = self._get(to_item({"id": post_id}), consistent=True)
        return Post.from_record(item) if item else None

    def list_page(
        self,
        workspace_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
        account_id: str | None = None,
        profile_id: str | None = None,
    ) -> tuple[list[Post], str | None]:
        # accountId is a filter on the workspace partition, not the byAccount index: that index is
        # not scoped by workspace, and every read stays inside the caller's workspace.
        page = self._query_page(
            index="byWorkspace",
            key_condition="workspaceId = :w",
            values=to_item({":w": workspace_id}),
            cursor=cursor,
            cursor_keys={"workspaceId", "id"},
            scope={"workspaceId": workspace_id},
            limit=limit,
            newest_first=True,
            equals={"status": status, "profileId": profile_id, "accountId": account_id},
        )
        return [Post.from_record(i) for i in page.items], page.next_cursor

    def queued_for_account(self, account_id: str) -> list[Post]:
        posts: list[Post] = []
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": "byAccount",
                "KeyConditionExpression": "accountId = :a",
                "FilterExpression": "#st = :q",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": to_item({":a": account_id, ":q": PostStatus.QUEUED.value}),
            }
            if start:
                args["ExclusiveStartKey"] = start
            response = self.ddb.query(**args)
            posts.extend(Post.from_record(from_item(i)) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return posts

    def active_due_before(self, status: PostStatus, before: datetime, *, limit: int) -> list[Post]:
        """The reconcile sweep's read: up to ``limit`` posts in an active ``status`` whose
        ``dueAt`` is before ``before``, longest overdue first (the sparse byActiveStatus index:
        only queued and publishing posts are in it). Eventually consistent, as every index read."""
        items = self._query_up_to(
            index="byActiveStatus",
            key_condition="activeStatus = :s AND dueAt < :t",
            values={":s": status.value, ":t": before},
            limit=limit,
        )
        return [Post.from_record(i) for i in items]

    def claim_due(
        self, post_id: str, *, claim_token: str, lease_until: datetime, at: datetime
    ) -> tuple[Post | None, Post | None]:
        """Claim a due ``queued`` post in one conditional write, without reading it first:
        queued → publishing with ``claim_token`` and a lease, one more attempt, no retry time.
        The row ends up exactly as ``transition`` would write the claimed post (``dueAt`` of an
        active post is ``nextAttemptAt``, else ``scheduledAt``, else ``createdAt``).

        Returns ``(claimed, None)`` when the claim won. Otherwise ``(None, current)``: the post
        as the failed condition saw it (DynamoDB returns it with the refusal), or None when
        there is no such post, so the caller learns why (not due yet, claimed by someone else,
        finished) without another read."""
        values = {
            ":queued": PostStatus.QUEUED.value,
            ":publishing": PostStatus.PUBLISHING.value,
            ":claim": claim_token,
            ":lease": lease_until,
            ":now": at,
            ":zero": 0,
            ":one": 1,
        }
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key=to_item({"id": post_id}),
                UpdateExpression=(
                    "SET #st = :publishing, activeStatus = :publishing, claimToken = :claim, leaseUntil = :lease,"
                    " updatedAt = :now, attempts = if_not_exists(attempts, :zero) + :one,"
                    " dueAt = if_not_exists(scheduledAt, createdAt) REMOVE nextAttemptAt"
                ),
                # ISO-8601 UTC strings of one width compare as the times they name
                ConditionExpression="#st = :queued AND dueAt <= :now",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            item = exc.response.get("Item")
            return None, (Post.from_record(from_item(item)) if item else None)
        return Post.from_record(from_item(response["Attributes"])), None

    def transition(
        self,
        post: Post,
        *,
        expected: PostStatus,
        claim_token: str | None = None,
    ) -> bool:
        """Write ``post`` (its new state) only if the stored post is still in ``expected`` status
        (and, when given, still held by ``claim_token``). The one way a post changes state."""
        condition = "#st = :expected"
        values: dict[str, Any] = {":expected": expected.value}
        if claim_token is not None:
            condition += " AND claimToken = :claim"
            values[":claim"] = claim_token
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item=to_item(self._record(post)),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={k: to_value(v) for k, v in values.items()},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True
