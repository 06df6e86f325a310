"""Secret hygiene below the API: what the logger writes, what a platform error carries.

Meta's Graph API takes ``access_token`` as a query parameter, so an HTTP client's exception (its
message, its request URL, a traceback) can hold a token. Everything that leaves the process goes
through ``crosspost.redaction``: the log formatter, ``PlatformError`` (post ``error``, account
``lastError``, the envelope's ``platformResponse``) and the envelope renderer."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from crosspost.api.errors import render
from crosspost.errors import ContentRejectedError, PlatformError, ValidationFailedError
from crosspost.observability import logger
from crosspost.redaction import MASK, redact, scrub

META_TOKEN = "EAAGm0PX4ZCpsBAKZAbcdefTOKENxyz123"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOmFiYyIsImV4cCI6MTl9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
API_KEY = "cp_live_" + "A1b2" * 11
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
SECRETS = (META_TOKEN, JWT, API_KEY, APP_PASSWORD, "s3cr3t-client", "verifier-123456")


@pytest.mark.parametrize(
    "text",
    [
        f"GET https://graph.facebook.com/v21.0/me/accounts?fields=id&access_token={META_TOKEN}",
        "https://graph.facebook.com/oauth/access_token?client_secret=s3cr3t-client&code_verifier=verifier-123456",
        f"Authorization: Bearer {JWT}",
        f"authorization%3A+Bearer%20{META_TOKEN}",
        f'{{"accessJwt": "{JWT}", "refreshJwt": "{JWT}"}}',
        f'{{"accessToken": "{META_TOKEN}", "appPassword": "{APP_PASSWORD}"}}',
        f'"{{\\"access_token\\": \\"{META_TOKEN}\\"}}"',  # JSON inside JSON (a logged body)
        f"key={API_KEY}",
        f"login failed for handle alice with {APP_PASSWORD}",
        f"password: {APP_PASSWORD}",
        f"token={META_TOKEN}&x=1",
    ],
)
def test_given_a_credential_in_text_then_redact_masks_it(text: str) -> None:
    masked = redact(text)
    assert MASK in masked
    assert not any(secret in masked for secret in SECRETS), masked


@pytest.mark.parametrize(
    "text",
    [
        "post_01HY0000000000000000000000 published",
        "account 8d2f3c1e-6a0b-4f3e-9b7c-2c4e5f6a7b8c tokenStatus valid tokenExpiresIn 7d 3h",
        "2026-05-08T12:00:00.000Z",
        "bluesky.text.max_graphemes",
    ],
)
def test_given_ordinary_text_then_redact_leaves_it_alone(text: str) -> None:
    assert redact(text) == text


def test_scrub_masks_secret_keys_and_values_deeply_without_touching_the_rest() -> None:
    data = {
        "error": {"message": f"bad token {JWT}", "code": 190},
        "access_token": META_TOKEN,
        "nested": [{"refreshToken": "r"}, {"url": f"https://x.test/?access_token={META_TOKEN}"}],
        "tokenStatus": "valid",
    }
    scrubbed = scrub(data)
    assert scrubbed["access_token"] == MASK and scrubbed["nested"][0]["refreshToken"] == MASK
    assert scrubbed["tokenStatus"] == "valid" and scrubbed["error"]["code"] == 190
    assert not any(secret in json.dumps(scrubbed) for secret in SECRETS)
    assert data["access_token"] == META_TOKEN  # a copy


def test_scrub_is_bounded_on_hostile_nesting() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    assert "x" not in json.dumps(scrub(deep))


def test_given_an_http_client_exception_with_a_token_url_then_the_logged_traceback_is_scrubbed(
    captured_logs: io.StringIO,
) -> None:
    request = httpx.Request("GET", f"https://graph.facebook.com/v21.0/me?access_token={META_TOKEN}")
    response = httpx.Response(400, request=request, json={"error": {"message": "Invalid OAuth access token"}})
    try:
        response.raise_for_status()  # the message names the URL, token included
    except httpx.HTTPStatusError as exc:
        assert META_TOKEN in str(exc)
        logger.exception("graph call failed", extra={"url": str(exc.request.url), "app_password": APP_PASSWORD})
    logger.info(f"calling {request.url}")
    logger.warning("refresh", extra={"tokens": {"accessToken": JWT, "refreshToken": JWT}})
    output = captured_logs.getvalue()
    assert "graph call failed" in output and "Traceback" in output
    assert not any(secret in output for secret in SECRETS), output


def test_given_a_platform_error_built_from_a_response_then_message_and_body_are_scrubbed() -> None:
    body = {"error": {"message": f"token {META_TOKEN} expired", "fbtrace_id": "A1"}, "access_token": META_TOKEN}
    exc = ContentRejectedError(
        f"Facebook refused https://graph.facebook.com/x?access_token={META_TOKEN}",
        platform="facebook",
        rule="facebook.request.refused",
        platform_response=body,
    )
    assert META_TOKEN not in exc.message and META_TOKEN not in str(exc)
    assert META_TOKEN not in json.dumps(exc.platform_response)
    assert exc.platform_response["error"]["fbtrace_id"] == "A1"
    status, envelope, _ = render(exc, "req_1")
    assert status == 502 and META_TOKEN not in json.dumps(envelope)


def test_given_any_error_with_a_platform_response_then_the_envelope_scrubs_it() -> None:
    exc = ValidationFailedError("bad", rule="r", platform_response={"refresh_token": "r-123", "ok": 1})
    _, envelope, _ = render(exc, "req_1")
    assert envelope["error"]["platformResponse"] == {"refresh_token": MASK, "ok": 1}


@pytest.mark.parametrize("name", ["botocore", "httpx", "httpcore", "urllib3"])
def test_libraries_that_log_requests_never_log_below_warning(name: str) -> None:
    """botocore at DEBUG prints request bodies (SecretString); httpx at INFO prints URLs."""
    assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    assert isinstance(PlatformError("x", platform="p"), Exception)
