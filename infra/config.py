"""Deployment settings read from CDK context (cdk.json, ``cdk -c key=value``) and the environment.

Only deployment choices live here; resource names, keys and permissions come from
``crosspost.resources``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Node

from crosspost.resources import Env

DEFAULT_STACK_NAME = "Crosspost"
STACK_NAME_ENV_VAR = "CROSSPOST_STACK_NAME"

# Context keys (cdk.json "context").
CTX_STACK_NAME = "crosspost:stackName"
CTX_STAGE = "crosspost:stage"
CTX_LOG_RETENTION = "crosspost:logRetention"  # a logs.RetentionDays name, e.g. "ONE_MONTH"
CTX_THROTTLE_RATE = "crosspost:apiThrottleRateLimit"
CTX_THROTTLE_BURST = "crosspost:apiThrottleBurstLimit"
CTX_ALARM_TOPIC_ARN = "crosspost:alarmTopicArn"
CTX_ENVIRONMENT = "crosspost:environment"

# Variables the stack derives from its own resources, or that only the local stack and the
# tests may set: the operator's "crosspost:environment" context cannot override them.
RESERVED_ENV: frozenset[str] = frozenset(
    {
        Env.STAGE,
        Env.ACCOUNTS_TABLE,
        Env.POSTS_TABLE,
        Env.WORKSPACES_TABLE,
        Env.API_KEYS_TABLE,
        Env.OAUTH_STATES_TABLE,
        Env.IDEMPOTENCY_TABLE,
        Env.RATE_LIMITS_TABLE,
        Env.PUBLISH_QUEUE_URL,
        Env.PUBLISH_QUEUE_ARN,
        Env.MEDIA_BUCKET,
        Env.SCHEDULE_GROUP,
        Env.SCHEDULER_ROLE_ARN,
        Env.SECRETS_PREFIX,
        Env.PLATFORM_APPS_SECRET,
        # local stack only: every platform host replaced by the sandbox
        Env.PLATFORM_BASE_URLS,
        Env.LOCAL_ALLOWED_ORIGINS,
        Env.FAULT_INJECTION,
        Env.AWS_ENDPOINT_URL,
        Env.POWERTOOLS_SERVICE_NAME,
    }
)

# CloudFormation stack names: a letter, then letters, digits and hyphens.
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,100}$")


def stack_name_from(node: Node, environ: Mapping[str, str] | None = None) -> str:
    """``-c crosspost:stackName=...`` wins over $CROSSPOST_STACK_NAME, then "Crosspost"."""
    env = os.environ if environ is None else environ
    name = node.try_get_context(CTX_STACK_NAME) or env.get(STACK_NAME_ENV_VAR) or DEFAULT_STACK_NAME
    if not isinstance(name, str) or not _STACK_NAME.match(name):
        raise ValueError(f"invalid stack name {name!r}: a letter, then letters, digits and hyphens")
    return name


@dataclass(frozen=True)
class CrosspostConfig:
    """Operator choices for one deployment; defaults suit a first deploy."""

    stage: str = "prod"
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    throttle_rate_limit: float = 50.0
    throttle_burst_limit: int = 100
    alarm_topic_arn: str | None = None
    # Extra settings for every function (REDIRECT_URI_ALLOW_LIST, SCHEDULE_LEAD_SECONDS, ...).
    extra_environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_context(cls, node: Node) -> CrosspostConfig:
        defaults = cls()

        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            return default if value is None or value == "" else value

        return cls(
            stage=str(get(CTX_STAGE, defaults.stage)),
            log_retention=_retention(str(get(CTX_LOG_RETENTION, defaults.log_retention.name))),
            throttle_rate_limit=float(get(CTX_THROTTLE_RATE, defaults.throttle_rate_limit)),
            throttle_burst_limit=int(get(CTX_THROTTLE_BURST, defaults.throttle_burst_limit)),
            alarm_topic_arn=get(CTX_ALARM_TOPIC_ARN, None),
            extra_environment=_extra_environment(get(CTX_ENVIRONMENT, {})),
        )


def _retention(name: str) -> logs.RetentionDays:
    try:
        return logs.RetentionDays[name]
    except KeyError:
        allowed = [r.name for r in logs.RetentionDays]
        raise ValueError(f"{CTX_LOG_RETENTION}={name!r} is not one of {allowed}") from None


def _extra_environment(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{CTX_ENVIRONMENT} must be an object of variable name → value")
    known = {e.value for e in Env}
    result: dict[str, str] = {}
    for key, value in raw.items():
        if key not in known:
            raise ValueError(f"{CTX_ENVIRONMENT}: {key!r} is not a crosspost setting (crosspost.resources.Env)")
        if key in RESERVED_ENV:
            raise ValueError(f"{CTX_ENVIRONMENT}: {key!r} is set by the stack itself")
        # Lists (REDIRECT_URI_ALLOW_LIST) are comma separated in the environment.
        result[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return result
