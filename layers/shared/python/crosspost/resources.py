"""Every AWS resource crosspost uses, as plain Python data.

One source of truth for the CDK constructs (``infra/``) and the embedded local stack (``local/``):
table key schemas and indexes, queues, the schedule group, the bucket, the Lambda functions, the
HTTP routes each function serves and the environment variable that carries each resource's real
name at run time. Nothing here imports boto3 or CDK, so both sides can use it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Env(StrEnum):
    """Environment variable names read by ``crosspost.settings``."""

    STAGE = "CROSSPOST_STAGE"
    ACCOUNTS_TABLE = "ACCOUNTS_TABLE"
    POSTS_TABLE = "POSTS_TABLE"
    WORKSPACES_TABLE = "WORKSPACES_TABLE"
    API_KEYS_TABLE = "API_KEYS_TABLE"
    OAUTH_STATES_TABLE = "OAUTH_STATES_TABLE"
    IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
    RATE_LIMITS_TABLE = "RATE_LIMITS_TABLE"
    MEDIA_TABLE = "MEDIA_TABLE"
    PUBLISH_QUEUE_URL = "PUBLISH_QUEUE_URL"
    PUBLISH_QUEUE_ARN = "PUBLISH_QUEUE_ARN"
    MEDIA_BUCKET = "MEDIA_BUCKET"
    SCHEDULE_GROUP = "SCHEDULE_GROUP"
    SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
    SECRETS_PREFIX = "SECRETS_PREFIX"
    PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
    REDIRECT_URI_ALLOW_LIST = "REDIRECT_URI_ALLOW_LIST"
    LOCAL_ALLOWED_ORIGINS = "LOCAL_ALLOWED_ORIGINS"
    BLUESKY_DEFAULT_SERVICE = "BLUESKY_DEFAULT_SERVICE"
    PLATFORM_BASE_URLS = "PLATFORM_BASE_URLS"
    PLATFORM_APPS_SECRET = "PLATFORM_APPS_SECRET"
    SCHEDULE_LEAD_SECONDS = "SCHEDULE_LEAD_SECONDS"
    MAX_PUBLISH_ATTEMPTS = "MAX_PUBLISH_ATTEMPTS"
    PUBLISH_NOW_BUDGET_SECONDS = "PUBLISH_NOW_BUDGET_SECONDS"
    PUBLISH_LEASE_SECONDS = "PUBLISH_LEASE_SECONDS"
    RETRY_BASE_SECONDS = "RETRY_BASE_SECONDS"
    RETRY_MAX_SECONDS = "RETRY_MAX_SECONDS"
    API_KEY_CACHE_SECONDS = "API_KEY_CACHE_SECONDS"
    TOKEN_CACHE_SECONDS = "TOKEN_CACHE_SECONDS"
    RATE_LIMIT_PER_MINUTE = "RATE_LIMIT_PER_MINUTE"
    PLATFORM_TIMEOUT_SECONDS = "PLATFORM_TIMEOUT_SECONDS"
    SWEEP_GRACE_SECONDS = "SWEEP_GRACE_SECONDS"
    REFRESH_WINDOW_SECONDS = "REFRESH_WINDOW_SECONDS"
    REFRESH_CONCURRENCY = "REFRESH_CONCURRENCY"
    REFRESH_BATCH_MAX = "REFRESH_BATCH_MAX"
    REFRESH_LEASE_SECONDS = "REFRESH_LEASE_SECONDS"
    REFRESH_WAIT_SECONDS = "REFRESH_WAIT_SECONDS"
    FAULT_INJECTION = "CROSSPOST_FAULT_INJECTION"
    AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
    POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"


class AttrType(StrEnum):
    S = "S"
    N = "N"


@dataclass(frozen=True)
class Key:
    name: str
    type: AttrType = AttrType.S


@dataclass(frozen=True)
class Index:
    name: str
    partition: Key
    sort: Key | None = None


@dataclass(frozen=True)
class TableDef:
    """A DynamoDB table: on-demand, keys and global secondary indexes (all projecting ALL)."""

    logical_id: str
    env: Env
    partition: Key
    sort: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def physical_name(self, prefix: str) -> str:
        return f"{prefix}-{self.logical_id}"


# Access patterns (DESIGN.md "Data"), one table per entity so IAM can be granted per table.
WORKSPACES = TableDef(
    # A workspace and its profiles: pk = workspaceId, sk = "WORKSPACE" | "PROFILE#<id>".
    logical_id="Workspaces",
    env=Env.WORKSPACES_TABLE,
    partition=Key("pk"),
    sort=Key("sk"),
)
API_KEYS = TableDef(
    # pk = SHA-256 of the key (the lookup on every request); byWorkspace lists a workspace's keys
    # and finds one by id for revocation.
    logical_id="ApiKeys",
    env=Env.API_KEYS_TABLE,
    partition=Key("keyHash"),
    indexes=(Index("byWorkspace", Key("workspaceId"), Key("id")),),
)
ACCOUNTS = TableDef(
    logical_id="Accounts",
    env=Env.ACCOUNTS_TABLE,
    partition=Key("id"),
    indexes=(
        # list a workspace's accounts, oldest first (sk = createdAt#id)
        Index("byWorkspace", Key("workspaceId"), Key("createdKey")),
        # reconnect: one row per (workspace, platform, platformAccountId)
        Index("byPlatformAccount", Key("platformAccountKey")),
        # token refresher: sparse, only accounts renewed ahead of time carry refreshShard (one
        # shard: a refresh is due for a few accounts a minute at most), sorted by when it is due
        Index("byRefreshDue", Key("refreshShard"), Key("refreshDueAt")),
    ),
)
POSTS = TableDef(
    logical_id="Posts",
    env=Env.POSTS_TABLE,
    partition=Key("id"),
    indexes=(
        # post ids are post_<ULID>: sorting by id is sorting by creation time
        Index("byWorkspace", Key("workspaceId"), Key("id")),
        Index("byAccount", Key("accountId"), Key("id")),
        # sparse: only queued/publishing posts carry activeStatus; the reconcile sweep reads it
        Index("byActiveStatus", Key("activeStatus"), Key("dueAt")),
    ),
)
OAUTH_STATES = TableDef(
    logical_id="OAuthStates",
    env=Env.OAUTH_STATES_TABLE,
    partition=Key("state"),
    ttl_attribute="ttl",
)
IDEMPOTENCY = TableDef(
    # powertools' DynamoDBPersistenceLayer default schema
    logical_id="Idempotency",
    env=Env.IDEMPOTENCY_TABLE,
    partition=Key("id"),
    ttl_attribute="expiration",
)
RATE_LIMITS = TableDef(
    # Per-API-key request counters: pk = "<keyId>#<minute>", one conditional ADD per request
    # (crosspost.aws.rate_limits); items expire by TTL after their window.
    logical_id="RateLimits",
    env=Env.RATE_LIMITS_TABLE,
    partition=Key("pk"),
    ttl_attribute="ttl",
)
MEDIA = TableDef(
    # Uploaded media (POST /v1/media, and a post's inline bytes): pk = media id; the workspace is an
    # attribute checked on every read (media is only ever read by id). ``ttl`` is set only while an
    # upload is pending, so an upload that never arrives leaves no row behind.
    logical_id="Media",
    env=Env.MEDIA_TABLE,
    partition=Key("id"),
    ttl_attribute="ttl",
)
TABLES: tuple[TableDef, ...] = (WORKSPACES, API_KEYS, ACCOUNTS, POSTS, OAUTH_STATES, IDEMPOTENCY, RATE_LIMITS, MEDIA)


@dataclass(frozen=True)
class QueueDefs:
    publish_logical_id: str = "PublishQueue"
    dlq_logical_id: str = "PublishDLQ"
    # Every hold (early record) and every retry is a receive: room for attempts + holds.
    max_receive_count: int = 20
    # At least the publisher's timeout (DESIGN.md); CDK sets the function timeout from this too.
    visibility_timeout_seconds: int = 120
    dlq_retention_days: int = 14
    # At least the DLQ consumer's timeout (Lambda refuses an event source otherwise); a dead
    # letter whose post is still under a live lease comes back after this.
    dlq_visibility_timeout_seconds: int = 60

    def physical_names(self, prefix: str) -> tuple[str, str]:
        return f"{prefix}-{self.publish_logical_id}", f"{prefix}-{self.dlq_logical_id}"


QUEUES = QueueDefs()
PUBLISHER_TIMEOUT_SECONDS = 90
PUBLISHER_BATCH_SIZE = 10
MEDIA_BUCKET_LOGICAL_ID = "MediaBucket"
# Copies of media URLs fetched at publish, for platforms that fetch media themselves (a presigned
# GET valid one hour): kept a few days for a retry, then expired by a lifecycle rule.
MEDIA_COPIES_PREFIX = "posts/"
MEDIA_COPIES_DAYS = 7


def schedule_group_name(prefix: str) -> str:
    return f"{prefix}-schedules"


def secrets_prefix(prefix: str) -> str:
    return f"{prefix}/accounts/"


def platform_apps_secret_name(prefix: str) -> str:
    """The one secret holding every platform app's OAuth client (README "Platform apps"); outside
    the accounts' prefix, so a grant on account secrets never covers it."""
    return f"{prefix}/platform-apps"


class Access(StrEnum):
    """What a function may do with a resource; infra turns these into IAM grants."""

    READ = "read"
    WRITE = "read_write"
    # Only count into it: dynamodb:UpdateItem on the table, nothing else (the rate-limit counters).
    INCREMENT = "increment"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /v1/posts/{id}
    auth: bool = True


@dataclass(frozen=True)
class FunctionDef:
    """A Lambda function: its code folder under functions/, its routes and what it may touch."""

    name: str
    code_dir: str
    routes: tuple[Route, ...] = ()
    tables: dict[str, Access] = field(default_factory=dict)
    secrets: Access | None = None
    publish_queue: bool = False
    scheduler: bool = False
    media_bucket: Access | None = None
    memory_mb: int = 512
    timeout_seconds: int = 29
    # Consumes the publish queue's dead-letter queue (the DLQ consumer).
    dead_letter_queue: bool = False
    # Invoked on a rate schedule every this many minutes (EventBridge Scheduler; locally a timer).
    schedule_rate_minutes: int | None = None
    # Reads the platform apps secret (OAuth client ids/secrets): connects, exchanges, refreshes.
    platform_apps: bool = False


# Every authenticated route: look the API key up, and count the request against its rate limit.
_AUTH_TABLES = {
    API_KEYS.logical_id: Access.READ,
    WORKSPACES.logical_id: Access.READ,
    RATE_LIMITS.logical_id: Access.INCREMENT,
}

API_FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(
        name="connect",
        code_dir="api",
        routes=(
            Route("POST", "/v1/accounts/connect"),
            Route("POST", "/v1/accounts/connect/{platform}"),
        ),
        tables={
            **_AUTH_TABLES,
            ACCOUNTS.logical_id: Access.WRITE,
            OAUTH_STATES.logical_id: Access.WRITE,
        },
        secrets=Access.WRITE,
        platform_apps=True,
    ),
    FunctionDef(
        name="complete",
        code_dir="api",
        routes=(
            Route("POST", "/v1/accounts/connect/{platform}/complete"),
            Route("GET", "/v1/oauth/{platform}/callback", auth=False),
        ),
        tables={
            **_AUTH_TABLES,
            ACCOUNTS.logical_id: Access.WRITE,
            OAUTH_STATES.logical_id: Access.WRITE,
        },
        secrets=Access.WRITE,
        platform_apps=True,
    ),
    FunctionDef(
        name="accounts",
        code_dir="api",
        routes=(
            Route("GET", "/v1/accounts"),
            Route("GET", "/v1/accounts/{id}"),
            Route("DELETE", "/v1/accounts/{id}"),
        ),
        # disconnect deletes the account's secret and cancels its queued posts (and their schedules)
        tables={**_AUTH_TABLES, ACCOUNTS.logical_id: Access.WRITE, POSTS.logical_id: Access.WRITE},
        secrets=Access.WRITE,
        scheduler=True,
    ),
    FunctionDef(
        name="posts",
        code_dir="api",
        routes=(
            Route("POST", "/v1/posts"),
            Route("POST", "/v1/posts/validate"),
            Route("GET", "/v1/posts"),
            Route("GET", "/v1/posts/{id}"),
            Route("DELETE", "/v1/posts/{id}"),
            Route("PATCH", "/v1/posts/{id}"),
        ),
        tables={
            **_AUTH_TABLES,
            ACCOUNTS.logical_id: Access.WRITE,
            POSTS.logical_id: Access.WRITE,
            IDEMPOTENCY.logical_id: Access.WRITE,
            # a post's mediaId is looked up; its inline bytes are stored as a media row
            MEDIA.logical_id: Access.WRITE,
        },
        # publish-now: Bluesky sessions rotate, an auth-expired publish refreshes once
        secrets=Access.WRITE,
        platform_apps=True,
        publish_queue=True,
        scheduler=True,
        # inline bytes are stored as media objects; publish-now reads them, and stores a fetched
        # URL medium for platforms that fetch media themselves
        media_bucket=Access.WRITE,
    ),
    FunctionDef(
        name="media",
        code_dir="api",
        routes=(
            Route("POST", "/v1/media"),
            Route("GET", "/v1/media/{id}"),
        ),
        tables={**_AUTH_TABLES, MEDIA.logical_id: Access.WRITE},
        # inline bytes are written here; presigned PUTs are signed with this role's PutObject;
        # GET of a pending upload reads its head (and deletes an upload that failed the checks)
        media_bucket=Access.WRITE,
    ),
    FunctionDef(
        name="profiles",
        code_dir="api",
        routes=(
            Route("POST", "/v1/profiles"),
            Route("GET", "/v1/profiles"),
            Route("GET", "/v1/profiles/{id}"),
            Route("DELETE", "/v1/profiles/{id}"),
            Route("POST", "/v1/api-keys"),
            Route("GET", "/v1/api-keys"),
            Route("DELETE", "/v1/api-keys/{id}"),
            Route("GET", "/v1/openapi.json", auth=False),
            Route("GET", "/docs", auth=False),
        ),
        tables={
            API_KEYS.logical_id: Access.WRITE,
            WORKSPACES.logical_id: Access.WRITE,
            ACCOUNTS.logical_id: Access.READ,
            RATE_LIMITS.logical_id: Access.INCREMENT,
        },
    ),
)

PUBLISHER = FunctionDef(
    name="publisher",
    code_dir="publisher",
    tables={ACCOUNTS.logical_id: Access.WRITE, POSTS.logical_id: Access.WRITE},
    secrets=Access.WRITE,
    platform_apps=True,
    publish_queue=True,
    # a post carries its media's stored key, type and size (no media-table read): the publisher reads
    # the objects, and stores a fetched URL medium for platforms that fetch media themselves
    media_bucket=Access.WRITE,
    memory_mb=1024,
    timeout_seconds=PUBLISHER_TIMEOUT_SECONDS,
)

SWEEPER = FunctionDef(
    # The reconcile sweep (DESIGN.md): finds lost queued posts and expired leases through the
    # byActiveStatus index and hands them back to the publisher through the queue. It never
    # writes a post nor calls a platform: the publisher's claim and take-over decide.
    name="sweeper",
    code_dir="sweeper",
    tables={POSTS.logical_id: Access.READ},
    publish_queue=True,
    schedule_rate_minutes=1,
    memory_mb=256,
    timeout_seconds=60,
)

DEAD_LETTERS = FunctionDef(
    # The DLQ consumer: a record that exhausted its receives ends its post (DESIGN.md
    # "Publisher"), after looking the post up on the platform where the platform allows.
    name="dlq",
    code_dir="dlq",
    tables={ACCOUNTS.logical_id: Access.WRITE, POSTS.logical_id: Access.WRITE},
    # the look-up uses the account's session; Bluesky sessions rotate when refreshed
    secrets=Access.WRITE,
    platform_apps=True,
    dead_letter_queue=True,
    timeout_seconds=30,
)

REFRESHER = FunctionDef(
    # The token refresher (DESIGN.md "Token refresh"): renews the tokens of accounts whose
    # refreshDueAt is near (the byRefreshDue index), under the per-account refresh lease.
    name="refresher",
    code_dir="refresher",
    tables={ACCOUNTS.logical_id: Access.WRITE},
    secrets=Access.WRITE,
    platform_apps=True,
    schedule_rate_minutes=15,
    memory_mb=512,
    timeout_seconds=300,
)

FUNCTIONS: tuple[FunctionDef, ...] = (*API_FUNCTIONS, PUBLISHER, SWEEPER, DEAD_LETTERS, REFRESHER)


def route_table() -> dict[tuple[str, str], FunctionDef]:
    """(method, API Gateway path) → the function that serves it."""
    return {(r.method, r.path): fn for fn in API_FUNCTIONS for r in fn.routes}
