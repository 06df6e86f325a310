"""What a platform gives the adapter contract suite (``test_adapter_contract.py``): one
``ContractCase`` per registered adapter, in ``cases/<platform>.py`` as ``CASE``.

The suite runs the adapter over real HTTP against its simulated platform in the sandbox and
checks the things every adapter owes the rest of crosspost: a success maps to a
``PublishResult`` the sandbox can read back, and every failure lands in the right class of
``crosspost.errors`` (which decides between retry, reconcile and give up).

A case says only what differs per platform: how to get tokens of a sandbox account, a minimal
post, how many publishing calls (uploads, containers) come before the call that creates the post
(the suite aims its faults at that call), and how to recognise the post in the sandbox's
read-back.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from crosspost.platforms.base import ConnectedAccount, PlatformConfig, PublishRequest, PublishResult, TokenSet
from crosspost.platforms.registry import oauth_auth_for

# The redirect URI the contract's OAuth flows use; the sandbox accepts any http(s) URI and
# never calls it.
CONTRACT_REDIRECT_URI = "https://app.example/crosspost/callback"


@dataclass(frozen=True)
class Connection:
    """One platform's view of the running sandbox.

    ``config``: ``base_url = {sandbox_url}/{platform}`` and the sandbox's app credentials
    (``SANDBOX_APPS``) for the OAuth platforms. ``http``: a crosspost client
    (``crosspost.platforms.http.new_client``) whose allow-list names the sandbox's origin, with a
    short timeout so the suite's timeout fault is quick."""

    platform: str
    sandbox_url: str
    config: PlatformConfig
    http: httpx.AsyncClient

    @property
    def base_url(self) -> str:
        return f"{self.sandbox_url}/{self.platform}"

    def file_url(self, name: str) -> str:
        """A media file the sandbox serves (``local.sandbox.files``: square.jpg, clip.mp4, ...)."""
        return f"{self.sandbox_url}/_sandbox/files/{name}"


def _same_tokens(tokens: TokenSet, base_url: str) -> TokenSet:
    return tokens


@dataclass(frozen=True)
class ContractCase:
    """How the contract suite drives one platform.

    - ``connect(conn)``: tokens of a sandbox account, got the way the product gets them (the
      platform's ``OAuth2Auth`` against the sandbox: see ``oauth_connect``; or its
      ``CredentialsAuth``). It may return the ``ConnectedAccount`` instead: then its
      ``platform_block`` becomes ``PublishRequest.account_block`` (Pinterest's default board)
      when the request has none.
    - ``request(post_id, conn)``: a minimal publishable post (text only when the platform
      allows it; media as ``MediaItem(url=conn.file_url("square.jpg"), ...)`` for
      ``media_transfer="url"``, or bytes from ``local.sandbox.files.files()`` for "bytes").
      Called once per test: the same request object is reused for retries and lookups.
    - ``creating_call_offset``: the publishing calls (uploads, containers) the adapter makes
      before the call that creates the post; the suite's faults skip that many (``after``).
    - ``record_matches(record, result)``: True when ``record`` (one entry of
      ``GET /_sandbox/{platform}/posts``) is the post ``result`` describes.
    - ``retarget(tokens, base_url)``: tokens that name their own host (Bluesky's ``service``)
      pointed at ``base_url``; the refused-connection check uses it. Default: unchanged.
    - ``sends_retry_after``: the platform's 429 carries a wait (Retry-After or a reset header),
      so ``RateLimitedError.retry_after`` must equal the fault's ``retryAfter``.
    """

    platform: str
    connect: Callable[[Connection], Awaitable[TokenSet | ConnectedAccount]]
    request: Callable[[str, Connection], PublishRequest]
    record_matches: Callable[[dict[str, Any], PublishResult], bool]
    creating_call_offset: int = 0
    retarget: Callable[[TokenSet, str], TokenSet] = field(default=_same_tokens)
    sends_retry_after: bool = True


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def oauth_connect(
    conn: Connection,
    *,
    sandbox_user: str | None = None,
    extended_scopes: bool = False,
    pick: Callable[[ConnectedAccount], bool] | None = None,
) -> ConnectedAccount:
    """The product's OAuth connect against the sandbox: build the authorize URL with the
    platform's ``OAuth2Auth``, "consent" (the sandbox answers 302 to the redirect URI at once),
    take the code and ``complete``. Returns the first account (or the first ``pick`` accepts)."""
    auth = oauth_auth_for(conn.platform, conn.http, conn.config)
    assert auth is not None, f"{conn.platform} has no OAuth2Auth in the registry"
    verifier, challenge = pkce_pair() if auth.uses_pkce else (None, None)
    state = secrets.token_urlsafe(16)
    url = auth.authorization_url(
        state=state, redirect_uri=CONTRACT_REDIRECT_URI, code_challenge=challenge, extended_scopes=extended_scopes
    )
    if sandbox_user is not None:
        url += ("&" if "?" in url else "?") + f"sandbox_user={sandbox_user}"
    consent = await conn.http.get(url, follow_redirects=False)
    assert consent.status_code in (302, 303), f"authorize answered {consent.status_code}: {consent.text[:200]}"
    query = parse_qs(urlsplit(consent.headers["Location"]).query)
    assert query.get("state") == [state], "the sandbox must hand the state back"
    assert "code" in query, f"no code in the redirect: {query.get('error')}"
    accounts = await auth.complete(code=query["code"][0], redirect_uri=CONTRACT_REDIRECT_URI, code_verifier=verifier)
    chosen = [a for a in accounts if pick is None or pick(a)]
    assert chosen, f"the {conn.platform} login yielded no account to connect"
    return chosen[0]
