"""Pure rules: token health, retry backoff, cursors, settings, log redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.aws.items import decode_cursor, encode_cursor, to_item
from crosspost.errors import ValidationFailedError
from crosspost.models.domain import token_health
from crosspost.observability import redact
from crosspost.services.publishing import backoff_seconds
from crosspost.settings import Settings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_in", "status", "text"),
    [
        (None, "unknown", None),
        (timedelta(seconds=-1), "expired", "expired"),
        (timedelta(0), "expired", "expired"),
        (timedelta(minutes=59), "expiring_soon", "< 1h"),
        (timedelta(hours=5, minutes=30), "expiring_soon", "5h"),
        (timedelta(days=6, hours=23), "expiring_soon", "6d 23h"),
        (timedelta(days=7), "valid", "7d 0h"),  # "less than 7 days away (strictly)"
        (timedelta(days=7, hours=3, minutes=10), "valid", "7d 3h"),
        (timedelta(days=59), "valid", "59d 0h"),
    ],
)
def test_token_health_states_and_formats(expires_in: timedelta | None, status: str, text: str | None) -> None:
    health = token_health(NOW + expires_in if expires_in is not None else None, NOW)
    assert (health.status, health.expires_in) == (status, text)


def test_backoff_doubles_with_jitter_and_caps() -> None:
    for attempt, centre in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)):
        for _ in range(50):
            delay = backoff_seconds(attempt, None, base=2.0, cap=300.0)
            assert centre * 0.8 <= delay <= centre * 1.2
    assert backoff_seconds(20, None, base=2.0, cap=300.0) <= 300.0


def test_retry_after_is_a_floor() -> None:
    assert backoff_seconds(1, 42.0, base=2.0, cap=300.0) == 42.0


def test_cursor_round_trip_and_scope() -> None:
    key = to_item({"workspaceId": "w1", "id": "post_1"})
    cursor = encode_cursor(key)
    assert cursor is not None
    assert decode_cursor(cursor, {"workspaceId", "id"}, scope={"workspaceId": "w1"}) == key
    with pytest.raises(ValidationFailedError):  # a cursor of another workspace's listing
        decode_cursor(cursor, {"workspaceId", "id"}, scope={"workspaceId": "w2"})
    for bad in ("!!!", "e30", encode_cursor(to_item({"other": "x"}))):
        with pytest.raises(ValidationFailedError):
            decode_cursor(bad, {"workspaceId", "id"}, scope={"workspaceId": "w1"})


def test_settings_read_from_env_names() -> None:
    env = {
        "ACCOUNTS_TABLE": "a",
        "POSTS_TABLE": "p",
        "WORKSPACES_TABLE": "w",
        "API_KEYS_TABLE": "k",
        "OAUTH_STATES_TABLE": "o",
        "IDEMPOTENCY_TABLE": "i",
        "PUBLISH_QUEUE_URL": "q",
        "LOCAL_ALLOWED_ORIGINS": "http://127.0.0.1:1, http://127.0.0.1:2",
        "MAX_PUBLISH_ATTEMPTS": "3",
    }
    settings = Settings.from_env(env)
    assert settings.accounts_table == "a"
    assert settings.local_allowed_origins == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert settings.max_publish_attempts == 3
    assert Settings.from_env({k: v for k, v in env.items() if k != "LOCAL_ALLOWED_ORIGINS"}).local_allowed_origins == ()


@pytest.mark.parametrize(
    "secret_text",
    [
        "Authorization: Bearer abc.def-ghi",
        "cp_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd",
        "https://graph.facebook.com/me?access_token=EAAB123secret&fields=id",
        '{"appPassword": "sand-box1-pass-word"}',
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOng5In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
        "refresh_token=r-123&client_secret=s-456",
    ],
)
def test_redact_masks_credentials(secret_text: str) -> None:
    masked = redact(secret_text)
    for secret in (
        "abc.def-ghi",
        "AbCdEfGhIj",
        "EAAB123secret",
        "sand-box1-pass-word",
        "c2lnbmF0dXJl",
        "r-123",
        "s-456",
    ):
        assert secret not in masked
