"""Platform apps' OAuth clients, from one Secrets Manager secret (README "Platform apps").

The secret is JSON: ``{"twitter": {"clientId": "...", "clientSecret": "..."}, ...}``. It is read on
first use and kept for a few minutes, so a publish that needs no refresh never reads it and a
burst of connects reads it once.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from crosspost.aws.clients import client
from crosspost.platforms.base import AppCredentials, PlatformNotConfiguredError


class AppCredentialStore:
    def __init__(self, secret_name: str, cache_seconds: float = 300.0) -> None:
        self.secret_name = secret_name
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def _all(self) -> dict[str, Any]:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            if not self.secret_name:
                raise PlatformNotConfiguredError("no platform apps secret is configured")
            try:
                raw = client("secretsmanager").get_secret_value(SecretId=self.secret_name)["SecretString"]
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                raise PlatformNotConfiguredError(f"the platform apps secret cannot be read ({code})") from None
            try:
                data = json.loads(raw)
            except ValueError:
                raise PlatformNotConfiguredError("the platform apps secret is not JSON") from None
            if not isinstance(data, dict):
                raise PlatformNotConfiguredError("the platform apps secret is not a JSON object")
            self._cached = (time.monotonic(), data)
            return data

    def get(self, platform: str) -> AppCredentials:
        entry = self._all().get(platform)
        if not isinstance(entry, dict):
            raise PlatformNotConfiguredError(f"no app credentials for {platform}")
        client_id, client_secret = entry.get("clientId"), entry.get("clientSecret")
        if not (isinstance(client_id, str) and client_id and isinstance(client_secret, str) and client_secret):
            raise PlatformNotConfiguredError(f"the app credentials for {platform} need clientId and clientSecret")
        return AppCredentials(client_id=client_id, client_secret=client_secret)

    def forget(self) -> None:
        with self._lock:
            self._cached = None
