"""End-to-end fixtures: one local stack process per test session (per xdist worker), reached over
HTTP only, exactly as a client of the README would; each test module works in its own workspace."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e import stack_process
from tests.e2e.helpers import RunningStack, client


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    folder = tmp_path_factory.mktemp("local-stack")
    state_file, log_file = folder / "local.json", folder / "stack.log"
    process = stack_process.start(state_file, log_file)
    try:
        info = stack_process.wait_until_ready(process, state_file, log_file)
        yield RunningStack(info, state_file)
    finally:
        code = stack_process.stop(process)
    assert code == 0, stack_process.log_tail(log_file)
    assert not state_file.exists(), "the stack left its connection file behind"


@pytest.fixture(scope="module")
def workspace(local_stack: RunningStack) -> dict[str, str]:
    """A fresh workspace for this module (``make key``), so modules sharing a stack stay apart."""
    return stack_process.mint_key(local_stack.state_file)


@pytest.fixture(scope="module")
def api(local_stack: RunningStack, workspace: dict[str, str]) -> Iterator[httpx.Client]:
    with client(local_stack.base_url, workspace["apiKey"]) as http:
        yield http


@pytest.fixture(scope="module")
def sandbox(local_stack: RunningStack) -> Iterator[httpx.Client]:
    with client(local_stack.sandbox_url, None) as http:
        yield http


@pytest.fixture(scope="module")
def first_connect(api: httpx.Client, local_stack: RunningStack) -> httpx.Response:
    """The module workspace's first connect of the sandbox's Bluesky account."""
    return api.post("/v1/accounts/connect", json={"platform": "bluesky", "credentials": local_stack.bluesky})


@pytest.fixture(scope="module")
def account_id(first_connect: httpx.Response) -> str:
    assert first_connect.status_code in (200, 201), first_connect.text
    return str(first_connect.json()["id"])
