"""Bluesky's contract case: the seeded sandbox account, logged in with its app password through
``BlueskyAuth`` (the PDS service is the sandbox's ``/bluesky`` prefix), and a text-only post."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from crosspost.platforms.base import ConnectedAccount, PublishRequest, PublishResult, TokenSet
from crosspost.platforms.bluesky import BlueskyAuth
from local.sandbox import SANDBOX_ACCOUNTS
from tests.integration.contract.case import Connection, ContractCase


async def connect(conn: Connection) -> ConnectedAccount:
    return await BlueskyAuth(conn.http).login({**SANDBOX_ACCOUNTS["bluesky"], "service": conn.base_url})


def request(post_id: str, conn: Connection) -> PublishRequest:
    return PublishRequest(post_id=post_id, text="Contract check: hello from crosspost", created_at=datetime.now(UTC))


def record_matches(record: dict[str, Any], result: PublishResult) -> bool:
    return record.get("uri") == result.uri and record.get("cid") == result.cid


def retarget(tokens: TokenSet, base_url: str) -> TokenSet:
    # The adapter calls the PDS the session named at login, not the platform's base URL.
    return replace(tokens, extra={**tokens.extra, "service": base_url})


CASE = ContractCase(
    platform="bluesky",
    connect=connect,
    request=request,
    creating_call_offset=0,  # putRecord is the only publishing call of a text post
    record_matches=record_matches,
    retarget=retarget,
)
