"""OAuth redirectUri allow-list (API.md "Start a connect flow"): no open redirect.

The connect flows (their own issue) call ``check_redirect_uri`` before storing the state; these
tests pin what it lets through, with the hostile values open-redirect attacks use."""

from __future__ import annotations

import pytest

from crosspost.errors import ValidationFailedError
from crosspost.services.redirects import check_redirect_uri, invalid_entries, is_allowed_redirect_uri

ALLOW = (
    "https://app.example.com/oauth/done",
    "https://admin.example.com/",
    "http://localhost:3000/callback",
    "https://xn--bcher-kva.example/cb",  # an IDN host, written as the operator configured it
)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/oauth/done",
        "https://app.example.com/oauth/done/",
        "https://app.example.com/oauth/done/step-2",
        "https://app.example.com/oauth/done?tab=accounts&x=1",
        "https://APP.Example.COM/oauth/done",  # scheme and host are case-insensitive
        "HTTPS://app.example.com/oauth/done",
        "https://app.example.com:443/oauth/done",  # the default port is the same origin
        "https://admin.example.com/",
        "https://admin.example.com",
        "https://admin.example.com/any/path",
        "http://localhost:3000/callback",
        "https://xn--bcher-kva.example/cb",
    ],
)
def test_given_an_allowed_uri_then_it_passes_unchanged(uri: str) -> None:
    assert check_redirect_uri(uri, ALLOW) == uri


@pytest.mark.parametrize(
    "uri",
    [
        # other origins
        "https://evil.example.com/oauth/done",
        "https://app.example.com.evil.com/oauth/done",
        "https://evilapp.example.com/oauth/done",
        "https://example.com/oauth/done",
        "http://app.example.com/oauth/done",  # scheme downgrade
        "https://app.example.com:8443/oauth/done",  # another port
        "http://localhost:3001/callback",
        "https://localhost:3000/callback",
        # path prefix only at a segment boundary; no traversal
        "https://app.example.com/oauth/doneX",
        "https://app.example.com/oauth/",
        "https://app.example.com/oauth/done/../../admin",
        "https://app.example.com/oauth/done/./x",
        "https://app.example.com/oauth/done//evil.com",
        "https://app.example.com/oauth/done/%2e%2e/admin",
        "https://app.example.com/oauth/done%2F..%2Fadmin",
        "https://app.example.com/oauth/done%5cevil",
        # userinfo and authority tricks
        "https://app.example.com@evil.com/oauth/done",
        "https://user:pw@app.example.com/oauth/done",
        "https://evil.com#@app.example.com/oauth/done",
        "https://evil.com?@app.example.com/oauth/done",
        "https://evil.com\\@app.example.com/oauth/done",
        "https://app.example.com\\@evil.com/oauth/done",
        "https://app.example.com%2eevil.com/oauth/done",
        "https://app.example.com%40evil.com/oauth/done",
        "https://app.example.com./oauth/done",  # trailing dot
        "https://app.example.com:0443/oauth/done",  # leading zero port
        "https://app.example.com:/oauth/done",
        "https://app.example.com:99999/oauth/done",
        # backslashes, whitespace, control characters
        "https:\\\\evil.com/oauth/done",
        "https://app.example.com/oauth/done\\..\\admin",
        " https://app.example.com/oauth/done",
        "https://app.example.com/oauth/done\t",
        "https://app.example.com/oauth/done\r\nLocation: https://evil.com",
        "https://app.example.com/oauth/do\x00ne",
        # scheme-relative, scheme-less, other schemes
        "//evil.com/oauth/done",
        "//app.example.com/oauth/done",
        "/oauth/done",
        "app.example.com/oauth/done",
        "https:/app.example.com/oauth/done",
        "https:app.example.com/oauth/done",
        "javascript:alert(document.cookie)//https://app.example.com/oauth/done",
        "data:text/html,<script>alert(1)</script>",
        "ftp://app.example.com/oauth/done",
        # fragments are not allowed in redirect URIs (RFC 6749 3.1.2)
        "https://app.example.com/oauth/done#evil",
        # IDN homographs and unicode confusions: only the configured xn-- form matches
        "https://аpp.example.com/oauth/done",  # Cyrillic а
        "https://bücher.example/cb",
        "https://app.example.com／oauth/done",  # fullwidth solidus
        "https://app.example.com/oauth/done\u202e",
        # empty, huge
        "",
        "https://app.example.com/oauth/done/" + "a" * 3000,
    ],
)
def test_given_a_hostile_uri_then_it_is_refused_with_the_contract_rule(uri: str) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        check_redirect_uri(uri, ALLOW)
    assert (caught.value.code, caught.value.rule, caught.value.field) == (
        "validation_failed",
        "redirectUri.not_allowed",
        "redirectUri",
    )
    assert uri not in caught.value.message or not uri


def test_given_an_empty_allow_list_then_nothing_is_allowed() -> None:
    assert not is_allowed_redirect_uri("https://app.example.com/oauth/done", ())


def test_given_malformed_entries_then_they_match_nothing_and_are_reported() -> None:
    entries = ("https://app.example.com/ok", "app.example.com", "https://*.example.com/", "https://a.example.com#x")
    assert invalid_entries(entries) == list(entries[1:])
    assert not is_allowed_redirect_uri("https://b.example.com/", entries)
    assert is_allowed_redirect_uri("https://app.example.com/ok/x", entries)
