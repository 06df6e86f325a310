"""The public-URL guard (SSRF): only public https, except the local stack's own sandbox origin."""

from __future__ import annotations

import pytest

from crosspost.errors import ValidationFailedError
from crosspost.services.url_guard import check_public_url, is_public_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/",
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:443/",
        "https://user:pw@8.8.8.8/",
        "ftp://8.8.8.8/",
        "not a url",
        "https://10.0.0.1:8443/",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        check_public_url(url, rule="bluesky.service.forbidden", field="service", allowed_origins=())
    assert caught.value.rule == "bluesky.service.forbidden"


def test_public_ip_literal_passes() -> None:
    assert check_public_url("https://8.8.8.8/", rule="r", field="f", allowed_origins=()) == "https://8.8.8.8"


def test_local_allow_list_is_exact_origin() -> None:
    allowed = ("http://127.0.0.1:4567",)
    assert check_public_url("http://127.0.0.1:4567/bluesky", rule="r", field="f", allowed_origins=allowed)
    for other in ("http://127.0.0.1:4568/bluesky", "https://127.0.0.1:4567/", "http://localhost:4567/"):
        with pytest.raises(ValidationFailedError):
            check_public_url(other, rule="r", field="f", allowed_origins=allowed)
