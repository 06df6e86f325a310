"""Facebook's contract case: the sandbox's default Meta user connected through ``FacebookAuth``
(dialog → code → short-lived → long-lived user token → ``/me/accounts``), publishing a text post
to its first Page with the Page token: one publishing call, ``POST /{page}/feed``.

Meta's rate-limit answers carry no ``Retry-After``: the wait comes from
``X-Business-Use-Case-Usage`` in whole minutes, so it cannot equal the fault's seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crosspost.platforms.base import ConnectedAccount, PublishRequest, PublishResult
from tests.integration.contract.case import Connection, ContractCase, oauth_connect


async def connect(conn: Connection) -> ConnectedAccount:
    return await oauth_connect(conn, pick=lambda account: account.platform == "facebook")


def request(post_id: str, conn: Connection) -> PublishRequest:
    # A distinct text per post: Facebook refuses the same status twice in a row (506).
    return PublishRequest(
        post_id=post_id, text=f"Contract check {post_id}: hello from crosspost", created_at=datetime.now(UTC)
    )


def record_matches(record: dict[str, Any], result: PublishResult) -> bool:
    return record.get("id") == result.uri


CASE = ContractCase(
    platform="facebook",
    connect=connect,
    request=request,
    creating_call_offset=0,  # POST /{page}/feed is the only publishing call of a text post
    record_matches=record_matches,
    sends_retry_after=False,
)
