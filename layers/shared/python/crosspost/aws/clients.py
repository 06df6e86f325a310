"""boto3 clients, created once per process and reused (client creation costs ~10–50 ms).

boto3 honours AWS_ENDPOINT_URL itself, so the local stack points every client at moto without
code here knowing about it. ``reset_clients`` exists for tests that start a fresh moto.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                found = boto3.session.Session().client(service, config=_CONFIG)
                _clients[service] = found
    return found


def reset_clients() -> None:
    with _lock:
        _clients.clear()
