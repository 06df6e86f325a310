"""Domain entities: what the services work with. No HTTP or DynamoDB shapes here
(``models.api`` is the wire contract, ``aws.items`` the table rows).

Plain dataclasses, not pydantic: the publisher, sweeper, DLQ consumer and refresher import these
and nothing else that needs pydantic, so their cold start skips it (issue #8). Rows are trusted
(we wrote them), so ``from_record`` converts by the declared types and checks shapes only.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple, Self


def _camel(name: str) -> str:
    """The storage name of a field: ``workspace_id`` → ``workspaceId``, ``bytes_base64`` →
    ``bytesBase64`` (what ``pydantic.alias_generators.to_camel`` gave for these names)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_Convert = Callable[[Any], Any]


class _Shape(ValueError):
    """A value of the wrong shape; the caller adds which entity and field (never the value)."""


class _FieldPlan(NamedTuple):
    """How one field is read from a record and written back. A tuple, unpacked in the loops:
    ``from_record`` runs for every row read, and the publisher reads a post per record."""

    name: str
    alias: str
    required: bool
    nullable: bool
    # A value of this type is taken as it is; anything else goes through ``convert``.
    expect: type | tuple[type, ...]
    convert: _Convert
    # How to_record writes the value: 0 as it is, 1 a nested entity, 2 a list of entities.
    dump: int


def _refuse(what: str) -> _Convert:
    def refuse(value: Any) -> Any:
        raise _Shape(what)

    return refuse


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)  # "Z" and offsets alike (Python 3.11)
        except ValueError:
            pass  # its message would echo the value
    raise _Shape("an ISO-8601 date-time")


def _int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():  # a number that went through float math
        return int(value)
    raise _Shape("an integer")


def _enum(kind: type[StrEnum]) -> _Convert:
    def convert(value: Any) -> StrEnum:
        try:
            return kind(value)
        except ValueError:
            raise _Shape(f"one of {', '.join(m.value for m in kind)}") from None

    return convert


def _entity(kind: type[Entity]) -> _Convert:
    def convert(value: Any) -> Entity:
        if isinstance(value, kind):
            return value
        if not isinstance(value, Mapping):
            raise _Shape(f"a {kind.__name__} object")
        return kind.from_record(value)

    return convert


def _entity_list(kind: type[Entity]) -> _Convert:
    one = _entity(kind)

    def convert(value: Any) -> list[Entity]:
        if not isinstance(value, list | tuple):
            raise _Shape(f"a list of {kind.__name__}")
        return [one(item) for item in value]

    return convert


class _Never:
    """Matches no value: every value of the field goes through its converter."""


def _converter(hint: Any) -> tuple[type | tuple[type, ...], _Convert, int]:
    """What passes as it is, how anything else is converted, how to_record writes it back."""
    origin = typing.get_origin(hint)
    if hint is datetime:
        return datetime, _datetime, 0
    if hint is int:
        return int, _int, 0
    if hint is str:
        return str, _refuse("a string"), 0
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint, _enum(hint), 0
    if isinstance(hint, type) and issubclass(hint, Entity):
        return hint, _entity(hint), 1
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        if isinstance(item, type) and issubclass(item, Entity):
            return _Never, _entity_list(item), 2
        return list, _refuse("a list"), 0
    if origin is dict or hint is dict:
        return dict, _refuse("an object"), 0
    if hint is Any:
        return object, _refuse("a value"), 0
    raise TypeError(f"no record conversion for {hint!r}")  # a new field type: teach _converter


def _plan(cls: type[Entity]) -> tuple[_FieldPlan, ...]:
    hints = typing.get_type_hints(cls)
    plan = []
    for f in fields(cls):  # type: ignore[arg-type]  # every Entity subclass is a dataclass
        hint = hints[f.name]
        args = typing.get_args(hint)
        nullable = hint is Any or (typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in args)
        if nullable and hint is not Any:
            rest = [a for a in args if a is not type(None)]
            hint = rest[0] if len(rest) == 1 else Any
        expect, convert, dump = _converter(hint)
        required = f.default is MISSING and f.default_factory is MISSING
        plan.append(_FieldPlan(f.name, _camel(f.name), required, nullable, expect, convert, dump))
    return tuple(plan)


_ABSENT = object()


class Entity:
    """Base of the domain entities (each a ``@dataclass(kw_only=True)``): stored with camelCase
    attribute names, matching the key names of crosspost.resources."""

    # Built on first use and kept on each class: from_record/to_record never inspect types again.
    _record_plan: ClassVar[tuple[_FieldPlan, ...]]
    _dump_plan: ClassVar[tuple[tuple[str, str, int], ...]]  # (name, alias, dump) of each field

    @classmethod
    def _fields_plan(cls) -> tuple[_FieldPlan, ...]:
        plan: tuple[_FieldPlan, ...] | None = cls.__dict__.get("_record_plan")
        if plan is None:
            plan = _plan(cls)
            cls._dump_plan = tuple((f.name, f.alias, f.dump) for f in plan)
            cls._record_plan = plan
        return plan

    def to_record(self) -> dict[str, Any]:
        """camelCase keys, None left out at every entity level; nested entities become dicts;
        datetimes, enums and dict values stay as they are (``aws.items`` serialises them)."""
        plan = type(self).__dict__.get("_dump_plan")
        if plan is None:
            self._fields_plan()
            plan = type(self)._dump_plan
        record: dict[str, Any] = {}
        for name, alias, dump in plan:
            value = getattr(self, name)
            if value is None:
                continue
            if dump:
                value = value.to_record() if dump == 1 else [v.to_record() for v in value]
            record[alias] = value
        return record

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Self:
        """The entity from a stored record (camelCase keys; snake_case accepted too). Unknown keys
        (index keys such as ``createdKey``) are ignored. A missing required field or a value of
        the wrong shape raises ValueError naming the entity and field, never the value."""
        get = data.get
        values: dict[str, Any] = {}
        for name, alias, required, nullable, expect, convert, _ in cls._fields_plan():
            value = get(alias, _ABSENT)
            if value is _ABSENT:
                value = get(name, _ABSENT) if alias != name else _ABSENT
                if value is _ABSENT:
                    if required:
                        raise ValueError(f"{cls.__name__}.{alias} is required")
                    continue
            if value is None:
                if not nullable:
                    raise ValueError(f"{cls.__name__}.{alias} must not be null")
            elif not isinstance(value, expect):
                try:
                    value = convert(value)
                except _Shape as exc:
                    raise ValueError(f"{cls.__name__}.{alias} must be {exc}") from None
                except ValueError as exc:  # a nested entity's own message: which entity, which field
                    raise ValueError(f"{cls.__name__}.{alias}: {exc}") from None
            values[name] = value
        return cls(**values)


@dataclass(kw_only=True)
class Profile(Entity):
    id: str
    workspace_id: str
    name: str
    created_at: datetime


@dataclass(kw_only=True)
class ApiKey(Entity):
    id: str
    workspace_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(kw_only=True)
class LastError(Entity):
    message: str
    occurred_at: datetime
    code: str | None = None
    rule: str | None = None
    # What failed: "publish" or "refresh" (a refresh success clears only a refresh failure).
    source: str | None = None


@dataclass(kw_only=True)
class Account(Entity):
    id: str
    workspace_id: str
    profile_id: str
    platform: str
    platform_account_id: str
    username: str
    display_name: str | None = None
    profile_image_url: str | None = None
    profile_url: str | None = None
    created_at: datetime
    updated_at: datetime
    token_expires_at: datetime | None = None
    last_successful_post: datetime | None = None
    last_error: LastError | None = None
    platform_block: dict[str, Any] | None = None
    secret_name: str
    # When the token refresher should renew the tokens ahead of time (TokenSet.refresh_after);
    # None = never ahead of time. Only rows with a value are in the refresher's index.
    refresh_due_at: datetime | None = None
    # The short per-account refresh lease (DESIGN.md "Token refresh"): whoever holds an unexpired
    # one is refreshing the tokens, and nobody else may.
    refresh_lease_until: datetime | None = None
    refresh_lease_token: str | None = None


class PostStatus(StrEnum):
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.REJECTED, PostStatus.CANCELED)


@dataclass(kw_only=True)
class Warning_(Entity):
    code: str
    message: str


@dataclass(kw_only=True)
class PostError(Entity):
    code: str
    message: str
    rule: str | None = None
    platform_response: Any = None
    # What the user should do about it (publish.outcome_unknown: check the platform first).
    remediation: str | None = None


class MediaStatus(StrEnum):
    PENDING = "pending"  # a presigned upload not seen in S3 yet
    READY = "ready"
    FAILED = "failed"  # the uploaded object disagreed with what was declared (``error`` says how)


@dataclass(kw_only=True)
class MediaError(Entity):
    rule: str
    message: str


@dataclass(kw_only=True)
class Media(Entity):
    """An uploaded file (POST /v1/media, or a post's inline bytes), stored in the media bucket at
    ``object_key``. ``width``/``height`` where the header carries them."""

    id: str
    workspace_id: str
    kind: str  # "image" | "video"
    content_type: str
    size: int
    status: MediaStatus
    object_key: str
    created_at: datetime
    updated_at: datetime
    width: int | None = None
    height: int | None = None
    error: MediaError | None = None
    # While pending: when the row may be dropped (DynamoDB TTL, epoch seconds); None once settled.
    ttl: int | None = None


@dataclass(kw_only=True)
class PostMedia(Entity):
    """One attachment of a post. A post never holds bytes (a DynamoDB item is at most 400 KB):
    inline bytes are stored as media at create and only their ``media_id`` stays here. Stored
    media carry what the publisher needs without reading the media table: ``object_key`` and the
    type, size and dimensions checked at create. ``url`` media are fetched at publish."""

    kind: str
    media_id: str | None = None
    url: str | None = None
    # Only in rows written before media were stored separately; never written now.
    bytes_base64: str | None = None
    alt_text: str | None = None
    object_key: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass(kw_only=True)
class Post(Entity):
    id: str
    workspace_id: str
    profile_id: str
    account_id: str
    platform: str
    status: PostStatus
    text: str
    media: list[PostMedia] = field(default_factory=list)
    first_comment: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    uri: str | None = None
    cid: str | None = None
    url: str | None = None
    first_comment_uri: str | None = None
    first_comment_cid: str | None = None
    attempts: int = 0
    warnings: list[Warning_] = field(default_factory=list)
    error: PostError | None = None
    next_attempt_at: datetime | None = None
    # The claim of the publisher (or publish-now) that holds the post while `publishing`.
    claim_token: str | None = None
    lease_until: datetime | None = None
    # What the adapter left in PublishProgress.state while the platform is still processing (an
    # Instagram container, an X video upload); handed back as PublishRequest.progress so the next
    # attempt resumes instead of starting over. Kept across retries, cleared when the post ends.
    progress: dict[str, Any] | None = None

    @property
    def due_at(self) -> datetime:
        """When the post should next be attempted."""
        return self.next_attempt_at or self.scheduled_at or self.created_at


@dataclass(kw_only=True)
class OAuthState(Entity):
    """One started OAuth connect flow (DESIGN.md "Data": single-use, TTL 15 min)."""

    state: str
    workspace_id: str
    profile_id: str
    platform: str
    # The redirect_uri sent to the platform: the code is exchanged with the same value.
    redirect_uri: str
    # The app's redirectUri given at start: the browser callback redirects there when done.
    return_uri: str | None = None
    # PKCE (X): the verifier never leaves the server.
    code_verifier: str | None = field(default=None, repr=False)
    created_at: datetime
    expires_at: datetime


EXPIRING_SOON = timedelta(days=7)


@dataclass(frozen=True)
class TokenHealth:
    status: str
    expires_in: str | None


def token_health(expires_at: datetime | None, at: datetime) -> TokenHealth:
    """API.md tokenStatus / tokenExpiresIn."""
    if expires_at is None:
        return TokenHealth("unknown", None)
    remaining = expires_at - at
    if remaining <= timedelta(0):
        return TokenHealth("expired", "expired")
    status = "expiring_soon" if remaining < EXPIRING_SOON else "valid"
    hours = int(remaining.total_seconds() // 3600)
    if hours < 1:
        return TokenHealth(status, "< 1h")
    days, hours = divmod(hours, 24)
    return TokenHealth(status, f"{days}d {hours}h" if days else f"{hours}h")
