"""boto3 clients, created once per process and reused (client creation costs ~10–50 ms).

boto3 honours AWS_ENDPOINT_URL itself, so the local stack points every client at moto without
code here knowing about it. ``reset_clients`` exists for tests that start a fresh moto.

Cold start (bench/cold_start.py): every client comes from one session, whose botocore data
loader skips two costs that buy crosspost nothing:
- before loading a model, botocore lists every service directory it ships (~450: a listdir and
  a few stats each, ~10 ms per model type, paid again by every new session) only to check that
  the requested name is one of them; here the check looks at that service's directory alone;
- it parses its JSON data (endpoints.json is 1.2 MB) into ``OrderedDict``s; plain dicts keep
  the same order (Python 3.7+) and parse about twice as fast.
The models, endpoints and everything botocore does with them are unchanged.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader
from botocore.session import Session as BotocoreSession

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
# Presigned S3 URLs must be SigV4: only it binds Content-Type and Content-Length into a presigned PUT
# (botocore still presigns SigV2 on us-east-1's global endpoint by default).
_SERVICE_CONFIG = {"s3": _CONFIG.merge(Config(signature_version="s3v4"))}
_clients: dict[str, Any] = {}
_session: boto3.session.Session | None = None
_lock = threading.Lock()


class _PlainJSONFileLoader(JSONFileLoader):  # type: ignore[misc]
    def _load_file(self, full_path: str, open_method: Any) -> Any:
        try:
            with open_method(full_path, "rb") as fp:
                payload = fp.read().decode("utf-8")
        except FileNotFoundError:
            return None
        return json.loads(payload)


class _Loader(Loader):  # type: ignore[misc]
    """botocore's loader, answering "is this a service?" from the service's own directory."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, file_loader=_PlainJSONFileLoader(), **kwargs)
        self._asked = threading.local()

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        self._asked.name = service_name
        try:
            return super().load_service_model(service_name, type_name, api_version)
        finally:
            self._asked.name = None

    def list_available_services(self, type_name: str) -> list[str]:
        # Only load_service_model asks, to check the name it is about to load.
        name = getattr(self._asked, "name", None)
        if name is not None:
            try:
                self.list_api_versions(name, type_name)
            except DataNotFoundError:
                pass
            else:
                return [name]
        services: list[str] = super().list_available_services(type_name)
        return services


def _new_session() -> boto3.session.Session:
    core = BotocoreSession()
    # what botocore's own 'data_loader' factory (botocore.loaders.create_loader) does, with the
    # loader above: AWS_DATA_PATH still adds search paths
    data_path = core.get_config_variable("data_path")
    paths = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else None
    core.register_component("data_loader", _Loader(extra_search_paths=paths))
    return boto3.session.Session(botocore_session=core)


def client(service: str) -> Any:
    global _session
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                if _session is None:
                    _session = _new_session()
                found = _session.client(service, config=_SERVICE_CONFIG.get(service, _CONFIG))
                _clients[service] = found
    return found


def reset_clients() -> None:
    global _session
    with _lock:
        _clients.clear()
        _session = None
