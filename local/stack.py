"""The embedded local stack: moto as AWS, the sandbox platforms, and the API Gateway, Scheduler and
SQS event-source emulators around the real handlers, all in this process, on 127.0.0.1.

    with LocalStack(StackConfig(state_file=Path("local.json"))) as stack:
        stack.info["baseUrl"], stack.info["apiKey"]

``start`` returns (and writes the connection file) only once every part answers requests; ``stop``
(or leaving the ``with``) stops every thread it started, removes the connection file and restores
the environment. Every start is clean: moto is reset and provisioned from ``crosspost.resources``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from crosspost.resources import DEAD_LETTERS, FUNCTIONS, PUBLISHER, Env
from local import connection
from local.apigw import ApiGateway
from local.aws import MotoServer, aws_client, aws_environment
from local.functions import FunctionHost, Handler
from local.provision import dlq_arn, dlq_url, provision, sandbox_platform_base_urls, seed_platform_apps
from local.rate_schedules import RateScheduleEmulator
from local.sandbox import SANDBOX_ACCOUNTS, start_sandbox
from local.scheduler import SchedulerEmulator
from local.sqs_source import SqsEventSource

READY_TIMEOUT_SECONDS = 30.0
LOCAL_RATE_LIMIT_PER_MINUTE = 100_000  # per API key; AWS defaults to 600 (crosspost.settings)
# Where a local connect flow may send the browser (redirectUri; README "Connecting accounts"):
# a web app in development on port 3000. REDIRECT_URI_ALLOW_LIST in the environment replaces it.
LOCAL_REDIRECT_URI_ALLOW_LIST = "http://localhost:3000/,http://127.0.0.1:3000/"


class StackError(RuntimeError):
    """The local stack could not start."""


def require_loopback(host: str) -> str:
    """Refuse to listen anywhere but on loopback: the stack runs with dummy credentials and an
    allow-list that trusts the sandbox's origin."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise StackError(f"--host must be an IPv4 loopback address such as 127.0.0.1, not {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise StackError(f"--host must be an IPv4 loopback address such as 127.0.0.1, not {host!r}")
    return host


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    api_port: int = 0  # 0: a free port (likewise below)
    sandbox_port: int = 0
    aws_port: int = 0
    state_file: Path | None = connection.DEFAULT_PATH  # None: write no connection file
    jitter: bool = False  # AWS-like Scheduler timing: fire up to 60 s after the scheduled time
    # How often rate-scheduled functions (the reconcile sweep) run; None: their own rate (minutes).
    rate_interval: float | None = None
    prefix: str = "crosspost-local"
    ready_timeout: float = READY_TIMEOUT_SECONDS  # how long every part has to answer
    # Stand-in handlers by function name (tests); the others are the real functions/*/handler.py.
    handlers: Mapping[str, Handler] = field(default_factory=dict)


def reset_runtime_caches() -> None:
    """Forget what crosspost read from the environment (settings, clients, wiring): the
    environment just changed. Imported here, after the environment is set, on purpose."""
    from crosspost.api.services import reset_services
    from crosspost.aws.clients import reset_clients
    from crosspost.composition import reset_dependencies
    from crosspost.settings import reset_settings

    reset_settings()
    reset_dependencies()
    reset_services()
    reset_clients()


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.info: dict[str, Any] = {}
        self.env: dict[str, str] = {}
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop everything started so far, newest first. Safe to call twice."""
        self._exit.close()

    def start(self) -> dict[str, Any]:
        """Start every part, wait until each answers, mint the first key; the connection info."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> dict[str, Any]:
        cfg = self.config
        host = require_loopback(cfg.host)
        later = self._exit.callback

        moto = MotoServer(host, cfg.aws_port).start()
        later(moto.stop)
        # From here on every boto3 client of this process (provision's, the handlers') talks to moto.
        later(_apply_environment(aws_environment(moto.url)))
        resources = provision(cfg.prefix, moto.url)

        sandbox = start_sandbox(host, cfg.sandbox_port)
        later(sandbox.stop)
        # The sandbox's OAuth apps, as an operator fills the secret after deploying.
        from local.sandbox.oauth import SANDBOX_APPS

        seed_platform_apps(resources, {name: dict(app) for name, app in SANDBOX_APPS.items()}, moto.url)

        functions = FunctionHost(cfg.handlers)
        gateway = ApiGateway(functions, address=host, port=cfg.api_port)  # bound: its URL is known
        later(gateway.stop)

        self.env = {
            **aws_environment(moto.url),
            **resources,
            Env.LOCAL_ALLOWED_ORIGINS.value: sandbox.url,  # the sandbox's origin (scheme://host:port)
            Env.BLUESKY_DEFAULT_SERVICE.value: sandbox.service_url("bluesky"),
            Env.PUBLIC_BASE_URL.value: gateway.url,
            # Every OAuth platform's hosts (API, authorize, token, uploads) are the sandbox's.
            Env.PLATFORM_BASE_URLS.value: sandbox_platform_base_urls(sandbox.url),
            Env.REDIRECT_URI_ALLOW_LIST.value: os.environ.get(Env.REDIRECT_URI_ALLOW_LIST.value)
            or LOCAL_REDIRECT_URI_ALLOW_LIST,
            # API.md: the per-key rate limit is high locally (scripts and the fuzz tests hammer it).
            Env.RATE_LIMIT_PER_MINUTE.value: str(LOCAL_RATE_LIMIT_PER_MINUTE),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Crosspost",
            Env.POWERTOOLS_SERVICE_NAME.value: "crosspost",
            # A proxy configured for the internet must not see calls between local parts.
            "NO_PROXY": _no_proxy(),
            "no_proxy": _no_proxy(),
        }
        later(reset_runtime_caches)  # on stop: after the environment is restored (callbacks run in reverse)
        later(_apply_environment(self.env))
        reset_runtime_caches()
        functions.preload(FUNCTIONS)  # the handlers' modules read the environment as they import

        gateway.start()
        scheduler = SchedulerEmulator(
            aws_client("scheduler", moto.url),
            aws_client("sqs", moto.url),
            [resources[Env.SCHEDULE_GROUP.value]],
            jitter=cfg.jitter,
        ).start()
        later(scheduler.stop)
        source = SqsEventSource(
            aws_client("sqs", moto.url),
            resources[Env.PUBLISH_QUEUE_URL.value],
            resources[Env.PUBLISH_QUEUE_ARN.value],
            lambda event: functions.invoke(PUBLISHER, event),
        ).start()
        later(source.stop)
        # The DLQ consumer, fed like the publisher (an empty DLQ is the normal case: poll it gently).
        dead_letters = SqsEventSource(
            aws_client("sqs", moto.url),
            dlq_url(resources),
            dlq_arn(resources),
            lambda event: functions.invoke(DEAD_LETTERS, event),
            idle_interval=1.0,
        ).start()
        later(dead_letters.stop)
        rate_schedules = RateScheduleEmulator(functions, FUNCTIONS, interval=cfg.rate_interval).start()
        later(rate_schedules.stop)

        _wait_ready(
            {
                "AWS (moto)": lambda: aws_client("dynamodb", moto.url).list_tables(),
                "sandbox": lambda: _get_ok(f"{sandbox.url}/_sandbox/health"),
                "API": lambda: _get_ok(f"{gateway.url}/v1/openapi.json"),
            },
            cfg.ready_timeout,
        )

        # Imported only now: crosspost's logger reads POWERTOOLS_* from the environment at import.
        from crosspost.admin import mint_workspace_key

        key = mint_workspace_key("local")
        self.info = {
            "baseUrl": gateway.url,
            "apiKey": key["apiKey"],
            "workspaceId": key["workspaceId"],
            "sandboxUrl": sandbox.url,
            "sandboxAccounts": {"bluesky": dict(SANDBOX_ACCOUNTS["bluesky"])},
            # Who may consent on each simulated OAuth platform (``sandbox_user`` on the authorize
            # URL picks one; the first is the default).
            "sandboxOAuthUsers": _sandbox_oauth_users(sandbox),
            "awsEndpointUrl": moto.url,
            "env": dict(resources),
            "pid": os.getpid(),
        }
        if cfg.state_file is not None:
            state_file = cfg.state_file
            connection.write(state_file, self.info)
            later(lambda: connection.remove(state_file))
        return self.info


def sandbox_oauth_providers(sandbox: Any) -> list[Any]:
    """Every ``OAuthProvider`` of the sandbox's platforms, once each (Facebook and Instagram share
    one through their common state)."""
    from local.sandbox.oauth import OAuthProvider

    found: dict[int, OAuthProvider] = {}
    for platform in sandbox.sandbox.platforms.values():
        for value in vars(platform).values():
            nested = vars(value).values() if hasattr(value, "__dict__") else ()
            for candidate in (value, *nested):
                if isinstance(candidate, OAuthProvider):
                    found[id(candidate)] = candidate
    return list(found.values())


def _sandbox_oauth_users(sandbox: Any) -> dict[str, list[str]]:
    return {provider.platform: list(provider.users) for provider in sandbox_oauth_providers(sandbox)}


def _no_proxy() -> str:
    existing = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    return ",".join(filter(None, ["127.0.0.1", "localhost", existing]))


def _apply_environment(values: Mapping[str, str]) -> Callable[[], None]:
    """Set ``values`` in os.environ (the in-process handlers read it); returns the undo."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)

    def restore() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return restore


def _get_ok(url: str) -> None:
    with httpx.Client(trust_env=False, timeout=5) as client:
        client.get(url).raise_for_status()


def _wait_ready(checks: Mapping[str, Callable[[], Any]], timeout: float) -> None:
    """Return once every check passes; StackError naming the first part that never answered."""
    deadline = time.monotonic() + timeout
    for name, check in checks.items():
        while True:
            try:
                check()
                break
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise StackError(f"the local {name} did not answer within {timeout:.0f} s: {exc}") from exc
                time.sleep(0.1)
