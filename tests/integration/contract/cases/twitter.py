"""X's contract case: the sandbox's default account connected through ``TwitterAuth`` (authorize
with a PKCE challenge → code → Basic-auth token exchange with the verifier → ``/2/users/me``),
and a text-only post (each one unique: X refuses the same text twice from an account)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crosspost.platforms.base import ConnectedAccount, PublishRequest, PublishResult
from tests.integration.contract.case import Connection, ContractCase, oauth_connect


async def connect(conn: Connection) -> ConnectedAccount:
    return await oauth_connect(conn)


def request(post_id: str, conn: Connection) -> PublishRequest:
    return PublishRequest(
        post_id=post_id, text=f"Contract check {post_id}: hello from crosspost", created_at=datetime.now(UTC)
    )


def record_matches(record: dict[str, Any], result: PublishResult) -> bool:
    return record.get("id") == result.uri


CASE = ContractCase(
    platform="twitter",
    connect=connect,
    request=request,
    creating_call_offset=0,  # a text post is one call: POST /2/tweets
    record_matches=record_matches,
    sends_retry_after=True,  # the 429 carries x-rate-limit-reset
)
