"""SSRF through the API: the Bluesky ``service`` (a URL the server calls with the user's app
password) passes the public-URL guard at the edge and again at connect time, so a name that
rebinds in DNS between the two is still refused; the sandbox's origin passes only because the
local-only allow-list names it."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from crosspost.platforms import safe_http
from crosspost.services import url_guard
from local.sandbox import bluesky as sandbox_bluesky
from tests.integration.harness import ApiClient


def connect(api: ApiClient, service: str) -> Any:
    credentials = {"handle": sandbox_bluesky.SEED_HANDLE, "appPassword": sandbox_bluesky.SEED_APP_PASSWORD}
    return api.post("/v1/accounts/connect", {"platform": "bluesky", "credentials": credentials, "service": service})


@pytest.mark.parametrize(
    "service",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254",
        "https://[::ffff:169.254.169.254]",
        "https://[fd00:ec2::254]",
        "https://2130706433",
        "https://0x7f.1",
        "https://localhost",
        "https://10.0.0.1:8443",
        "https://100.64.0.1",
        "https://8.8.8.8\\@127.0.0.1",
        "https://user:pass@8.8.8.8",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "https://nonexistent.invalid",
    ],
)
def test_given_a_hostile_service_then_connect_is_refused_before_any_call(
    api: ApiClient, with_sandbox: Any, service: str
) -> None:
    response = connect(api, service)
    error = response.json["error"]
    assert (response.status, error["code"], error["rule"]) == (400, "validation_failed", "bluesky.service.forbidden")
    assert sandbox_bluesky.SEED_APP_PASSWORD not in response.text


def test_given_a_service_that_rebinds_after_the_check_then_the_connect_time_guard_refuses_it(
    api: ApiClient, with_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def edge_lookup(host: str, *args: Any, **kwargs: Any) -> Any:  # the first answer: public
        if host == "pds.rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
        return real(host, *args, **kwargs)

    connected_to: list[str] = []

    async def connect_time_lookup(host: str, port: int) -> list[str]:  # the next answer: metadata
        connected_to.append(host)
        return ["169.254.169.254"]

    monkeypatch.setattr(url_guard.socket, "getaddrinfo", edge_lookup)
    monkeypatch.setattr(safe_http, "system_resolver", connect_time_lookup)
    response = connect(api, "https://pds.rebind.example")
    error = response.json["error"]
    assert (response.status, error["code"], error["rule"]) == (400, "validation_failed", "bluesky.service.forbidden")
    assert connected_to == ["pds.rebind.example"]
    assert "169.254" not in response.text


def test_given_the_sandbox_origin_on_the_local_allow_list_then_it_is_reachable_and_its_neighbours_are_not(
    api: ApiClient, with_sandbox: Any
) -> None:
    url = with_sandbox.url  # type: ignore[attr-defined]
    assert connect(api, f"{url}/bluesky").status == 201
    host, port = url.rsplit(":", 1)
    assert connect(api, f"{host}:{int(port) + 1}/bluesky").status == 400
    assert connect(api, url.replace("127.0.0.1", "localhost") + "/bluesky").status == 400
