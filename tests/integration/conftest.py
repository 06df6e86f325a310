"""Integration fixtures: moto as AWS (mock_aws), resources from the CDK's own definitions,
the Bluesky sandbox on 127.0.0.1, and a captured log stream to check for secrets."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from moto import mock_aws

from crosspost.api.services import reset_services
from crosspost.aws.clients import reset_clients
from crosspost.composition import reset_dependencies
from crosspost.settings import reset_settings
from local.provision import provision, sandbox_platform_base_urls, seed_platform_apps
from tests.integration.harness import ApiClient, QueueDriver


def _reset_caches() -> None:
    reset_settings()
    reset_dependencies()
    reset_services()
    reset_clients()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with mock_aws():
        env = provision(prefix="crosspost-test")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("PLATFORM_TIMEOUT_SECONDS", "3")
        _reset_caches()
        yield env
    _reset_caches()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    from local.sandbox.server import start_sandbox

    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def with_sandbox(aws: dict[str, str], sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """AWS plus the sandbox, with the local-only allow-list naming the sandbox's origin, every
    OAuth platform pointed at the sandbox and the sandbox's apps in the platform apps secret."""
    from local.sandbox.oauth import SANDBOX_APPS

    url = sandbox.url  # type: ignore[attr-defined]
    parts = urlsplit(url)
    monkeypatch.setenv("LOCAL_ALLOWED_ORIGINS", f"{parts.scheme}://{parts.netloc}")
    monkeypatch.setenv("BLUESKY_DEFAULT_SERVICE", f"{url}/bluesky")
    monkeypatch.setenv("PLATFORM_BASE_URLS", sandbox_platform_base_urls(url))
    seed_platform_apps(aws, {name: dict(app) for name, app in SANDBOX_APPS.items()})
    _reset_caches()
    import httpx

    httpx.post(f"{url}/_sandbox/reset")
    return sandbox


@pytest.fixture
def workspace(aws: dict[str, str]) -> dict[str, str]:
    from crosspost.admin import mint_workspace_key

    return mint_workspace_key("test")


@pytest.fixture
def api(workspace: dict[str, str]) -> ApiClient:
    return ApiClient(workspace["apiKey"])


@pytest.fixture
def queue(aws: dict[str, str]) -> QueueDriver:
    return QueueDriver(aws)
