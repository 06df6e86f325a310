"""The public-URL guard (``check_public_url``) with hostile URLs: the early, friendly refusal at
the API's edge (400 ``<rule>``). The authoritative check is at connect time (test_safe_http)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from crosspost.errors import ValidationFailedError
from crosspost.services import url_guard
from crosspost.services.url_guard import check_public_url, is_public_address


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",  # 127.0.0.1, decimal
        "https://0x7f.0.0.1/",
        "https://0177.0.0.1/",  # octal
        "https://127.1/",
        "https://0/",
        "https://[::]/",
        "https://[::ffff:7f00:1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1%25eth0]/",
        "https://localhost/",
        "https://LOCALHOST./",
        "https://169.254.169.254.nip.io.invalid/",  # does not resolve: refused, not assumed public
        "https://8.8.8.8\\@127.0.0.1/",
        "https://8.8.8.8 @127.0.0.1/",
        "https://8.8.8.8/\r\nHost: 127.0.0.1",
        "https://user@8.8.8.8/",
        "https:///8.8.8.8",
        "//8.8.8.8/",
        "HTTP://8.8.8.8/",
        "gopher://8.8.8.8:70/",
        "file:///etc/passwd",
        "https://8.8.8.8:99999/",
    ],
)
def test_given_a_hostile_url_then_the_guard_refuses_it(url: str) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        check_public_url(url, rule="media.url.forbidden", field="media[0].url", allowed_origins=())
    assert caught.value.rule == "media.url.forbidden"


def test_given_a_name_that_resolves_to_public_and_private_then_it_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str, port: Any, **kw: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 443)),
        ]

    monkeypatch.setattr(url_guard.socket, "getaddrinfo", resolve)
    with pytest.raises(ValidationFailedError):
        check_public_url("https://split.example.com/", rule="r", field="f", allowed_origins=())


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::a00:1", False),
        ("2002:a00:1::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("::ffff:100.64.0.1", False),
        ("192.0.0.8", False),
        ("192.0.2.1", False),
        ("198.51.100.1", False),
        ("203.0.113.1", False),
        ("240.0.0.1", False),
        ("239.255.255.250", False),
        ("fec0::1", False),
        ("2001:db8::1", False),
        ("not an address", False),
    ],
)
def test_address_classification(address: str, public: bool) -> None:
    assert is_public_address(address) is public
