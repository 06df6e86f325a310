"""Workspaces, profiles and API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from crosspost.aws.stores import AccountStore, ApiKeyStore, WorkspaceStore
from crosspost.clock import now
from crosspost.errors import ConflictError, NotFoundError, UnauthenticatedError, ValidationFailedError
from crosspost.ids import new_uuid
from crosspost.models.domain import ApiKey, Profile

KEY_PREFIX = "cp_live_"
_KEY_SHAPE = re.compile(r"^cp_live_[A-Za-z0-9_-]{32,128}$")
DEFAULT_PROFILE = "default"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    workspace_id: str
    key_id: str


class ApiKeyAuthenticator:
    """Resolves ``Authorization: Bearer cp_live_...`` to a workspace.

    Lookups are cached for ``cache_seconds`` (a warm function does not pay a DynamoDB read per
    request); a revoked key is therefore refused within that many seconds.
    """

    def __init__(self, store: ApiKeyStore, cache_seconds: float) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not _KEY_SHAPE.match(token):
            raise UnauthenticatedError("A valid API key is required: Authorization: Bearer cp_live_...")
        digest = hash_key(token)
        with self._lock:
            cached = self._cache.get(digest)
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            caller = cached[1]
        else:
            key = self.store.get_by_hash(digest)
            valid = key is not None and key.revoked_at is None and hmac.compare_digest(key.key_hash, digest)
            caller = Caller(key.workspace_id, key.id) if valid and key else None
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic(), caller)
        if caller is None:
            raise UnauthenticatedError("The API key is unknown or revoked.")
        return caller


def create_workspace(workspaces: WorkspaceStore) -> tuple[str, Profile]:
    workspace_id = new_uuid()
    created = now()
    profile = Profile(id=new_uuid(), workspace_id=workspace_id, name=DEFAULT_PROFILE, created_at=created)
    workspaces.create_workspace(workspace_id, created, profile)
    return workspace_id, profile


def create_api_key(api_keys: ApiKeyStore, workspace_id: str, name: str) -> tuple[ApiKey, str]:
    """A new key; the plaintext is returned once and never stored."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_uuid(),
        workspace_id=workspace_id,
        name=name,
        prefix=plaintext[: len(KEY_PREFIX) + 4],
        key_hash=hash_key(plaintext),
        created_at=now(),
    )
    api_keys.put(key)
    return key, plaintext


def revoke_api_key(api_keys: ApiKeyStore, workspace_id: str, key_id: str) -> None:
    key = api_keys.find(workspace_id, key_id)
    if key is None or key.revoked_at is not None:
        raise NotFoundError("No such API key.", rule="apiKey.unknown")
    api_keys.revoke(key.key_hash, now())


def create_profile(workspaces: WorkspaceStore, workspace_id: str, name: str) -> Profile:
    profile = Profile(id=new_uuid(), workspace_id=workspace_id, name=name, created_at=now())
    workspaces.put_profile(profile)
    return profile


def get_profile(workspaces: WorkspaceStore, workspace_id: str, profile_id: str) -> Profile:
    profile = workspaces.get_profile(workspace_id, profile_id)
    if profile is None:
        raise NotFoundError("No such profile.", rule="profile.unknown")
    return profile


def resolve_profile(workspaces: WorkspaceStore, workspace_id: str, profile_id: str | None) -> Profile:
    """The profile a request names, or the workspace's only profile when it names none."""
    if profile_id is not None:
        return get_profile(workspaces, workspace_id, profile_id)
    profiles, _ = workspaces.list_profiles(workspace_id, limit=2, cursor=None)
    if len(profiles) != 1:
        raise ValidationFailedError(
            "This workspace has several profiles: say which one with profileId.",
            rule="profileId.required",
            field="profileId",
        )
    return profiles[0]


def delete_profile(workspaces: WorkspaceStore, accounts: AccountStore, workspace_id: str, profile_id: str) -> None:
    get_profile(workspaces, workspace_id, profile_id)
    if accounts.count_in_profile(workspace_id, profile_id):
        raise ConflictError("The profile still has connected accounts.", rule="profile.not_empty")
    profiles, _ = workspaces.list_profiles(workspace_id, limit=2, cursor=None)
    if len(profiles) < 2:
        raise ConflictError("A workspace keeps at least one profile.", rule="profile.last")
    workspaces.delete_profile(workspace_id, profile_id)
