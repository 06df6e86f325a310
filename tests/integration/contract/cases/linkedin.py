"""LinkedIn's contract case: the sandbox's default member connected through ``LinkedInAuth``
(authorize → code → token form with the client secret → OpenID userinfo), and a text-only post
(``POST /rest/posts`` is its only call). The text carries the post id: the sandbox, like
LinkedIn, refuses a member's repeated text as ``DUPLICATE_POST``."""

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
    return record.get("urn") == result.uri


CASE = ContractCase(
    platform="linkedin",
    connect=connect,
    request=request,
    creating_call_offset=0,  # a text post is one call: POST /rest/posts
    record_matches=record_matches,
    sends_retry_after=False,  # LinkedIn's 429 has no headers: the adapter waits for the midnight-UTC reset
)
