"""Typed settings, read from environment variables once per process.

Every environment variable crosspost reads is named in ``crosspost.resources.Env`` and read
here, nowhere else. Tests and the local stack set the variables and call ``reset_settings()``.

A frozen dataclass parsed by hand, not pydantic: every function loads settings at its cold start,
and the ones that have no other use for pydantic should not import it for this (issue #8).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from functools import lru_cache
from typing import Any

from crosspost.resources import Env


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _pairs(value: str) -> dict[str, str]:
    """ "twitter=http://...,facebook=http://..." → dict."""
    pairs = (item.partition("=") for item in _csv(value))
    return {name.strip(): url.strip() for name, _, url in pairs if name.strip() and url.strip()}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)  # "3.0" was accepted before; "3.5" was not
        if not number.is_integer():
            raise
        return int(number)


# How each declared field type is read from its variable's text (annotations are strings here).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "str | None": str,
    "int": _int,
    "float": float,
    "tuple[str, ...]": _csv,
    "dict[str, str]": _pairs,
}
_BOUNDS: tuple[tuple[str, str, Callable[[Any, Any], bool]], ...] = (
    ("gt", ">", operator.gt),
    ("ge", ">=", operator.ge),
    ("lt", "<", operator.lt),
    ("le", "<=", operator.le),
)


def _variable(name: str) -> str | None:
    """The environment variable of a field: ``Env[NAME]`` (``stage`` → CROSSPOST_STAGE); None for
    the fields no variable sets."""
    member = Env.__members__.get(name.upper())
    return member.value if member is not None else None


def _rule(f: Field[Any]) -> str:
    """What a numeric field accepts, for the error message (never the value: settings can be
    secrets' names and URLs)."""
    kind = "a whole number" if f.type == "int" else "a number"
    bounds = [f"{symbol} {f.metadata[key]}" for key, symbol, _ in _BOUNDS if key in f.metadata]
    return " ".join([kind, " and ".join(bounds)]) if bounds else kind


@dataclass(frozen=True, kw_only=True)
class Settings:
    stage: str = "dev"
    accounts_table: str
    posts_table: str
    workspaces_table: str
    api_keys_table: str
    oauth_states_table: str
    idempotency_table: str
    # Per-API-key request counters; empty (or rate_limit_per_minute 0) turns the limit off.
    rate_limits_table: str = ""
    publish_queue_url: str
    publish_queue_arn: str = ""
    media_bucket: str = ""
    # Media rows (POST /v1/media, inline bytes of posts); set in every function like every table.
    media_table: str = ""
    # A presigned upload (POST /v1/media without bytes) may declare up to this many bytes.
    media_max_upload_bytes: int = field(default=1024 * 1024 * 1024, metadata={"gt": 0})
    # A media URL fetched at publish: at most this many bytes (less where the platform's own limit
    # is lower), within this many seconds (every redirect and byte included).
    media_fetch_max_bytes: int = field(default=512 * 1024 * 1024, metadata={"gt": 0})
    media_fetch_timeout_seconds: float = field(default=20.0, metadata={"gt": 0})
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    secrets_prefix: str = "crosspost/accounts/"
    # The API's own public URL, used for the OAuth callback redirect_uri.
    public_base_url: str = ""
    # Where a connect flow may send the browser (exact origins+paths, prefix match).
    redirect_uri_allow_list: tuple[str, ...] = ()
    # Local stack only: origins (scheme://host:port) that pass the public-URL guard although they
    # are on loopback, so the sandbox can stand in for platforms. Always empty in AWS.
    local_allowed_origins: tuple[str, ...] = ()
    bluesky_default_service: str = "https://bsky.social"
    # Local stack only: platform -> base URL replacing every host of that platform (the sandbox,
    # "{sandbox}/{platform}"). Empty in AWS: the real hosts.
    platform_base_urls: dict[str, str] = field(default_factory=dict)
    # The Secrets Manager secret holding every platform app's OAuth client:
    # {"twitter": {"clientId": "...", "clientSecret": "..."}, ...} (README "Platform apps").
    platform_apps_secret: str = ""
    # Token refresher (DESIGN.md "Token refresh"): each run renews the accounts whose refreshDueAt
    # falls before now + this window; at least the run's rate (15 min), so none slips between runs.
    refresh_window_seconds: float = field(default=1800.0, metadata={"ge": 0})
    refresh_concurrency: int = field(default=8, metadata={"ge": 1, "le": 64})
    refresh_batch_max: int = field(default=500, metadata={"ge": 1})
    # The per-account refresh lease: longer than one refresh call (platform timeout) with room.
    refresh_lease_seconds: float = field(default=30.0, metadata={"gt": 0})
    # How long a caller that lost the lease waits for the winner's new token before giving up
    # with a retryable error.
    refresh_wait_seconds: float = field(default=8.0, metadata={"ge": 0})
    # Scheduling precision (DESIGN.md "Precision"): schedules fire this early, the publisher holds.
    schedule_lead_seconds: int = field(default=60, metadata={"ge": 0, "le": 600})
    max_publish_attempts: int = field(default=5, metadata={"ge": 1, "le": 15})
    publish_now_budget_seconds: float = field(default=20.0, metadata={"gt": 0})
    publish_lease_seconds: int = field(default=120, metadata={"ge": 10})
    # How long the publisher lets one record's platform work run before an adapter hands back
    # PublishProgress (PublishRequest.deadline): well under the publisher's 90 s timeout, leaving
    # room for the writes that follow. Publish-now uses what is left of publish_now_budget_seconds.
    publisher_work_seconds: float = field(default=60.0, metadata={"gt": 0})
    # Kept free at the end of a budget for the writes after the platform call.
    publish_deadline_margin_seconds: float = field(default=3.0, metadata={"ge": 0})
    retry_base_seconds: float = field(default=2.0, metadata={"gt": 0})
    retry_max_seconds: float = field(default=300.0, metadata={"gt": 0})
    api_key_cache_seconds: float = field(default=5.0, metadata={"ge": 0})
    token_cache_seconds: float = field(default=60.0, metadata={"ge": 0})
    # Requests per API key per minute, across every function (429 beyond); 0 = no limit.
    rate_limit_per_minute: int = field(default=600, metadata={"ge": 0})
    platform_timeout_seconds: float = field(default=10.0, metadata={"gt": 0})
    # Reconcile sweep: a queued post this far past its dueAt has lost its message. dueAt already
    # includes the backoff (nextAttemptAt) and holds end at dueAt, so this only has to cover what
    # may legitimately lag behind it (Scheduler window, queue backlog); a false alarm costs one
    # duplicate message, which the claim makes harmless.
    sweep_grace_seconds: float = field(default=300.0, metadata={"ge": 0})
    # Test-only fault hooks (comma separated names); production never sets it.
    fault_injection: tuple[str, ...] = ()
    aws_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        # the bounds hold however the settings were made (from_env or directly, as tests do)
        for f in fields(self):
            if f.type in ("int", "float"):
                value = getattr(self, f.name)
                if (
                    not isinstance(value, int | float)
                    or isinstance(value, bool)
                    or not all(check(value, f.metadata[key]) for key, _, check in _BOUNDS if key in f.metadata)
                ):
                    raise ValueError(f"{_variable(f.name) or f.name} must be {_rule(f)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Each field from its variable (see ``_variable``), parsed by its type: numbers, comma
        separated lists, "name=url,..." pairs. ValueError names the variable and the rule."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        missing: list[str] = []
        for f in fields(cls):
            variable = _variable(f.name)
            if variable is None or variable not in env:
                if variable is not None and f.default is MISSING and f.default_factory is MISSING:
                    missing.append(variable)
                continue
            try:
                values[f.name] = _PARSERS[str(f.type)](env[variable])
            except ValueError:
                raise ValueError(f"{variable} must be {_rule(f)}") from None  # float()'s message quotes the text
        if missing:
            raise ValueError(f"missing environment variables: {', '.join(missing)}")
        return cls(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
