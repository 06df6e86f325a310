"""Pinterest's contract case: the sandbox's default pinner connected through ``PinterestAuth``
(authorize → code → Basic-auth token exchange → user and boards), and an image pin on the
account's default board (the ``ConnectedAccount``'s block), the image fetched by the sandbox
from its own files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crosspost.platforms.base import ConnectedAccount, MediaItem, PublishRequest, PublishResult
from tests.integration.contract.case import Connection, ContractCase, oauth_connect


async def connect(conn: Connection) -> ConnectedAccount:
    return await oauth_connect(conn)  # its platform_block carries the default board


def request(post_id: str, conn: Connection) -> PublishRequest:
    return PublishRequest(
        post_id=post_id,
        text=f"Contract check {post_id}: hello from crosspost",
        created_at=datetime.now(UTC),
        media=(MediaItem(kind="image", url=conn.file_url("square.jpg"), content_type="image/jpeg"),),
    )


def record_matches(record: dict[str, Any], result: PublishResult) -> bool:
    return record.get("id") == result.uri


CASE = ContractCase(
    platform="pinterest",
    connect=connect,
    request=request,
    creating_call_offset=0,  # an image pin is one call: POST /v5/pins (Pinterest fetches the image)
    record_matches=record_matches,
    sends_retry_after=True,  # the sandbox's 429 carries Retry-After when the fault gives one
)
