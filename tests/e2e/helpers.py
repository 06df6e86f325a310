"""What the end-to-end tests share: the running stack's coordinates and small HTTP helpers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class RunningStack:
    info: dict[str, Any]
    state_file: Path

    @property
    def base_url(self) -> str:
        return str(self.info["baseUrl"])

    @property
    def sandbox_url(self) -> str:
        return str(self.info["sandboxUrl"])

    @property
    def bluesky(self) -> dict[str, str]:
        return dict(self.info["sandboxAccounts"]["bluesky"])


def client(base_url: str, api_key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30, trust_env=False)


def iso_in(seconds: float) -> str:
    """A timestamp ``seconds`` from now, as the contract writes them (ms, Z)."""
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def unique_text(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}"


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    """Poll ``check`` until it returns something truthy; that value (or AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {timeout} s (last: {value!r})")
        time.sleep(interval)


def sandbox_records(sandbox: httpx.Client, text: str) -> list[dict[str, Any]]:
    """What the simulated Bluesky holds with this exact text."""
    response = sandbox.get("/_sandbox/bluesky/posts")
    assert response.status_code == 200
    return [p for p in response.json()["posts"] if p["record"].get("text") == text]
