"""The contract suite's fixtures: one sandbox for the session (reset before every test), one
parameter per registered adapter, and a driver that runs a check against that adapter.

Each check runs in its own event loop (``asyncio.run``) with a fresh crosspost HTTP client
(``new_client``: the SSRF guard with the sandbox's origin allowed, a short timeout)."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any, Final, TypeVar

import httpx
import pytest
from ulid import ULID

from crosspost.errors import PlatformError
from crosspost.platforms.base import (
    AppCredentials,
    ConnectedAccount,
    PlatformAdapter,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.http import new_client
from crosspost.platforms.registry import adapter_for, registered_platforms
from local.sandbox import SandboxServer, start_sandbox
from local.sandbox.oauth import SANDBOX_APPS
from tests.integration.contract.case import Connection, ContractCase

# Short, so the timeout check is quick; the sandbox holds a "timeout" call longer than this.
CLIENT_TIMEOUT_SECONDS: Final = 2.0
HOLD_SECONDS: Final = 3.0
# How long publish may wait for platform-side processing per attempt, and how many attempts a
# PublishProgress loop gets before the check gives up.
PUBLISH_WAIT_SECONDS: Final = 5.0
MAX_ATTEMPTS: Final = 20

T = TypeVar("T")


def load_case(platform: str) -> ContractCase:
    try:
        module = importlib.import_module(f"tests.integration.contract.cases.{platform}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.integration.contract.cases.{platform}":
            raise
        pytest.fail(
            f"'{platform}' is registered but has no contract case: add tests/integration/contract/cases/{platform}.py "
            "exporting CASE = ContractCase(...) (see tests/integration/contract/case.py)",
            pytrace=False,
        )
    case = getattr(module, "CASE", None)
    assert isinstance(case, ContractCase), f"cases/{platform}.py must export CASE = ContractCase(...)"
    assert case.platform == platform, f"cases/{platform}.py describes '{case.platform}'"
    return case


def sandbox_config(platform: str, base_url: str) -> PlatformConfig:
    app = SANDBOX_APPS.get(platform)
    if app is None:  # Bluesky: no OAuth client
        return PlatformConfig(base_url=base_url)
    credentials = AppCredentials(client_id=app["clientId"], client_secret=app["clientSecret"])
    return PlatformConfig(base_url=base_url, load_app=lambda: credentials)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def secrets_of(tokens: TokenSet, conn: Connection) -> list[str]:
    """What must never appear in an error: the tokens, secret-looking extras, the app secret."""
    found = [tokens.access_token, tokens.refresh_token or ""]
    for key, value in tokens.extra.items():
        if isinstance(value, str) and any(word in key.lower() for word in ("password", "secret", "token")):
            found.append(value)
    app = SANDBOX_APPS.get(conn.platform)
    if app is not None:
        found.append(app["clientSecret"])
    return [s for s in found if len(s) >= 6]


class Session:
    """One check's run: the connection, the case, and the steps the checks are made of."""

    def __init__(self, case: ContractCase, conn: Connection) -> None:
        self.case = case
        self.conn = conn
        self.account_block: dict[str, Any] = {}
        self.tokens: TokenSet | None = None
        # The request of the latest attempt (with the progress the attempt before it left).
        self.last_request: PublishRequest | None = None

    @property
    def platform(self) -> str:
        return self.case.platform

    def adapter(self, conn: Connection | None = None) -> PlatformAdapter:
        use = conn or self.conn
        return adapter_for(self.platform, use.http, use.config)

    async def connect(self) -> TokenSet:
        got = await self.case.connect(self.conn)
        if isinstance(got, ConnectedAccount):
            self.account_block = dict(got.platform_block or {})
            got = got.tokens
        assert isinstance(got, TokenSet), "connect must return a TokenSet or a ConnectedAccount"
        assert got.access_token, "connect returned no access token"
        self.tokens = got
        return got

    def new_request(self) -> PublishRequest:
        request = self.case.request(str(ULID()), self.conn)
        assert isinstance(request, PublishRequest)
        if not request.account_block and self.account_block:
            request = replace(request, account_block=self.account_block)
        return request

    async def publish(
        self, tokens: TokenSet, request: PublishRequest, *, adapter: PlatformAdapter | None = None
    ) -> PublishResult:
        """Publish, calling again with the state of each ``PublishProgress`` until a result."""
        adapter = adapter or self.adapter()
        progress = request.progress
        for _ in range(MAX_ATTEMPTS):
            attempt = replace(request, progress=progress, deadline=time.monotonic() + PUBLISH_WAIT_SECONDS)
            self.last_request = attempt
            outcome = await adapter.publish(tokens, attempt)
            if isinstance(outcome, PublishResult):
                return outcome
            assert isinstance(outcome, PublishProgress), f"publish returned {type(outcome).__name__}"
            assert outcome.check_after >= 0
            progress = outcome.state
            await asyncio.sleep(min(outcome.check_after, 0.5))
        pytest.fail(f"{self.platform}: publish still in progress after {MAX_ATTEMPTS} attempts")

    async def publish_error(self, tokens: TokenSet, request: PublishRequest, **kwargs: Any) -> PlatformError:
        """The ``PlatformError`` a publish must end in (fails the check if it succeeds)."""
        try:
            result = await self.publish(tokens, request, **kwargs)
        except PlatformError as exc:
            self.assert_no_secrets(exc, tokens)
            return exc
        pytest.fail(f"{self.platform}: publish succeeded ({result.uri}) where it had to fail")

    def assert_no_secrets(self, exc: PlatformError, tokens: TokenSet) -> None:
        shown = " ".join([str(exc), repr(exc), exc.remediation or "", json.dumps(exc.platform_response, default=str)])
        for secret in secrets_of(tokens, self.conn):
            assert secret not in shown, f"{self.platform}: a token or secret appears in {type(exc).__name__}"

    async def fault(self, **spec: Any) -> None:
        """A sandbox fault aimed at the call that creates the post."""
        spec.setdefault("after", self.case.creating_call_offset)
        response = await self.conn.http.post(f"{self.conn.sandbox_url}/_sandbox/{self.platform}/faults", json=spec)
        assert response.status_code == 200, response.text

    async def posts(self) -> list[dict[str, Any]]:
        response = await self.conn.http.get(f"{self.conn.sandbox_url}/_sandbox/{self.platform}/posts")
        response.raise_for_status()
        posts: list[dict[str, Any]] = response.json()["posts"]
        return posts

    async def matching(self, result: PublishResult) -> list[dict[str, Any]]:
        return [record for record in await self.posts() if self.case.record_matches(record, result)]


def connection(platform: str, sandbox_url: str, http: httpx.AsyncClient, base_url: str | None = None) -> Connection:
    return Connection(
        platform=platform,
        sandbox_url=sandbox_url,
        config=sandbox_config(platform, base_url or f"{sandbox_url}/{platform}"),
        http=http,
    )


def origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


class ContractDriver:
    """Runs checks of one platform: ``driver.run(lambda s: ...)`` gets a fresh ``Session``."""

    def __init__(self, case: ContractCase, sandbox_url: str) -> None:
        self.case = case
        self.sandbox_url = sandbox_url

    def client(self, *extra_origins: str) -> httpx.AsyncClient:
        return new_client(CLIENT_TIMEOUT_SECONDS, allowed_origins=(origin(self.sandbox_url), *extra_origins))

    def connection(self, http: httpx.AsyncClient, base_url: str | None = None) -> Connection:
        return connection(self.case.platform, self.sandbox_url, http, base_url)

    def run(self, check: Callable[[Session], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.client() as http:
                return await check(Session(self.case, self.connection(http)))

        return asyncio.run(go())


@pytest.fixture(scope="session")
def contract_sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture(params=registered_platforms())
def platform(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def case(platform: str) -> ContractCase:
    return load_case(platform)


@pytest.fixture
def contract(case: ContractCase, contract_sandbox: SandboxServer) -> ContractDriver:
    httpx.post(f"{contract_sandbox.url}/_sandbox/reset", timeout=5).raise_for_status()
    return ContractDriver(case, contract_sandbox.url)
