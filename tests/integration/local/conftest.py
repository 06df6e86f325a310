"""Fixtures for the local stack's emulator tests: moto's server on a free port, small queues and
schedule groups made per test (fast, and no test sees another's messages)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.aws import MotoServer, aws_client
from tests.integration.local.queues import Queue, create_queue


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = MotoServer().start()
    yield server.url
    server.stop()


@pytest.fixture
def sqs(moto_url: str) -> Any:
    return aws_client("sqs", moto_url)


@pytest.fixture
def scheduler_client(moto_url: str) -> Any:
    return aws_client("scheduler", moto_url)


@pytest.fixture
def make_queue(sqs: Any) -> Callable[..., Queue]:
    """A fresh queue with its own DLQ: ``make_queue(visibility_timeout=1, max_receive_count=3)``."""

    def make(visibility_timeout: int = 30, max_receive_count: int = 5) -> Queue:
        return create_queue(sqs, f"q-{uuid.uuid4().hex[:12]}", visibility_timeout, max_receive_count)

    return make


@pytest.fixture
def schedule_group(scheduler_client: Any) -> str:
    name = f"g-{uuid.uuid4().hex[:12]}"
    scheduler_client.create_schedule_group(Name=name)
    return name
