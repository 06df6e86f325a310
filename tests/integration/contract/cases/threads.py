"""Threads' contract case: the sandbox's default Threads user connected through ``ThreadsAuth``
(authorize → code → short-lived token → long-lived token → ``/me``), and a text post, which is
two publishing calls: the TEXT container, then ``threads_publish`` (the call that makes the post).

Meta's rate-limit answers carry no ``Retry-After``: the wait comes from
``X-Business-Use-Case-Usage`` in whole minutes, so it cannot equal the fault's seconds."""

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
    return record.get("id") == result.uri and record.get("permalink") == result.url


CASE = ContractCase(
    platform="threads",
    connect=connect,
    request=request,
    creating_call_offset=1,  # POST /{user}/threads (the container), then threads_publish
    record_matches=record_matches,
    sends_retry_after=False,
)
