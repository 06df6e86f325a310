"""The OAuth state store and PKCE on moto (in-process, no sockets): a state is consumed exactly
once, and only by its own platform, workspace and profile before it expires."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from crosspost.aws.oauth_states import OAuthStateStore
from crosspost.models.domain import OAuthState
from crosspost.resources import OAUTH_STATES
from crosspost.services.oauth import pkce_challenge
from local.provision import _table_args

NOW = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[OAuthStateStore]:
    with mock_aws():
        import boto3

        boto3.client("dynamodb", region_name="us-east-1").create_table(**_table_args(OAUTH_STATES, "unit"))
        yield OAuthStateStore(OAUTH_STATES.physical_name("unit"))


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    from crosspost.aws.clients import reset_clients

    reset_clients()


def _state(value: str = "s1", **overrides: object) -> OAuthState:
    fields: dict[str, object] = {
        "state": value,
        "workspace_id": "w1",
        "profile_id": "p1",
        "platform": "twitter",
        "redirect_uri": "https://api.example/v1/oauth/twitter/callback",
        "code_verifier": "v" * 43,
        "created_at": NOW,
        "expires_at": NOW + timedelta(minutes=15),
    }
    return OAuthState.from_record({**fields, **overrides})


def test_rfc_7636_appendix_b_s256_challenge() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_given_a_stored_state_then_it_is_consumed_once_with_everything_it_holds(store: OAuthStateStore) -> None:
    store.put(_state())

    got = store.consume("s1", platform="twitter", at=NOW, workspace_id="w1")

    assert got == _state()
    assert "v" * 43 not in repr(got)  # the verifier stays out of logs and tracebacks
    assert store.consume("s1", platform="twitter", at=NOW, workspace_id="w1") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"platform": "linkedin", "at": NOW},
        {"platform": "twitter", "at": NOW, "workspace_id": "w2"},
        {"platform": "twitter", "at": NOW, "profile_id": "p2"},
        {"platform": "twitter", "at": NOW + timedelta(minutes=15)},  # expired, although the item is there
        {"platform": "twitter", "at": NOW + timedelta(days=3)},
    ],
    ids=["other platform", "other workspace", "other profile", "at expiry", "long expired"],
)
def test_given_a_mismatch_then_nothing_is_consumed(store: OAuthStateStore, kwargs: dict[str, object]) -> None:
    store.put(_state())

    assert store.consume("s1", **kwargs) is None  # type: ignore[arg-type]
    assert store.consume("s1", platform="twitter", at=NOW, workspace_id="w1", profile_id="p1") is not None


def test_given_an_unknown_state_then_none(store: OAuthStateStore) -> None:
    assert store.consume("nope", platform="twitter", at=NOW) is None


def test_given_racing_consumers_then_exactly_one_wins(store: OAuthStateStore) -> None:
    store.put(_state())
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.consume("s1", platform="twitter", at=NOW), range(8)))
    assert sum(r is not None for r in results) == 1


def test_given_a_state_then_its_ttl_is_the_expiry_in_epoch_seconds(store: OAuthStateStore) -> None:
    store.put(_state())
    item = store.ddb.get_item(TableName=store.table_name, Key={"state": {"S": "s1"}})["Item"]
    assert int(item["ttl"]["N"]) == int((NOW + timedelta(minutes=15)).timestamp())
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        store.put(_state())  # a state is never overwritten
