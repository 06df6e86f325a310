"""Domain entities, settings and queue messages as plain dataclasses (issue #8): the records,
environment variables and JSON they read and write are the ones the pydantic models did."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic.alias_generators import to_camel

from crosspost.aws.items import from_item, to_item
from crosspost.models import domain
from crosspost.models.domain import (
    Account,
    LastError,
    Media,
    MediaStatus,
    OAuthState,
    Post,
    PostError,
    PostMedia,
    PostStatus,
    Profile,
    Warning_,
)
from crosspost.models.messages import PublishMessage
from crosspost.settings import Settings

NOW = datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC)
ENTITIES = [
    v for v in vars(domain).values() if isinstance(v, type) and issubclass(v, domain.Entity) and v is not domain.Entity
]


def _post(**overrides: object) -> Post:
    fields: dict[str, object] = {
        "id": "post_1",
        "workspace_id": "w1",
        "profile_id": "p1",
        "account_id": "a1",
        "platform": "bluesky",
        "status": PostStatus.QUEUED,
        "text": "hello",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Post(**{**fields, **overrides})  # type: ignore[arg-type]


# ---- entities -----------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.__name__)
def test_record_keys_follow_pydantics_camel_case_rule(entity: type[domain.Entity]) -> None:
    for f in dataclasses.fields(entity):  # type: ignore[arg-type]
        assert domain._camel(f.name) == to_camel(f.name)


def test_given_a_post_with_nested_entities_when_recorded_then_nones_drop_and_nesting_becomes_dicts() -> None:
    post = _post(
        media=[PostMedia(kind="image", media_id="m1", bytes_base64=None, width=3)],
        warnings=[Warning_(code="c", message="m")],
        error=PostError(code="e", message="m", platform_response={"kept": None}),
        options={"pinterest": {"boardId": None}},
    )

    record = post.to_record()

    assert record == {
        "id": "post_1",
        "workspaceId": "w1",
        "profileId": "p1",
        "accountId": "a1",
        "platform": "bluesky",
        "status": PostStatus.QUEUED,
        "text": "hello",
        "media": [{"kind": "image", "mediaId": "m1", "width": 3}],
        # dict and Any values are written as they are, None inside them included
        "options": {"pinterest": {"boardId": None}},
        "createdAt": NOW,
        "updatedAt": NOW,
        "attempts": 0,
        "warnings": [{"code": "c", "message": "m"}],
        "error": {"code": "e", "message": "m", "platformResponse": {"kept": None}},
    }
    assert type(record["status"]) is PostStatus and isinstance(record["createdAt"], datetime)


def test_given_a_stored_row_when_read_then_the_entity_comes_back_equal() -> None:
    post = _post(
        media=[PostMedia(kind="video", object_key="k", size=10)],
        warnings=[Warning_(code="c", message="m")],
        error=PostError(code="e", message="m", remediation="r"),
        scheduled_at=NOW + timedelta(hours=1),
        progress={"container": "c1", "polls": 2},
    )
    row = from_item(to_item({**post.to_record(), "activeStatus": "queued", "dueAt": "2026-11-24T13:00:00.000Z"}))

    assert Post.from_record(row) == post


def test_from_record_converts_by_declared_type_and_takes_snake_case_keys() -> None:
    account = Account.from_record(
        {
            "id": "a1",
            "workspaceId": "w1",
            "profile_id": "p1",  # snake_case works too
            "platform": "x",
            "platformAccountId": "1",
            "username": "u",
            "createdAt": "2026-11-24T12:00:00Z",
            "updatedAt": "2026-11-24T14:00:00+02:00",
            "lastError": {"message": "m", "occurredAt": "2026-11-24T12:00:00.5Z", "source": "refresh"},
            "secretName": "s",
            "createdKey": "2026-11-24T12:00:00Z#a1",  # an index key: ignored
        }
    )

    assert account.profile_id == "p1"
    assert account.created_at == NOW.replace(microsecond=0) == account.updated_at
    assert account.updated_at.utcoffset() == timedelta(hours=2)
    assert account.last_error == LastError(
        message="m", occurred_at=datetime(2026, 11, 24, 12, 0, 0, 500000, UTC), source="refresh"
    )
    media = Media.from_record(
        {
            "id": "m",
            "workspaceId": "w",
            "kind": "image",
            "contentType": "image/png",
            "size": 10.0,
            "status": "ready",
            "objectKey": "k",
            "createdAt": NOW,
            "updatedAt": NOW,
        }
    )
    assert media.status is MediaStatus.READY and media.size == 10 and type(media.size) is int


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"workspaceId": "w", "name": "n", "createdAt": "2026-11-24T12:00:00Z"}, "Profile.id is required"),
        ({"id": "i", "workspaceId": "w", "name": "n", "createdAt": "secret-ish"}, "Profile.createdAt must be an ISO"),
        ({"id": 7, "workspaceId": "w", "name": "n", "createdAt": NOW}, "Profile.id must be a string"),
        ({"id": None, "workspaceId": "w", "name": "n", "createdAt": NOW}, "Profile.id must not be null"),
    ],
)
def test_a_bad_row_raises_value_error_naming_entity_and_field_never_the_value(record: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Profile.from_record(record)
    assert "secret-ish" not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "secret-ish"}, "Post.status must be one of queued, "),
        ({"error": {"code": "c"}}, "Post.error: PostError.message is required"),
        ({"media": [{"kind": 3}]}, "Post.media: PostMedia.kind must be a string"),
        ({"attempts": 1.5}, "Post.attempts must be an integer"),
        ({"options": "secret-ish"}, "Post.options must be an object"),
        ({"warnings": "secret-ish"}, "Post.warnings must be a list of Warning_"),
    ],
)
def test_a_bad_nested_value_names_the_path(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Post.from_record({**_post().to_record(), **overrides})
    assert "secret-ish" not in str(caught.value)


def test_the_pkce_verifier_stays_out_of_repr() -> None:
    state = OAuthState(
        state="s",
        workspace_id="w",
        profile_id="p",
        platform="twitter",
        redirect_uri="r",
        code_verifier="v" * 43,
        created_at=NOW,
        expires_at=NOW,
    )
    assert "v" * 43 not in repr(state) and state.to_record()["codeVerifier"] == "v" * 43


def test_the_conversion_plan_is_built_once_per_class() -> None:
    Post.from_record(_post().to_record())
    plan = Post.__dict__["_record_plan"]
    Post.from_record(_post().to_record())
    _post().to_record()
    assert Post.__dict__["_record_plan"] is plan
    assert "_record_plan" not in domain.Entity.__dict__


# ---- settings ------------------------------------------------------------------------------------

ENV = {
    "ACCOUNTS_TABLE": "a",
    "POSTS_TABLE": "p",
    "WORKSPACES_TABLE": "w",
    "API_KEYS_TABLE": "k",
    "OAUTH_STATES_TABLE": "o",
    "IDEMPOTENCY_TABLE": "i",
    "PUBLISH_QUEUE_URL": "q",
}


def test_settings_parse_each_variable_by_its_field_type() -> None:
    settings = Settings.from_env(
        {
            **ENV,
            "CROSSPOST_STAGE": "prod",
            "MAX_PUBLISH_ATTEMPTS": " 3 ",
            "RETRY_BASE_SECONDS": "1.5",
            "SCHEDULE_LEAD_SECONDS": "30.0",
            "PLATFORM_BASE_URLS": "twitter=http://s/twitter, bluesky = http://s/bluesky ,broken=,=x",
            "REDIRECT_URI_ALLOW_LIST": " , https://a/ ,https://b/",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        }
    )

    assert settings.stage == "prod"
    assert (settings.max_publish_attempts, settings.schedule_lead_seconds) == (3, 30)
    assert settings.retry_base_seconds == 1.5
    assert settings.platform_base_urls == {"twitter": "http://s/twitter", "bluesky": "http://s/bluesky"}
    assert settings.redirect_uri_allow_list == ("https://a/", "https://b/")
    assert settings.aws_endpoint_url == "http://127.0.0.1:1"
    assert Settings.from_env(ENV) == Settings(
        accounts_table="a",
        posts_table="p",
        workspaces_table="w",
        api_keys_table="k",
        oauth_states_table="o",
        idempotency_table="i",
        publish_queue_url="q",
    )


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("MAX_PUBLISH_ATTEMPTS", "0", "MAX_PUBLISH_ATTEMPTS must be a whole number >= 1 and <= 15"),
        ("MAX_PUBLISH_ATTEMPTS", "2.5", "MAX_PUBLISH_ATTEMPTS must be a whole number >= 1 and <= 15"),
        ("REFRESH_CONCURRENCY", "65", "REFRESH_CONCURRENCY must be a whole number >= 1 and <= 64"),
        ("RETRY_BASE_SECONDS", "0", "RETRY_BASE_SECONDS must be a number > 0"),
        ("RETRY_BASE_SECONDS", "nan", "RETRY_BASE_SECONDS must be a number > 0"),
        ("SWEEP_GRACE_SECONDS", "s3cr3t", "SWEEP_GRACE_SECONDS must be a number >= 0"),
    ],
)
def test_a_bad_setting_names_the_variable_and_rule_never_the_value(variable: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Settings.from_env({**ENV, variable: text})
    assert str(caught.value) == message
    # no chained parse error either: float()'s message would quote the text
    assert caught.value.__cause__ is None and (caught.value.__context__ is None or caught.value.__suppress_context__)


def test_missing_settings_name_their_variables() -> None:
    with pytest.raises(ValueError, match="missing environment variables: POSTS_TABLE, PUBLISH_QUEUE_URL"):
        Settings.from_env({k: v for k, v in ENV.items() if k not in ("POSTS_TABLE", "PUBLISH_QUEUE_URL")})


def test_settings_are_frozen_and_bounded_when_built_directly() -> None:
    settings = Settings.from_env(ENV)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.stage = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="PUBLISH_LEASE_SECONDS must be a whole number >= 10"):
        dataclasses.replace(settings, publish_lease_seconds=5)
    with pytest.raises(ValueError, match="publisher_work_seconds must be a number > 0"):  # no variable sets it
        dataclasses.replace(settings, publisher_work_seconds=0)


# ---- queue messages ------------------------------------------------------------------------------


def test_a_publish_message_is_the_same_json_as_before() -> None:
    assert PublishMessage(postId="post_1").to_json() == '{"postId":"post_1","dueAt":null}'
    due = PublishMessage(postId="post_1", dueAt="2026-11-24T12:00:00.000Z")
    assert due.to_json() == '{"postId":"post_1","dueAt":"2026-11-24T12:00:00.000Z"}'
    assert PublishMessage.from_json(due.to_json()) == due
    assert PublishMessage.from_json(b'{"postId":"p","extra":1}') == PublishMessage(postId="p")


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", '"p"', "{}", '{"postId":1}', '{"postId":null}', '{"postId":"p","dueAt":5}', b"\xff"],
)
def test_a_malformed_publish_message_raises_value_error(body: str | bytes) -> None:
    with pytest.raises(ValueError):
        PublishMessage.from_json(body)


def test_datetimes_parse_z_and_offsets_alike() -> None:
    z = Profile.from_record({"id": "i", "workspaceId": "w", "name": "n", "createdAt": "2026-11-24T12:00:00.123Z"})
    offset = Profile.from_record(
        {"id": "i", "workspaceId": "w", "name": "n", "createdAt": "2026-11-24T13:00:00.123+01:00"}
    )
    assert z.created_at == offset.created_at == NOW
    assert offset.created_at.tzinfo == timezone(timedelta(hours=1))
