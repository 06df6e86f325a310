"""Instagram's contract case: the Instagram business account linked to the default Meta user's
first Page, connected the only way Instagram connects, through the Facebook login
(``FacebookAuth`` against the sandbox's ``/facebook``), and a single-image post: two publishing
calls, the image container (``POST /{ig_user}/media``) and ``media_publish`` (the call that makes
the post). Instagram posts need media, so the post carries the sandbox's ``square.jpg``.

Meta's rate-limit answers carry no ``Retry-After`` (whole minutes in
``X-Business-Use-Case-Usage``), so ``retry_after`` cannot equal the fault's seconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crosspost.platforms.base import ConnectedAccount, MediaItem, PublishRequest, PublishResult
from crosspost.platforms.facebook import FacebookAuth
from tests.integration.contract.case import CONTRACT_REDIRECT_URI, Connection, ContractCase
from tests.integration.contract.conftest import sandbox_config


async def connect(conn: Connection) -> ConnectedAccount:
    facebook = replace(conn, platform="facebook", config=sandbox_config("facebook", f"{conn.sandbox_url}/facebook"))
    auth = FacebookAuth(facebook.http, facebook.config)
    url = auth.authorization_url(
        state="contract", redirect_uri=CONTRACT_REDIRECT_URI, code_challenge=None, extended_scopes=False
    )
    consent = await conn.http.get(url, follow_redirects=False)
    assert consent.status_code == 302, consent.text[:200]
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    accounts = await auth.complete(code=code, redirect_uri=CONTRACT_REDIRECT_URI, code_verifier=None)
    return next(a for a in accounts if a.platform == "instagram")


def request(post_id: str, conn: Connection) -> PublishRequest:
    image = MediaItem(kind="image", url=conn.file_url("square.jpg"), content_type="image/jpeg", width=1080, height=1080)
    return PublishRequest(
        post_id=post_id,
        text=f"Contract check {post_id}: hello from crosspost",
        created_at=datetime.now(UTC),
        media=(image,),
    )


def record_matches(record: dict[str, Any], result: PublishResult) -> bool:
    return record.get("id") == result.uri


CASE = ContractCase(
    platform="instagram",
    connect=connect,
    request=request,
    creating_call_offset=1,  # POST /{ig_user}/media (the container), then media_publish
    record_matches=record_matches,
    sends_retry_after=False,
)
