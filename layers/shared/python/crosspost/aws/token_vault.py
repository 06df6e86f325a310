"""Platform tokens in Secrets Manager: one secret per account, named under the workspace.

Reads are cached for a short time (a publish must not pay a Secrets Manager call per post when
a burst goes to one account). Writes are guarded by the version the writer read: refreshing a
token invalidates the previous one on several platforms, so a writer holding a stale version
must re-read instead of overwriting a newer token.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from crosspost.aws.clients import client
from crosspost.clock import iso, parse_iso

if TYPE_CHECKING:
    from crosspost.platforms.base import TokenSet


class StaleTokenVersionError(Exception):
    """Someone wrote a newer token since it was read."""


@dataclass(frozen=True)
class VersionedTokens:
    tokens: TokenSet
    version: str


def _encode(tokens: TokenSet) -> str:
    return json.dumps(
        {
            "accessToken": tokens.access_token,
            "refreshToken": tokens.refresh_token,
            "accessExpiresAt": iso(tokens.access_expires_at) if tokens.access_expires_at else None,
            "connectionExpiresAt": iso(tokens.connection_expires_at) if tokens.connection_expires_at else None,
            "refreshAfter": iso(tokens.refresh_after) if tokens.refresh_after else None,
            "extra": tokens.extra,
        }
    )


def _decode(raw: str) -> TokenSet:
    # imported here: a function that only deletes secrets (disconnect) never loads the adapter interface
    from crosspost.platforms.base import TokenSet

    data: dict[str, Any] = json.loads(raw)
    return TokenSet(
        access_token=data["accessToken"],
        refresh_token=data.get("refreshToken"),
        access_expires_at=parse_iso(data["accessExpiresAt"]) if data.get("accessExpiresAt") else None,
        connection_expires_at=parse_iso(data["connectionExpiresAt"]) if data.get("connectionExpiresAt") else None,
        refresh_after=parse_iso(data["refreshAfter"]) if data.get("refreshAfter") else None,
        extra=data.get("extra") or {},
    )


class TokenVault:
    def __init__(self, prefix: str, cache_seconds: float) -> None:
        self.prefix = prefix
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, VersionedTokens]] = {}

    @property
    def sm(self) -> Any:
        return client("secretsmanager")

    def secret_name(self, workspace_id: str, account_id: str) -> str:
        return f"{self.prefix}{workspace_id}/{account_id}"

    def store(self, name: str, tokens: TokenSet, tags: dict[str, str]) -> VersionedTokens:
        """Create the account's secret, or overwrite it (reconnect, or a retry after a crash
        between writing the secret and the account row)."""
        try:
            self.sm.create_secret(
                Name=name,
                SecretString=_encode(tokens),
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
                raise
        else:
            self._cache.pop(name, None)
            return self.get(name, fresh=True)
        return self.put(name, tokens, expected_version=None)

    def get(self, name: str, *, fresh: bool = False) -> VersionedTokens:
        cached = self._cache.get(name)
        if cached and not fresh and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        response = self.sm.get_secret_value(SecretId=name)
        value = VersionedTokens(_decode(response["SecretString"]), response["VersionId"])
        self._cache[name] = (time.monotonic(), value)
        return value

    def put(self, name: str, tokens: TokenSet, *, expected_version: str | None) -> VersionedTokens:
        """Store new tokens. With ``expected_version``, refuse if the current version differs."""
        if expected_version is not None:
            current = self._current_version(name)
            if current != expected_version:
                self._cache.pop(name, None)
                raise StaleTokenVersionError(name)
        version = str(uuid.uuid4())
        self.sm.put_secret_value(SecretId=name, SecretString=_encode(tokens), ClientRequestToken=version)
        value = VersionedTokens(tokens, version)
        self._cache[name] = (time.monotonic(), value)
        return value

    def _current_version(self, name: str) -> str | None:
        stages = self.sm.describe_secret(SecretId=name).get("VersionIdsToStages", {})
        return next((v for v, s in stages.items() if "AWSCURRENT" in s), None)

    def delete(self, name: str) -> None:
        # ForceDeleteWithoutRecovery: a plain delete keeps the name reserved for 7–30 days and a
        # reconnect of the same account would fail to create its secret.
        try:
            self.sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
        self._cache.pop(name, None)
