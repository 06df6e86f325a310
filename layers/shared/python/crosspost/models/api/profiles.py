"""Profiles and API keys (API.md "Profiles", "API keys")."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from crosspost.models.api.common import Response, Wire
from crosspost.models.domain import ApiKey, Profile


class NameRequest(Wire):
    name: str = Field(min_length=1, max_length=100)


class ProfileResponse(Response):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, p: Profile) -> ProfileResponse:
        return cls(id=p.id, name=p.name, created_at=p.created_at)


class ApiKeyResponse(Response):
    id: str
    name: str
    prefix: str
    created_at: datetime

    @classmethod
    def from_domain(cls, k: ApiKey) -> ApiKeyResponse:
        return cls(id=k.id, name=k.name, prefix=k.prefix, created_at=k.created_at)


class CreatedApiKeyResponse(ApiKeyResponse):
    key: str


class ProfileListResponse(Response):
    profiles: list[ProfileResponse]
    next_cursor: str | None


class ApiKeyListResponse(Response):
    api_keys: list[ApiKeyResponse]
    next_cursor: str | None
